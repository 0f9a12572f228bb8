"""The journal: every enrollment, deferral, exit and cancellation, with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from nurture.adapters.db.tables import journal
from nurture.domain.journal import JournalEntry

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
        entry = JournalEntry(kind, reason, at, contact_id, enrollment_id, touch_id, run_id)
        self.add_many([entry])

    def add_many(self, entries: Sequence[JournalEntry]) -> None:
        """Record decisions."""
        if entries:
            self._db.execute(journal.insert(), [entry.as_row() for entry in entries])

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[JournalEntry]:
        """A contact's decisions, newest first."""
        query = (
            sa.select(journal)
            .where(journal.c.contact_id == contact_id)
            .order_by(journal.c.at.desc(), journal.c.id.desc())
            .limit(limit)
        )
        return [JournalEntry.from_row(row) for row in self._db.execute(query).mappings()]
