"""The journal: every enrollment, deferral, exit and cancellation, with its reason; and
the audit trail, the append-only account of changes to a contact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from nurture.adapters.db.bulk import execute_many
from nurture.adapters.db.tables import audit_trail, journal
from nurture.domain.audit import AuditEntry, from_journal
from nurture.domain.journal import JournalEntry

__all__ = ["SqlAudit", "SqlJournal"]


class SqlJournal:
    """Append-only decisions. Those that change an enrollment or a stage are written to
    the audit trail too (:func:`nurture.domain.audit.from_journal`)."""

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
        actor: str | None = None,
    ) -> None:
        """Record one decision."""
        entry = JournalEntry(kind, reason, at, contact_id, enrollment_id, touch_id, run_id, actor)
        self.add_many([entry])

    def add_many(self, entries: Sequence[JournalEntry]) -> None:
        """Record decisions."""
        if not entries:
            return
        execute_many(self._db, journal.insert(), [entry.as_row() for entry in entries])
        audited = [a for a in (from_journal(e, e.actor) for e in entries) if a is not None]
        SqlAudit(self._db).add_many(audited)

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[JournalEntry]:
        """A contact's decisions, newest first."""
        query = (
            sa.select(journal)
            .where(journal.c.contact_id == contact_id)
            .order_by(journal.c.at.desc(), journal.c.id.desc())
            .limit(limit)
        )
        return [JournalEntry.from_row(row) for row in self._db.execute(query).mappings()]


class SqlAudit:
    """The audit trail: lines are added, never changed (the database refuses it)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        """Append lines."""
        if entries:
            execute_many(self._db, audit_trail.insert(), [entry.as_row() for entry in entries])

    def for_contact(self, contact_id: int) -> list[AuditEntry]:
        """A contact's changes, oldest first."""
        query = (
            sa.select(audit_trail)
            .where(audit_trail.c.contact_id == contact_id)
            .order_by(audit_trail.c.at, audit_trail.c.id)
        )
        return [AuditEntry.from_row(row) for row in self._db.execute(query).mappings()]
