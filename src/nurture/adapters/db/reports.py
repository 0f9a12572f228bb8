"""The read model behind ``nurture report``: the rows the reports are computed from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nurture.adapters.db.tables import (
    contacts,
    enrollments,
    events,
    journal,
    stage_history,
    touches,
)
from nurture.domain.touches import TouchStatus

__all__ = ["SqlReportData"]


class SqlReportData:
    """The :class:`~nurture.ports.ReportData` port on a SQLAlchemy connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def stage_temperature_counts(self) -> Iterable[tuple[str, str, int]]:
        query = sa.select(contacts.c.stage, contacts.c.temperature, sa.func.count()).group_by(
            contacts.c.stage, contacts.c.temperature
        )
        return [(stage, temperature, int(n)) for stage, temperature, n in self._db.execute(query)]

    def forgotten(self) -> int:
        query = sa.select(sa.func.count()).where(contacts.c.forgotten_at.is_not(None))
        return int(self._db.execute(query).scalar_one())

    def created(self) -> dict[int, datetime]:
        return dict(self._db.execute(sa.select(contacts.c.id, contacts.c.created_at)).all())

    def stage_changes(self) -> Iterable[tuple[int, datetime, str, str]]:
        h = stage_history.c
        query = sa.select(h.contact_id, h.at, h.from_stage, h.to_stage).order_by(h.at, h.id)
        return [(row[0], row[1], row[2], row[3]) for row in self._db.execute(query)]

    def touches(self, since: datetime | None) -> Iterable[Any]:
        t = touches.c
        query = sa.select(
            t.id,
            t.contact_id,
            t.sequence_id,
            t.step_id,
            t.channel,
            t.status,
            t.sent_at,
            t.step_index,
            t.address,
        )
        if since is not None:
            query = query.where(t.deliver_at >= since)
        return self._db.execute(query).all()

    def applied_events(
        self, kinds: Iterable[str], since: datetime | None
    ) -> Iterable[tuple[str, int | None, int | None, datetime]]:
        e = events.c
        query = sa.select(e.type, e.touch_id, e.contact_id, e.occurred_at).where(
            e.type.in_(list(kinds)), e.status == "applied"
        )
        if since is not None:
            query = query.where(e.occurred_at >= since)
        return [(row[0], row[1], row[2], row[3]) for row in self._db.execute(query)]

    def deferral_reasons(self, since: datetime | None) -> Iterable[str]:
        query = sa.select(journal.c.reason).where(journal.c.kind == "deferred")
        if since is not None:
            query = query.where(journal.c.at >= since)
        return list(self._db.execute(query).scalars())

    def enrollment_states(self) -> Iterable[tuple[str, str, str | None]]:
        e = enrollments.c
        query = sa.select(e.sequence_id, e.status, e.exit_reason)
        return [(row[0], row[1], row[2]) for row in self._db.execute(query)]

    def sent(self, since: datetime | None) -> Iterable[tuple[datetime, str]]:
        query = sa.select(touches.c.sent_at, touches.c.channel).where(
            touches.c.status == TouchStatus.SENT
        )
        if since is not None:
            query = query.where(touches.c.sent_at >= since)
        return [(row[0], row[1]) for row in self._db.execute(query)]

    def stage_score_counts(self) -> Iterable[tuple[str, int, int]]:
        query = sa.select(contacts.c.stage, contacts.c.score, sa.func.count()).group_by(
            contacts.c.stage, contacts.c.score
        )
        return [(stage, int(score), int(n)) for stage, score, n in self._db.execute(query)]
