"""Execute due touches in batches: exactly once, whatever happens.

The protocol, per batch:

1. **claim** — due touches go from ``scheduled`` to ``sending`` under this worker's name,
   committed before anything leaves (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``); the
   daily run's planners insert the touches due now as ``sending`` already, under theirs,
   committed with the plan (``plan.SendNow``), and go on from step 2 (:func:`deliver`);
2. **check again** at delivery time — suppressed, exited or out-of-audience contacts get
   nothing (the touch is cancelled with the reason);
3. **render and send** — one failure fails that touch only; 429/5xx are retried with
   backoff; a timeout after the request went out is an *unknown* outcome;
4. **record** — provider ids, call tasks, re-scores and the next step's due time are
   committed together.

A crash between 1 and 4 leaves touches in ``sending``; :mod:`nurture.pipeline.reconcile`
asks the provider what it got before anything is sent again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from nurture.domain.enrollment import RUNNING
from nurture.domain.messages import RenderedCall, RenderedEmail, RenderedSms
from nurture.domain.scoring import ScoredContact, fit_score
from nurture.domain.tasks import CallTask, TaskKind
from nurture.domain.touches import Outcome, Touch
from nurture.errors import (
    PermanentDeliveryError,
    TemplateError,
    TransientDeliveryError,
    UnknownDeliveryOutcome,
)
from nurture.pipeline.batch import BatchReport, Prepared
from nurture.pipeline.delivery import Delivery, send_with_retries
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.record import record_outcomes, rescore
from nurture.pipeline.rendering import render_step, touch_context
from nurture.ports import OutgoingEmail, OutgoingSms, SendReceipt, UnitOfWork

__all__ = ["BatchReport", "Prepared", "deliver", "execute_batch", "prepare", "rescore"]


def execute_batch(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    delivery: Delivery,
    worker: str,
    batch_size: int,
    heartbeat: datetime | None = None,
) -> BatchReport:
    """Claim up to ``batch_size`` due touches and execute them; returns what happened."""
    report = BatchReport()
    claimed = uow.touches.claim(worker=worker, due_by=ctx.now, claimed_at=ctx.now, limit=batch_size)
    if ctx.run_id and heartbeat is not None:
        uow.runs.beat(ctx.run_id, at=heartbeat)
    uow.commit()  # claimed before anything leaves: a rerun will not take these again
    if not claimed:
        return report
    return deliver(uow=uow, ctx=ctx, delivery=delivery, claimed=claimed, report=report)


def deliver(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    delivery: Delivery,
    claimed: list[Touch],
    report: BatchReport,
    people: Mapping[int, ScoredContact] | None = None,
) -> BatchReport:
    """Steps 2 to 4 for touches claimed and committed: check, render, send, and record
    what became of them, counted in ``report``. ``people``: the contacts as the caller
    read them (planning, which sends what is due now), else read here."""
    report.claimed += len(claimed)
    # Checking, rendering and sending hold no lock: other batches claim and record meanwhile.
    with uow.reading():
        items = prepare(uow=uow, ctx=ctx, delivery=delivery, touches=claimed, people=people)
    _send(items, delivery)
    record_outcomes(uow=uow, ctx=ctx, items=items, delivery=delivery, report=report)
    uow.commit()
    return report


def prepare(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    delivery: Delivery,
    touches: list[Touch],
    people: Mapping[int, ScoredContact] | None = None,
) -> list[Prepared]:
    """Check each touch again and render it; decided touches carry their outcome."""
    if people is None:
        people = uow.contacts.for_sending([t.contact_id for t in touches])
    status = uow.enrollments.statuses([t.enrollment_id for t in touches if t.enrollment_id])
    suppressed = {
        "email": uow.suppressions.active("email", [t.address for t in touches]),
        "sms": uow.suppressions.active("sms", [t.address for t in touches]),
    }
    calendars = ctx.calendar_book()
    items = []
    for touch in touches:
        person = people[touch.contact_id]
        item = Prepared(touch, person.contact, person.state)
        items.append(item)
        sequence = ctx.sequence(uow, touch.sequence_id, touch.version)
        if sequence is None or touch.step_index >= len(sequence.steps):
            item.outcome, item.reason = Outcome.FAILED, "its sequence version is unknown"
            continue
        item.sequence, item.step = sequence, sequence.steps[touch.step_index]
        blocked = _blocked(item, status.get(touch.enrollment_id), suppressed)
        if blocked is not None:
            item.outcome, item.reason = Outcome.CANCELLED, blocked
            continue
        calendar = calendars.for_contact(sequence, item.contact)
        closes = calendar.closes_at(ctx.now)
        if closes is None:
            # Windows hold at delivery time: a late release waits for the next opening.
            item.deliver_at = calendar.next_open(ctx.now)
            item.outcome = Outcome.RESCHEDULED
            item.reason = f"window closed at release; next opening {item.deliver_at.isoformat()}"
            continue
        item.window_left = (closes - ctx.now).total_seconds()
        try:
            _render(item, ctx, delivery)
        except TemplateError as exc:
            item.outcome, item.reason = Outcome.FAILED, f"template: {exc}"
    return items


def _blocked(
    item: Prepared, enrollment: tuple[str, str | None] | None, suppressed: dict[str, dict[str, str]]
) -> str | None:
    """Why this touch must not go out any more, checked at delivery time."""
    assert item.step is not None
    assert item.sequence is not None
    if enrollment is not None and enrollment[0] not in RUNNING:
        reason = enrollment[1] or enrollment[0]
        return f"enrollment {enrollment[0]}" + (f": {reason}" if enrollment[1] else "")
    medium = item.step.sends_on
    address = item.touch.address
    if medium in suppressed and address in suppressed[medium]:
        return f"suppressed: {suppressed[medium][address]}"
    refusal = item.sequence.audience.refusal(item.contact)
    if refusal is not None:
        return f"left the audience: {refusal}"
    return None


def _render(item: Prepared, ctx: RunContext, delivery: Delivery) -> None:
    assert item.step is not None
    assert item.sequence is not None
    contact, step, touch = item.contact, item.step, item.touch
    asset = ctx.project.catalog.get(step.content) if step.content else None
    context = touch_context(
        contact=contact,
        sequence=item.sequence,
        step=step,
        sender=ctx.sender,
        touch_id=touch.id,
        asset=asset,
    )
    rendered = render_step(ctx.project.templates, step, contact=contact, context=context)
    if isinstance(rendered, RenderedEmail):
        item.subject = rendered.subject
        item.content_hash = _hash(rendered.subject + "\n" + rendered.text)
        item.email = OutgoingEmail(
            touch_id=touch.id,
            contact_id=touch.contact_id,
            to=touch.address or "",
            to_name=contact.full_name if contact.first_name or contact.last_name else None,
            from_email=ctx.sender.email,
            from_name=ctx.sender.name,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            unsubscribe_url=context["unsubscribe_url"],
            unsubscribe_mailto=delivery.unsubscribe_mailto,
            reply_to=ctx.sender.reply_address(touch.id) or contact.owner,
            reply_to_name=contact.owner if ctx.sender.reply_domain else None,
            message_id=ctx.sender.message_id(touch.id),
            categories=(item.sequence.id, f"{item.sequence.id}/{step.id}"),
            sandbox=delivery.sandbox,
        )
    elif isinstance(rendered, RenderedSms):
        item.content_hash = _hash(rendered.text)
        callback = delivery.status_callback_url
        item.sms = OutgoingSms(
            touch_id=touch.id,
            contact_id=touch.contact_id,
            to=touch.address or "",
            body=rendered.text,
            status_callback=callback,
            validity_seconds=sms_validity(item.window_left),
        )
    elif isinstance(rendered, RenderedCall):
        item.task = _call_task(item, rendered, ctx)


#: Twilio keeps a queued message at most 10 hours, and takes validity periods of 1 s up.
SMS_VALIDITY_RANGE = (1, 36_000)


def sms_validity(window_left: float | None) -> int:
    """The validity period of an SMS: the time left in the contact's window, within what
    Twilio accepts. A message still queued when the window closes expires instead of
    arriving at night."""
    low, high = SMS_VALIDITY_RANGE
    if window_left is None:
        return high
    return max(low, min(high, int(window_left)))


def _call_task(item: Prepared, rendered: RenderedCall, ctx: RunContext) -> CallTask:
    contact, touch = item.contact, item.touch
    assert item.step is not None
    assert item.sequence is not None
    _, fit = fit_score(ctx.project.scoring, contact)  # the rules the rep sees, not a score
    name = contact.full_name or contact.email or f"#{contact.id}"
    return CallTask(
        touch_id=touch.id,
        contact_id=touch.contact_id,
        owner=contact.owner,
        kind=TaskKind.SEQUENCE,
        title=f"Call {name}"
        + (f" ({contact.company})" if contact.company else "")
        + f" — {item.sequence.name}, step {item.step.id}",
        script=rendered.script,
        context={
            "sequence": item.sequence.id,
            "step": item.step.id,
            "phone": contact.phone,
            "score": contact.score,
            "temperature": contact.temperature.value,
            "stage": contact.stage.value,
            "bant": contact.bant.as_dict(),
            "fit_rules": [c.rule for c in fit],
        },
        due_at=touch.deliver_at,
        created_at=ctx.now,
    )


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _send(items: list[Prepared], delivery: Delivery) -> None:
    """Hand emails and SMS to their providers: a provider's messages in parallel threads,
    which overlap the network waits, and the outbox's in this thread (writing a file does
    not wait: at 1M contacts, sixteen threads cost each worker process 0.6 s of CPU more
    than one, handing the interpreter lock to and fro)."""
    local: list[Prepared] = []
    remote: list[Prepared] = []
    for item in items:
        if item.outcome is None and (item.email or item.sms):
            (local if _channel(item) in delivery.inline else remote).append(item)
    senders = min(delivery.concurrency, len(remote))
    if senders < 2:
        for item in remote + local:
            _send_one(item, delivery)
        return
    # Each thread takes the next message when it is done with one (a slow exchange holds
    # up no other), without a future per message: those cost a worker process 0.46 s of
    # its interpreter at 1M contacts.
    queue = iter(remote)
    taking = threading.Lock()

    def drain() -> None:
        while True:
            with taking:
                item = next(queue, None)
            if item is None:
                return
            _send_one(item, delivery)

    with ThreadPoolExecutor(max_workers=senders) as pool:
        threads = [pool.submit(drain) for _ in range(senders)]
        for item in local:  # written while the threads wait on the provider
            _send_one(item, delivery)
        for sender in threads:
            sender.result()


def _channel(item: Prepared) -> str:
    return "email" if item.email is not None else "sms"


def _send_one(item: Prepared, delivery: Delivery) -> None:
    if item.email is not None:
        email = item.email

        def call() -> SendReceipt:
            if delivery.email_rate:
                delivery.email_rate.acquire()
            return delivery.email.send(email)
    else:
        assert item.sms is not None
        sms = item.sms

        def call() -> SendReceipt:
            if delivery.sms_rate:
                delivery.sms_rate.acquire()
            return delivery.sms.send(sms)

    try:
        item.receipt, item.retried = send_with_retries(
            call, policy=delivery.retry, sleep=delivery.sleep
        )
        item.outcome = Outcome.SENT
    except TransientDeliveryError as exc:
        item.outcome, item.reason = Outcome.REQUEUED, str(exc)
    except PermanentDeliveryError as exc:
        item.outcome, item.reason = Outcome.FAILED, str(exc)
    except UnknownDeliveryOutcome as exc:
        item.outcome, item.reason = Outcome.UNKNOWN, str(exc)
