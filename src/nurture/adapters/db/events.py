"""Inbound events: stored first (deduplicated by provider event id), applied after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nurture.adapters.db.tables import events, score_events

__all__ = ["SqlEvents"]


class SqlEvents:
    """Event rows and the score ledger."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def store(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert events not seen before (by provider and provider event id); returns how
        many were new."""
        if not rows:
            return 0
        module: Any = postgresql if self._db.dialect.name == "postgresql" else sqlite
        statement = module.insert(events).on_conflict_do_nothing(
            index_elements=["provider", "provider_event_id"]
        )
        result = self._db.execute(statement, list(rows))
        return max(int(result.rowcount or 0), 0)

    def pending(self, *, limit: int) -> list[dict[str, Any]]:
        """Events stored but not applied yet, oldest first."""
        query = (
            sa.select(events)
            .where(events.c.status == "pending")
            .order_by(events.c.occurred_at, events.c.id)
            .limit(limit)
        )
        if self._db.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [dict(row) for row in self._db.execute(query).mappings()]

    def mark(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record each event's outcome: ``id``, ``status``, ``contact_id``, ``error``,
        ``applied_at``."""
        if not rows:
            return
        statement = (
            events.update()
            .where(events.c.id == sa.bindparam("_id"))
            .values(
                status=sa.bindparam("status"),
                contact_id=sa.bindparam("contact_id"),
                touch_id=sa.bindparam("touch_id"),
                error=sa.bindparam("error"),
                applied_at=sa.bindparam("applied_at"),
            )
        )
        self._db.execute(
            statement, [{"_id": r["id"], **{k: r[k] for k in r if k != "id"}} for r in rows]
        )

    def add_points(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append to the score ledger: ``contact_id``, ``event_id``, ``event_type``,
        ``points``, ``occurred_at``."""
        if rows:
            self._db.execute(score_events.insert(), list(rows))

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
        """A contact's events, newest first."""
        query = (
            sa.select(events)
            .where(events.c.contact_id == contact_id)
            .order_by(events.c.occurred_at.desc(), events.c.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in self._db.execute(query).mappings()]

    def count_pending(self) -> int:
        """Events waiting to be applied."""
        query = sa.select(sa.func.count()).select_from(events).where(events.c.status == "pending")
        return int(self._db.execute(query).scalar_one())

    def stored_since(self, since: datetime) -> int:
        """Events received since ``since``."""
        query = sa.select(sa.func.count()).select_from(events).where(events.c.received_at >= since)
        return int(self._db.execute(query).scalar_one())
