"""Recording what became of a batch's touches: the touch row, the report, call tasks,
re-scoring, and moving each enrollment on to its next step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nurture.domain.cadence import Calendars
from nurture.domain.contacts import Contact
from nurture.domain.planning import Progress, next_step, settle
from nurture.domain.planning import rescore as rescore_contact
from nurture.domain.sequences import Sequence
from nurture.domain.tasks import CallTask
from nurture.domain.touches import SETTLED, Outcome, TouchStatus
from nurture.pipeline.batch import BatchReport, Prepared
from nurture.pipeline.delivery import Delivery
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.progress import advance
from nurture.ports import UnitOfWork

__all__ = ["moved_on", "record_outcomes", "rescore"]


def record_outcomes(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    items: list[Prepared],
    delivery: Delivery,
    report: BatchReport,
) -> None:
    """Write each touch's outcome, count it, and move its enrollment on once settled."""
    calendars = ctx.calendar_book()
    updates: list[dict[str, Any]] = []
    tasks: list[CallTask] = []
    progress: list[tuple[Progress, Sequence, Contact]] = []
    rescored: dict[int, Contact | None] = {}  # contacts re-scored: changed ones, else None
    for item in items:
        if item.task is not None and item.outcome is None:
            item.outcome = Outcome.SENT
            tasks.append(item.task)
        update = _update_for(item, ctx=ctx, delivery=delivery, report=report)
        updates.append(update)
        if update["status"] in SETTLED and item.sequence is not None:
            contact = item.contact
            if contact.id not in rescored:
                rescored[contact.id or 0] = contact if rescore(item, ctx) else None
            done_at = max(ctx.now, item.touch.deliver_at)
            progress.append(moved_on(item, item.sequence, calendars, done_at=done_at))
    uow.touches.update_many(updates)
    uow.tasks.add_many(tasks)
    report.tasks += len(tasks)
    report.completed += advance(uow=uow, progress=progress, ctx=ctx, at=ctx.now)
    _write_scores(uow, [c for c in rescored.values() if c is not None], ctx.now)


def _update_for(
    item: Prepared, *, ctx: RunContext, delivery: Delivery, report: BatchReport
) -> dict[str, Any]:
    """The touch row's new values for its outcome, counted in ``report``."""
    touch = item.touch
    settled = settle(
        touch,
        item.outcome,
        item.reason,
        now=ctx.now,
        max_attempts=delivery.retry.max_attempts_per_touch,
        reschedule_at=item.deliver_at,
    )
    update: dict[str, Any] = {"id": touch.id, "status": settled.status, "reason": settled.reason}
    if settled.deliver_at is not None:
        update["deliver_at"] = settled.deliver_at
    if settled.attempts is not None:
        update["attempts"] = settled.attempts
    _count(item, settled.status, report)
    if item.outcome == Outcome.SENT:
        receipt = item.receipt
        update.update(
            sent_at=ctx.now,
            provider=receipt.provider if receipt else "tasks",
            provider_message_id=receipt.message_id if receipt else None,
            subject=item.subject,
            content_hash=item.content_hash,
        )
    elif item.outcome == Outcome.UNKNOWN:
        update["content_hash"] = item.content_hash
    if item.email is not None and item.outcome in (Outcome.SENT, Outcome.UNKNOWN):
        update["message_id"] = item.email.message_id
    return update


def _count(item: Prepared, status: str, report: BatchReport) -> None:
    """Count ``item``'s outcome in ``report``."""
    touch, outcome = item.touch, item.outcome
    if outcome == Outcome.SENT:
        report.sent[touch.channel] += 1
        report.retried += item.retried
    elif outcome == Outcome.REQUEUED and status == TouchStatus.FAILED:
        report.failed["retries exhausted"] += 1
    elif outcome == Outcome.REQUEUED:
        report.requeued += 1
    elif outcome == Outcome.FAILED:
        report.failed[(item.reason or "failed").split(":")[0]] += 1
        report.failures.append(
            {
                "touch_id": touch.id,
                "contact_id": touch.contact_id,
                "sequence": touch.sequence_id,
                "step": touch.step_id,
                "reason": item.reason,
            }
        )
    elif outcome == Outcome.CANCELLED:
        report.cancelled[(item.reason or "").split(":")[0]] += 1
    elif outcome == Outcome.UNKNOWN:
        report.unknown += 1
    elif outcome == Outcome.RESCHEDULED:
        report.rescheduled += 1


def moved_on(
    item: Prepared, sequence: Sequence, calendars: Calendars, *, done_at: datetime
) -> tuple[Progress, Sequence, Contact]:
    """The enrollment's next step once ``item``'s touch is done at ``done_at``."""
    touch, contact = item.touch, item.contact
    step = next_step(
        sequence=sequence,
        enrollment_id=touch.enrollment_id,
        done_index=touch.step_index,
        done_at=done_at,
        contact=contact,
        calendar=calendars.for_contact(sequence, contact),
    )
    return step, sequence, contact


def rescore(item: Prepared, ctx: RunContext) -> bool:
    """Re-score the contact after its touch; returns whether anything changed."""
    state = item.state if item.state.rules else None
    return rescore_contact(item.contact, state, ctx.project.scoring, ctx.now)


def _write_scores(uow: UnitOfWork, people: Any, now: datetime) -> None:
    """Store the scores re-computed after the touches."""
    uow.contacts.update_many(
        [
            {
                "id": c.id,
                "score": c.score,
                "interest": c.interest,
                "temperature": c.temperature.value,
                "scored_at": now,
            }
            for c in people
        ]
    )
