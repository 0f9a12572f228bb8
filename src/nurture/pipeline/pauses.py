"""Pauses: an out-of-office, or a rep's hand, stops an enrollment at its place; it
resumes by itself when its pause ends (or by hand), due dates shifted by the pause."""

from __future__ import annotations

from datetime import datetime

from nurture.domain.enrollment import Enrollment, EnrollmentStatus
from nurture.pipeline.lifecycle import RunContext, cancel_touches
from nurture.ports import UnitOfWork

__all__ = ["pause_contact", "pause_enrollment", "resume_enrollment", "resume_paused"]


def pause_enrollment(
    *,
    uow: UnitOfWork,
    enrollment: Enrollment,
    until: datetime | None,
    reason: str,
    ctx: RunContext,
) -> bool:
    """Pause an active enrollment (``until``: when it resumes by itself; ``None``: by
    hand). What was planned and not sent is cancelled and planned again after the pause:
    the enrollment goes back to that step. Returns whether it paused."""
    if enrollment.status != EnrollmentStatus.ACTIVE:
        return False
    waiting = uow.touches.scheduled(enrollment_ids=[enrollment.id])
    cancel_touches(uow, waiting, reason=f"paused: {reason}", ctx=ctx)
    first = min(waiting, key=lambda t: t.step_index, default=None)
    uow.enrollments.pause(
        enrollment.id,
        at=ctx.now,
        until=until,
        step_index=first.step_index if first else enrollment.step_index,
        next_due_at=first.due_at if first else enrollment.next_due_at,
    )
    ctx.note(
        uow,
        "paused",
        f"{enrollment.sequence_id}: {reason}",
        contact_id=enrollment.contact_id,
        enrollment_id=enrollment.id,
    )
    return True


def pause_contact(
    *, uow: UnitOfWork, contact_id: int, until: datetime | None, reason: str, ctx: RunContext
) -> int:
    """Pause every active enrollment of a contact; returns how many paused."""
    return sum(
        pause_enrollment(uow=uow, enrollment=e, until=until, reason=reason, ctx=ctx)
        for e in uow.enrollments.for_contact(contact_id)
    )


def resume_enrollment(
    *, uow: UnitOfWork, enrollment: Enrollment, reason: str, ctx: RunContext
) -> bool:
    """Resume a paused enrollment now (or at the end of its pause, when that has come):
    its next step is due later by the length of the pause, never before now. Returns
    whether it resumed."""
    if enrollment.status != EnrollmentStatus.PAUSED:
        return False
    end = min(enrollment.paused_until or ctx.now, ctx.now)
    since = enrollment.paused_at or end
    due = (enrollment.next_due_at or end) + (end - since)
    uow.enrollments.resume(enrollment.id, next_due_at=max(due, end))
    ctx.note(
        uow,
        "resumed",
        f"{enrollment.sequence_id}: {reason}",
        contact_id=enrollment.contact_id,
        enrollment_id=enrollment.id,
    )
    return True


def resume_paused(*, uow: UnitOfWork, ctx: RunContext) -> int:
    """Resume the enrollments whose pause has ended; returns how many resumed."""
    return sum(
        resume_enrollment(uow=uow, enrollment=e, reason="the pause ended", ctx=ctx)
        for e in uow.enrollments.pauses_ending(ctx.now)
    )
