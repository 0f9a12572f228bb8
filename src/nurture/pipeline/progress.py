"""Moving an enrollment along: the next step's due time, completion and chaining."""

from __future__ import annotations

from datetime import datetime

from nurture.domain.contacts import Contact
from nurture.domain.enrollment import EnrollmentStatus
from nurture.domain.planning import Progress, next_step
from nurture.domain.sequences import Sequence
from nurture.pipeline.lifecycle import RunContext, enroll_automatically
from nurture.ports import UnitOfWork

__all__ = ["Progress", "advance", "next_step"]


def advance(
    *,
    uow: UnitOfWork,
    progress: list[tuple[Progress, Sequence, Contact]],
    ctx: RunContext,
    at: datetime,
) -> int:
    """Write where enrollments go next; complete finished ones and follow ``on_complete``.

    Returns how many enrollments completed.
    """
    due_rows = [
        {"_id": p.enrollment_id, "next_due_at": p.next_due_at, "last_touch_at": at}
        for p, _, _ in progress
        if not p.completed
    ]
    uow.enrollments.reschedule(due_rows)
    completed = 0
    for item, sequence, contact in progress:
        if not item.completed:
            continue
        uow.enrollments.end(
            item.enrollment_id, status=EnrollmentStatus.COMPLETED, reason=None, at=at
        )
        uow.journal.add(
            "completed",
            f"{sequence.id} v{sequence.version}: all {len(sequence.steps)} steps done",
            at=at,
            contact_id=contact.id,
            enrollment_id=item.enrollment_id,
            run_id=ctx.run_id,
        )
        completed += 1
        if sequence.on_complete is not None:
            enroll_automatically(
                uow=uow,
                contact=contact,
                sequence_id=sequence.on_complete.enroll,
                reason=f"on_complete of {sequence.id}",
                ctx=ctx,
            )
    return completed
