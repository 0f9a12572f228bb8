"""The privacy records: consent history, the audit trail, and erasure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from nurture.domain.audit import AuditEntry
from nurture.domain.privacy import ConsentRecord

__all__ = ["Erased", "Privacy"]


@dataclass
class Erased:
    """What an erasure removed: counts by table, and the touches whose stored copies
    (outbox files) must go too."""

    counts: dict[str, int] = field(default_factory=dict)
    email_touches: list[int] = field(default_factory=list)
    sms_touches: list[int] = field(default_factory=list)


class Privacy(Protocol):
    """Consent history, audit trail and erasure."""

    def add_consents(self, records: Sequence[ConsentRecord]) -> None:
        """Append to contacts' consent histories."""
        ...

    def consents(self, contact_id: int) -> list[ConsentRecord]:
        """A contact's consent history, oldest first."""
        ...

    def audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append lines to the audit trail (never changed afterwards)."""
        ...

    def audit_for(self, contact_id: int) -> list[AuditEntry]:
        """A contact's audit trail, oldest first."""
        ...

    def forgotten(self, candidates: Sequence[str]) -> dict[str, datetime]:
        """Which of these keyed hashes belong to a forgotten person → when."""
        ...

    def erase(self, contact_id: int, *, hashes: Sequence[tuple[str, str]], at: datetime) -> Erased:
        """Remove the personal data of a contact: its attributes, message copies, notes,
        event payloads and replies; replace its suppressions by the keyed ``hashes``
        (channel, digest). Counts, stages and scores stay, anonymous."""
        ...

    def expired(self, *, before: datetime, limit: int = 10_000) -> list[int]:
        """Contacts past retention: no interaction since ``before``, not a customer, no
        running enrollment and no open task."""
        ...

    def count_forgotten(self) -> int:
        """How many people were forgotten."""
        ...
