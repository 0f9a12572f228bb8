"""Who may join a sequence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nurture.domain.contacts import Contact
from nurture.domain.records import Record
from nurture.domain.sequences import Sequence

__all__ = ["RUNNING", "Enrollment", "EnrollmentStatus", "enrollment_refusal"]


class EnrollmentStatus(StrEnum):
    """Where an enrollment is: running (active or paused) or finished."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXITED = "exited"


#: Enrollments still running: a contact is in at most one running enrollment per sequence.
RUNNING = frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED})


@dataclass(slots=True)
class Enrollment(Record):
    """One contact in one sequence, pinned to a version, at a step."""

    contact_id: int
    sequence_id: str
    version: int
    status: EnrollmentStatus
    enrolled_at: datetime
    step_index: int = 0
    next_due_at: datetime | None = None
    priority: int = 0
    reason: str | None = None
    exit_reason: str | None = None
    last_touch_at: datetime | None = None
    ended_at: datetime | None = None
    id: int = 0  # 0 until stored
    paused_at: datetime | None = None
    paused_until: datetime | None = None

    def __post_init__(self) -> None:
        self.status = EnrollmentStatus(self.status)

    @property
    def running(self) -> bool:
        """Whether it is still running (active or paused)."""
        return self.status in RUNNING

    @property
    def shown_status(self) -> str:
        """Its status as people read it (``exited:replied``)."""
        if self.status == EnrollmentStatus.EXITED and self.exit_reason:
            return f"exited:{self.exit_reason}"
        return self.status.value


def enrollment_refusal(
    sequence: Sequence,
    contact: Contact,
    *,
    already_enrolled: bool,
    email_suppressed: str | None,
) -> str | None:
    """Why ``contact`` cannot join ``sequence`` now, or ``None`` when it can.

    ``email_suppressed`` is the reason the contact's address is suppressed (unsubscribe,
    bounce, spam report), if it is: such a contact is never enrolled again.
    """
    if already_enrolled:
        return f"already enrolled in {sequence.id}"
    if email_suppressed:
        return f"suppressed ({email_suppressed})"
    return sequence.audience.refusal(contact)
