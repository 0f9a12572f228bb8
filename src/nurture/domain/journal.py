"""The journal: every decision the product took about a contact (an enrollment, a
deferral, an exit, a cancellation), with its reason, append-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nurture.domain.records import Record

__all__ = ["JournalEntry"]


@dataclass(slots=True)
class JournalEntry(Record):
    """One decision and why."""

    kind: str
    reason: str
    at: datetime
    contact_id: int | None = None
    enrollment_id: int | None = None
    touch_id: int | None = None
    run_id: str | None = None
    #: Who decided, when a person did (``--by``), else the run or the webhook.
    actor: str | None = None
    id: int = 0  # 0 until stored
