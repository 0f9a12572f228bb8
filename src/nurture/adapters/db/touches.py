"""Touches: the outbox. One row per execution of a step for a contact, under a unique key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nurture.adapters.db.bulk import any_of, execute_many, update_rows
from nurture.adapters.db.tables import SCHEDULED, touches
from nurture.domain.records import field_names
from nurture.domain.touches import COUNTED, Touch, TouchStatus, touch_key

__all__ = ["COUNTED", "SqlTouches", "touch_key"]

#: Statuses that count against a contact's pressure budget.
_CHUNK = 900
#: The touch columns in the order of the Touch dataclass's fields.
_COLUMNS = [touches.c[name] for name in field_names(Touch)]


class SqlTouches:
    """Touch rows."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def insert_new(self, new: Sequence[Touch]) -> None:
        """Insert touches whose key is new; a key that exists already is left as it is."""
        if not new:
            return
        rows = [touch.planned_row() for touch in new]
        dialect = self._db.dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(touches).on_conflict_do_nothing(index_elements=["touch_key"])
        execute_many(self._db, statement, rows)

    def counted_since(
        self, contact_ids: Iterable[int], since: datetime
    ) -> dict[int, list[datetime]]:
        """Delivery times of touches that count against each contact's budget."""
        ids = sorted(set(contact_ids))
        out: dict[int, list[datetime]] = {}
        for start in range(0, len(ids), _CHUNK):
            # The status is filtered here, not in SQL: with it, SQLite prefers the
            # (status, deliver_at) index and scans every recent touch once per chunk.
            query = sa.select(touches.c.contact_id, touches.c.deliver_at, touches.c.status).where(
                any_of(self._db, touches.c.contact_id, ids[start : start + _CHUNK]),
                touches.c.deliver_at >= since,
            )
            for contact_id, deliver_at, status in self._db.execute(query).all():
                if status in COUNTED:
                    out.setdefault(contact_id, []).append(deliver_at)
        return out

    def claim(
        self, *, worker: str, due_by: datetime, claimed_at: datetime, limit: int
    ) -> list[Touch]:
        """Take up to ``limit`` scheduled touches due by ``due_by`` for ``worker``.

        On PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``, so workers
        running at the same time take disjoint touches; SQLite serialises writers.
        """
        chosen: Any
        postgres = self._db.dialect.name == "postgresql"
        if postgres:
            pick = (
                sa.select(touches.c.id)
                .where(SCHEDULED, touches.c.deliver_at <= due_by)  # ix_touches_claim's terms
                .order_by(touches.c.priority.desc(), touches.c.deliver_at, touches.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            # ARRAY(...) is picked once, then each id found by the primary key; an IN
            # (subquery) lets the planner join the whole table when its statistics lag
            # behind a day's planning (a hash join over every touch, twice per claim).
            chosen = touches.c.id == sa.any_(sa.func.array(pick.scalar_subquery()))
        else:
            # Without statistics SQLite prefers (status, deliver_at), then sorts every
            # touch due once per batch (38 ms a batch at 1M contacts, against 13 ms).
            # SQLAlchemy renders no table hint for SQLite: the pick is written out, in
            # the same order.
            written = sa.text(
                "SELECT id FROM touches INDEXED BY ix_touches_claim"
                f" WHERE {SCHEDULED.text} AND deliver_at <= :due_by"
                " ORDER BY priority DESC, deliver_at, id LIMIT :limit"
            ).bindparams(
                sa.bindparam("due_by", due_by, type_=touches.c.deliver_at.type),
                sa.bindparam("limit", limit),
            )
            chosen = touches.c.id.in_(written.columns(touches.c.id).scalar_subquery())
        statement = (
            touches.update()
            .where(chosen)
            .values(
                status=TouchStatus.SENDING,
                claimed_by=worker,
                claimed_at=claimed_at,
                attempts=touches.c.attempts + 1,
            )
            .returning(*_COLUMNS)
        )
        if postgres:
            # Planning has just written the day's touches, after autovacuum last took the
            # table's statistics: PostgreSQL then expects a handful of due touches, reads
            # every one through (status, deliver_at) and sorts them all on disk before
            # taking a batch (60-95 ms a claim at 1M contacts, auto_explain), where
            # walking ix_touches_claim in its order stops at the batch. No sort, then.
            self._db.exec_driver_sql("SET LOCAL enable_sort = off")
        rows = self._db.execute(statement).all()
        if postgres:
            self._db.exec_driver_sql("SET LOCAL enable_sort = on")
        claimed = [Touch(*row) for row in rows]
        claimed.sort(key=lambda t: t.id or 0)
        return claimed

    def claimed_ids(self, worker: str, keys: Sequence[str]) -> dict[str, int]:
        """The ids of the touches of these keys that ``worker`` holds (``sending``, by
        key): those a planner inserted claimed, and no other (a key that was there
        already is left as it was, and not taken)."""
        c = touches.c
        found: dict[str, int] = {}
        for start in range(0, len(keys), _CHUNK):
            query = sa.select(c.touch_key, c.id, c.status, c.claimed_by).where(
                any_of(self._db, c.touch_key, keys[start : start + _CHUNK])
            )
            # Status and holder are checked here, not in SQL: with the status in the query
            # SQLite walks ix_touches_status_deliver instead of the key's own (EXPLAIN).
            for key, id_, status, holder in self._db.execute(query).all():
                if status == TouchStatus.SENDING and holder == worker:
                    found[key] = id_
        return found

    def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update touches by ``id`` (rows grouped by their set of keys)."""
        update_rows(self._db, touches, rows, id_key="id")

    def scheduled(
        self,
        *,
        enrollment_ids: Iterable[int] | None = None,
        contact_id: int | None = None,
        channel: str | None = None,
    ) -> list[Touch]:
        """Touches still waiting for their delivery time."""
        query = sa.select(*_COLUMNS).where(touches.c.status == TouchStatus.SCHEDULED)
        if enrollment_ids is not None:
            query = query.where(touches.c.enrollment_id.in_(sorted(set(enrollment_ids))))
        if contact_id is not None:
            query = query.where(touches.c.contact_id == contact_id)
        if channel is not None:
            query = query.where(touches.c.channel == channel)
        return [Touch(*row) for row in self._db.execute(query).all()]

    def due(self, by: datetime) -> list[Touch]:
        """Scheduled touches whose delivery time is ``by`` or earlier."""
        query = sa.select(*_COLUMNS).where(
            touches.c.status == TouchStatus.SCHEDULED, touches.c.deliver_at <= by
        )
        return [Touch(*row) for row in self._db.execute(query).all()]

    def delivery_times(self, by: datetime) -> list[datetime]:
        """The delivery times of the scheduled touches due by ``by`` (nothing else)."""
        query = sa.select(touches.c.deliver_at).where(
            touches.c.status == TouchStatus.SCHEDULED, touches.c.deliver_at <= by
        )
        return list(self._db.execute(query).scalars())

    def count_due(self, by: datetime) -> int:
        """How many scheduled touches are due by ``by``."""
        query = (
            sa.select(sa.func.count())
            .select_from(touches)
            .where(touches.c.status == TouchStatus.SCHEDULED, touches.c.deliver_at <= by)
        )
        return int(self._db.execute(query).scalar_one())

    def with_status(self, status: TouchStatus, *, limit: int = 10_000) -> list[Touch]:
        """Touches in ``status``, oldest first."""
        query = (
            sa.select(*_COLUMNS)
            .where(touches.c.status == status)
            .order_by(touches.c.id)
            .limit(limit)
        )
        return [Touch(*row) for row in self._db.execute(query).all()]

    def by_provider_id(self, message_id: str) -> Touch | None:
        """The touch a provider message id belongs to."""
        row = (
            self._db.execute(
                sa.select(*_COLUMNS).where(touches.c.provider_message_id == message_id)
            )
            .mappings()
            .first()
        )
        return Touch.from_row(row) if row else None

    def by_message_ids(self, message_ids: Sequence[str]) -> list[Touch]:
        """The touches whose email had one of these Message-IDs."""
        if not message_ids:
            return []
        query = sa.select(*_COLUMNS).where(touches.c.message_id.in_(list(message_ids)[:100]))
        return [Touch(*row) for row in self._db.execute(query).all()]

    def get(self, touch_id: int) -> Touch | None:
        """One touch."""
        row = (
            self._db.execute(sa.select(*_COLUMNS).where(touches.c.id == touch_id))
            .mappings()
            .first()
        )
        return Touch.from_row(row) if row else None

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[Touch]:
        """A contact's touches, newest first."""
        query = (
            sa.select(*_COLUMNS)
            .where(touches.c.contact_id == contact_id)
            .order_by(touches.c.deliver_at.desc(), touches.c.id.desc())
            .limit(limit)
        )
        return [Touch(*row) for row in self._db.execute(query).all()]
