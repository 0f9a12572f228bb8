"""The audit trail: who or what changed a contact's consent, stage, suppression, BANT or
enrollments, when and why. Append-only, and free of personal data: ids, the names of
states and the reasons given, so that it outlives an erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nurture.domain.journal import JournalEntry
from nurture.domain.records import Record

__all__ = ["AuditEntry", "Subject", "from_journal"]


class Subject(StrEnum):
    """What changed."""

    CONSENT = "consent"
    STAGE = "stage"
    SUPPRESSION = "suppression"
    BANT = "bant"
    ENROLLMENT = "enrollment"
    ERASURE = "erasure"


@dataclass(slots=True)
class AuditEntry(Record):
    """One change: ``change`` says from what to what, ``reason`` why."""

    contact_id: int | None
    at: datetime
    actor: str
    subject: str
    change: str
    reason: str
    id: int = 0


#: Journal kinds that change an enrollment or a stage; the others (deferrals,
#: cancelled touches, refusals) are decisions about touches, kept in the journal only.
_AUDITED = {
    "enrolled": Subject.ENROLLMENT,
    "exited": Subject.ENROLLMENT,
    "paused": Subject.ENROLLMENT,
    "resumed": Subject.ENROLLMENT,
    "completed": Subject.ENROLLMENT,
    "migrated": Subject.ENROLLMENT,
    "stage": Subject.STAGE,
}


def from_journal(entry: JournalEntry, actor: str | None) -> AuditEntry | None:
    """The audit line of a journal entry that changed an enrollment or a stage."""
    subject = _AUDITED.get(entry.kind)
    if subject is None:
        return None
    who = actor or (f"run {entry.run_id}" if entry.run_id else "nurture")
    change = entry.kind if subject is Subject.ENROLLMENT else "stage"
    return AuditEntry(entry.contact_id, entry.at, who, subject, change, entry.reason)
