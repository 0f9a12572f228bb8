"""Touches: one execution of a step for one contact, and the states it goes through.

::

    scheduled ──claim──▶ sending ──▶ sent
        │                   │  └───▶ failed      (the provider refused it for good)
        │                   └──────▶ unknown     (no answer: reconciled, never resent blindly)
        ├──▶ cancelled   (opt-out, exit, suppression, reply before it left)
        └──▶ skipped     (its `when`, consent or channel did not allow it)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from nurture.domain.records import Record, field_names

__all__ = [
    "ACTIVE",
    "COUNTED",
    "SETTLED",
    "STATUS_AFTER",
    "Outcome",
    "Touch",
    "TouchStatus",
    "touch_key",
]


class TouchStatus(StrEnum):
    """Where a touch is in its life."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


#: Touches that count against a contact's pressure budget: they left, or will.
COUNTED = frozenset(
    {TouchStatus.SCHEDULED, TouchStatus.SENDING, TouchStatus.SENT, TouchStatus.UNKNOWN}
)
#: Touches still in nurture's hands (not yet sent, failed, cancelled or skipped).
ACTIVE = frozenset({TouchStatus.SCHEDULED, TouchStatus.SENDING})


class Outcome(StrEnum):
    """What became of a touch in one batch."""

    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    REQUEUED = "requeued"  # a transient provider error: tried again a little later
    RESCHEDULED = "rescheduled"  # its window had closed at release: waits for the next opening


#: The status an outcome leaves a touch in (requeued and rescheduled touches go back to
#: scheduled, or fail when their retries are spent).
STATUS_AFTER = {
    Outcome.SENT: TouchStatus.SENT,
    Outcome.FAILED: TouchStatus.FAILED,
    Outcome.CANCELLED: TouchStatus.CANCELLED,
    Outcome.UNKNOWN: TouchStatus.UNKNOWN,
    Outcome.REQUEUED: TouchStatus.SCHEDULED,
    Outcome.RESCHEDULED: TouchStatus.SCHEDULED,
}
#: Outcomes after which the enrollment moves on to its next step.
SETTLED = frozenset({TouchStatus.SENT, TouchStatus.FAILED, TouchStatus.CANCELLED})


def touch_key(enrollment_id: int, step_id: str, version: int) -> str:
    """The unique key of a touch: the same step of the same enrollment is sent once."""
    return f"{enrollment_id}:{step_id}:v{version}"


@dataclass(slots=True)
class Touch(Record):
    """One execution of one step of one enrollment for one contact: the outbox row."""

    touch_key: str
    enrollment_id: int
    contact_id: int
    sequence_id: str
    version: int
    step_id: str
    step_index: int
    channel: str
    status: TouchStatus
    due_at: datetime
    deliver_at: datetime
    created_at: datetime
    priority: int = 0
    attempts: int = 0
    address: str | None = None
    reason: str | None = None
    run_id: str | None = None
    id: int = 0  # 0 until stored
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    provider_batch_id: str | None = None
    subject: str | None = None
    content_hash: str | None = None
    message_id: str | None = None

    def __post_init__(self) -> None:
        self.status = TouchStatus(self.status)

    def planned_row(self) -> dict[str, Any]:
        """What planning decides of a touch, as a mapping of column names, with its claim
        when planning sends it at once (the rest is written when it is sent or settled)."""
        return self.as_row(_PLANNED)

    @property
    def medium(self) -> str:
        """What carries the touch: ``call``, else ``email`` or ``sms`` read from the
        address (content drops go by either)."""
        if self.channel == "call":
            return "call"
        return "email" if "@" in (self.address or "") else "sms"


_PLANNED = (
    *field_names(Touch)[: field_names(Touch).index("run_id") + 1],
    "claimed_by",
    "claimed_at",
)
