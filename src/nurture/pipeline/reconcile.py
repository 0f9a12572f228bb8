"""Touches whose outcome is unknown: ask the provider before anything is sent again.

A touch stays in ``sending`` when its run died between the claim and the record (a crash,
a SIGKILL), and becomes ``unknown`` when a provider did not answer after the request went
out. For each one, the provider is asked whether it has the message:

- it does → the touch is ``sent`` (with the provider's id) and the enrollment moves on;
- it certainly does not → the touch goes back to ``scheduled`` and is sent once;
- it cannot tell (no Email Activity add-on, an SMS body that differs) → the touch stays
  ``unknown`` and is reported for a person to decide. Nothing is resent blindly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nurture.domain.touches import Touch, TouchStatus
from nurture.pipeline.delivery import Delivery
from nurture.pipeline.execute import prepare
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.progress import advance
from nurture.pipeline.record import moved_on, rescore
from nurture.ports import OutgoingSms, UnitOfWork

__all__ = ["ReconcileReport", "reconcile"]

_STALE_AFTER = timedelta(minutes=10)


@dataclass
class ReconcileReport:
    """What reconciliation concluded."""

    confirmed_sent: int = 0
    requeued: int = 0
    still_unknown: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "confirmed_sent": self.confirmed_sent,
            "requeued": self.requeued,
            "still_unknown": len(self.still_unknown),
            "unknown_touches": self.still_unknown[:100],
        }


def reconcile(
    *, uow: UnitOfWork, ctx: RunContext, delivery: Delivery, wall_now: datetime
) -> ReconcileReport:
    """Settle touches left in ``sending`` by dead runs, and ``unknown`` ones."""
    report = ReconcileReport()
    live = uow.runs.live(stale_before=wall_now - _STALE_AFTER)
    orphans = [
        t for t in uow.touches.with_status(TouchStatus.SENDING) if _run_of(t.claimed_by) not in live
    ]
    pending = orphans + uow.touches.with_status(TouchStatus.UNKNOWN)
    if not pending:
        return report
    items = {
        item.touch.id: item
        for item in prepare(uow=uow, ctx=ctx, delivery=delivery, touches=pending)
    }
    calendars = ctx.calendar_book()
    updates = []
    progress = []
    for touch in pending:
        item = items.get(touch.id)
        found = _ask_provider(uow, touch, item, delivery)
        if found is None:
            updates.append(_still_unknown(touch, report))
        elif found:
            updates.append(_confirmed(touch, found[0], report))
            if item is not None and item.sequence is not None:
                rescore(item, ctx)
                progress.append(moved_on(item, item.sequence, calendars, done_at=ctx.now))
        else:
            updates.append(
                {
                    "id": touch.id,
                    "status": TouchStatus.SCHEDULED,
                    "claimed_by": None,
                    "reason": "requeued: the provider never got it",
                }
            )
            report.requeued += 1
    uow.touches.update_many(updates)
    advance(uow=uow, progress=progress, ctx=ctx, at=ctx.now)
    uow.commit()
    return report


def _still_unknown(touch: Touch, report: ReconcileReport) -> dict[str, Any]:
    """The provider cannot tell: a person decides (never resent blindly)."""
    report.still_unknown.append(
        {
            "touch_id": touch.id,
            "contact_id": touch.contact_id,
            "channel": touch.channel,
            "address": touch.address,
        }
    )
    return {
        "id": touch.id,
        "status": TouchStatus.UNKNOWN,
        "reason": "outcome unknown: the provider cannot tell; check by hand",
    }


def _confirmed(touch: Touch, message_id: str, report: ReconcileReport) -> dict[str, Any]:
    """The provider has it: the touch was sent before the interruption."""
    report.confirmed_sent += 1
    return {
        "id": touch.id,
        "status": TouchStatus.SENT,
        "sent_at": touch.claimed_at,
        "provider_message_id": message_id,
        "reason": "confirmed by the provider after an interruption",
    }


def _run_of(worker: str | None) -> str | None:
    return worker.split("/", 1)[0] if worker else None


def _ask_provider(uow: UnitOfWork, touch: Touch, item: Any, delivery: Delivery) -> list[str] | None:
    """Provider ids for this touch, ``[]`` if certainly not taken, ``None`` if unknown."""
    if touch.channel == "call":
        # Call tasks are written in the same transaction as the touch: no task, no call.
        task_id = uow.tasks.for_touch(touch.id)
        return [f"task-{task_id}"] if task_id is not None else []
    if "@" in (touch.address or ""):
        return delivery.email.find(touch.id)
    if item is None or item.sms is None:
        return None
    sms: OutgoingSms = item.sms
    return delivery.sms.find(
        sms, since=(touch.claimed_at or touch.created_at) - timedelta(minutes=5)
    )
