"""Call tasks: logging outcomes (they are events) and click-to-call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nurture.commands.lookup import require_contact
from nurture.domain.events import CALL_OUTCOMES
from nurture.domain.tasks import CallTask, TaskKind, TaskStatus
from nurture.errors import ConfigurationError, Location, NotFound, PayloadError
from nurture.inbound import InboundEvent
from nurture.pipeline.ingest import apply_pending, store_events
from nurture.pipeline.lifecycle import RunContext
from nurture.ports import Dialer, UnitOfWork

__all__ = ["dial", "log_call", "task_for_contact"]


def log_call(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    task_id: int,
    outcome: str,
    bant: dict[str, str],
    note: str | None,
    commit: bool = True,
) -> dict[str, Any]:
    """Close a task with its outcome and apply the outcome as an event."""
    task = uow.tasks.get(task_id)
    if task is None:
        raise NotFound(f"no call task {task_id} (see `nurture calls list`)")
    event = InboundEvent(
        provider="rep",
        provider_event_id=f"task:{task_id}",
        type=CALL_OUTCOMES[outcome],
        occurred_at=ctx.now,
        contact_id=task.contact_id,
        touch_id=task.touch_id,
        payload={"data": {"bant": bant, "note": note, "owner": task.owner, "task": task_id}},
    )
    stored = store_events(uow=uow, events=[event], now=ctx.now)
    if stored.quarantined:
        raise PayloadError(stored.quarantined[0], Location(f"task {task_id}"))
    uow.tasks.close(task_id, outcome=outcome, note=note, at=ctx.now)
    apply_pending(uow=uow, ctx=ctx, commit=False)
    if commit:
        uow.commit()
    contact = uow.contacts.get(str(task.contact_id))
    assert contact is not None
    return {
        "task": task_id,
        "contact_id": contact.id,
        "outcome": outcome,
        "score": contact.score,
        "temperature": contact.temperature.value,
        "stage": contact.stage.value,
        "bant": contact.bant.as_dict(),
        "exits": dict(ctx.effects.exits),
    }


def task_for_contact(*, uow: UnitOfWork, ref: str, owner: str | None, now: datetime) -> int:
    """The task a call with contact ``ref`` is logged on: its oldest open one, else a new
    task for a call the rep made on their own (``calls log --contact``)."""
    contact = require_contact(uow, ref)
    assert contact.id is not None  # a stored contact
    waiting = [t for t in uow.tasks.for_contact(contact.id) if t.status == TaskStatus.OPEN]
    if waiting:
        return min(waiting, key=lambda t: (t.due_at, t.id)).id
    logged = CallTask(
        contact_id=contact.id,
        kind=TaskKind.LOGGED,
        title="call logged by hand",
        due_at=now,
        created_at=now,
        owner=owner or contact.owner,
    )
    uow.tasks.add_many([logged])
    [created] = [t for t in uow.tasks.for_contact(contact.id) if t.status == TaskStatus.OPEN]
    return created.id


def dial(*, uow: UnitOfWork, dialer: Dialer | None, task_id: int, rep_phone: str) -> str:
    """Ring the rep, then bridge them to the task's contact; returns the provider's call
    id. ``dialer`` is ``None`` when no telephony is configured."""
    task = uow.tasks.get(task_id)
    if task is None:
        raise NotFound(f"no call task {task_id}")
    contact = uow.contacts.get(str(task.contact_id))
    if contact is None or not contact.phone:
        raise NotFound(f"task {task_id}: the contact has no phone number")
    if dialer is None:
        raise ConfigurationError(
            "click-to-call needs the twilio driver and NURTURE_TWILIO_FROM (a voice number)"
        )
    return dialer.dial(rep_phone=rep_phone, contact_phone=contact.phone)
