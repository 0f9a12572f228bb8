"""Touches: one execution of a step for one contact, and the states it goes through.

::

    scheduled ──claim──▶ sending ──▶ sent
        │                   │  └───▶ failed      (the provider refused it for good)
        │                   └──────▶ unknown     (no answer: reconciled, never resent blindly)
        ├──▶ cancelled   (opt-out, exit, suppression, reply before it left)
        └──▶ skipped     (its `when`, consent or channel did not allow it)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ACTIVE",
    "COUNTED",
    "SETTLED",
    "STATUS_AFTER",
    "Outcome",
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
