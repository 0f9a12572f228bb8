"""The journal: every enrollment, deferral, exit and cancellation, with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nurture.adapters.db.tables import journal

__all__ = ["SqlJournal"]


class SqlJournal:
    """Append-only decisions."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def add(
        self,
        kind: str,
        reason: str,
        *,
        at: datetime,
        contact_id: int | None = None,
        enrollment_id: int | None = None,
        touch_id: int | None = None,
        run_id: str | None = None,
    ) -> None:
        """Record one decision."""
        self.add_many(
            [
                {
                    "kind": kind,
                    "reason": reason,
                    "at": at,
                    "contact_id": contact_id,
                    "enrollment_id": enrollment_id,
                    "touch_id": touch_id,
                    "run_id": run_id,
                }
            ]
        )

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record decisions (each mapping has every column)."""
        if rows:
            self._db.execute(journal.insert(), list(rows))

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
        """A contact's decisions, newest first."""
        query = (
            sa.select(journal)
            .where(journal.c.contact_id == contact_id)
            .order_by(journal.c.at.desc(), journal.c.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in self._db.execute(query).mappings()]
