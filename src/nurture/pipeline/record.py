"""Recording what became of a batch's touches: the touch row, the report, call tasks,
re-scoring, and moving each enrollment on to its next step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from nurture.domain.contacts import Contact
from nurture.domain.scoring import InterestState, combine
from nurture.domain.sequences import Sequence
from nurture.domain.touches import SETTLED, STATUS_AFTER, Outcome, TouchStatus
from nurture.pipeline.batch import BatchReport, Prepared
from nurture.pipeline.delivery import Delivery
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.progress import Calendars, Progress, advance, next_step
from nurture.ports import UnitOfWork

__all__ = ["moved_on", "record_outcomes", "rescore"]

_REQUEUE_DELAY = timedelta(minutes=5)


def record_outcomes(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    items: list[Prepared],
    delivery: Delivery,
    report: BatchReport,
) -> None:
    """Write each touch's outcome, count it, and move its enrollment on once settled."""
    calendars = Calendars(ctx.default_timezone, ctx.default_region, ctx.holidays)
    updates, tasks = [], []
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
            done_at = max(ctx.now, item.touch["deliver_at"])
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
    status = STATUS_AFTER[item.outcome] if item.outcome else TouchStatus.SCHEDULED
    update: dict[str, Any] = {"id": touch["id"], "status": status, "reason": item.reason}
    if item.outcome == Outcome.SENT:
        receipt = item.receipt
        update.update(
            sent_at=ctx.now,
            provider=receipt.provider if receipt else "tasks",
            provider_message_id=receipt.message_id if receipt else None,
            subject=item.subject,
            content_hash=item.content_hash,
        )
        report.sent[touch["channel"]] += 1
        report.retried += item.retried
    elif item.outcome == Outcome.REQUEUED:
        update.update(_requeue(item, delivery=delivery, ctx=ctx, report=report))
    elif item.outcome == Outcome.FAILED:
        report.failed[(item.reason or "failed").split(":")[0]] += 1
        report.failures.append(
            {
                "touch_id": touch["id"],
                "contact_id": touch["contact_id"],
                "sequence": touch["sequence_id"],
                "step": touch["step_id"],
                "reason": item.reason,
            }
        )
    elif item.outcome == Outcome.CANCELLED:
        report.cancelled[(item.reason or "").split(":")[0]] += 1
    elif item.outcome == Outcome.UNKNOWN:
        update["content_hash"] = item.content_hash
        report.unknown += 1
    elif item.outcome == Outcome.RESCHEDULED:
        update.update(
            status=TouchStatus.SCHEDULED,
            deliver_at=item.deliver_at,
            attempts=max(touch["attempts"] - 1, 0),
        )
        report.rescheduled += 1
    return update


def _requeue(
    item: Prepared, *, delivery: Delivery, ctx: RunContext, report: BatchReport
) -> dict[str, Any]:
    """A transient failure: try again a little later, or fail once retries are spent."""
    touch = item.touch
    if touch["attempts"] >= delivery.retry.max_attempts_per_touch:
        report.failed["retries exhausted"] += 1
        return {
            "status": TouchStatus.FAILED,
            "reason": f"retries exhausted after {touch['attempts']} runs: {item.reason}",
        }
    # Back off across runs too: the next dispatch after this delay tries again.
    report.requeued += 1
    return {
        "status": TouchStatus.SCHEDULED,
        "deliver_at": ctx.now + _REQUEUE_DELAY * touch["attempts"],
    }


def moved_on(
    item: Prepared, sequence: Sequence, calendars: Calendars, *, done_at: datetime
) -> tuple[Progress, Sequence, Contact]:
    """The enrollment's next step once ``item``'s touch is done at ``done_at``."""
    touch, contact = item.touch, item.contact
    step = next_step(
        sequence=sequence,
        enrollment_id=touch["enrollment_id"],
        done_index=touch["step_index"],
        done_at=done_at,
        contact=contact,
        calendar=calendars.for_contact(sequence, contact),
    )
    return step, sequence, contact


def rescore(item: Prepared, ctx: RunContext) -> bool:
    """Re-score the contact after its touch (interest fades with time), so that the next
    step's gap follows the temperature it has now; returns whether anything changed."""
    contact = item.contact
    if not item.interest_state and contact.interest == 0:
        return False  # no interest to fade: the stored score is the score
    model = ctx.project.scoring
    # The stored fit is current: imports and evaluations keep it up to date.
    card = combine(model, contact.fit, [], InterestState.from_json(item.interest_state), ctx.now)
    changed = (card.score, card.temperature, card.interest) != (
        contact.score,
        contact.temperature,
        contact.interest,
    )
    contact.score, contact.interest, contact.temperature = (
        card.score,
        card.interest,
        card.temperature,
    )
    return changed


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
