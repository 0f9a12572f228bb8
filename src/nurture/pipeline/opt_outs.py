"""Opt-outs: an unsubscribe, a spam report, a hard bounce or an SMS STOP suppresses the
address on every sequence and cancels what was planned for it; SMS START lifts it. An
opt-out for an address nurture does not know is honoured all the same."""

from __future__ import annotations

from nurture.domain.audit import AuditEntry, Subject
from nurture.domain.contacts import Contact
from nurture.domain.events import EventType, StoredEvent
from nurture.domain.touches import Touch
from nurture.pipeline.lifecycle import RunContext, cancel_touches
from nurture.ports import UnitOfWork

__all__ = ["apply_opt_out", "suppress_address"]

#: Email opt-outs: the address is suppressed on every sequence.
_EMAIL_OPT_OUTS: dict[str, str] = {
    EventType.UNSUBSCRIBE: "unsubscribe",
    EventType.EMAIL_BOUNCE: "hard bounce",
    EventType.SPAM_REPORT: "spam report",
}


#: The suppression list keeps a short reason (the whole message stays in the event).
_REASON_CHARS = 64


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def suppress_address(uow: UnitOfWork, row: StoredEvent, ctx: RunContext) -> int:
    """An opt-out for an address nurture does not know is still honoured."""
    address, kind = row.address, row.type
    if not address:
        return 0
    if kind in _EMAIL_OPT_OUTS and "@" in address:
        return int(
            uow.suppressions.suppress(
                "email",
                address.lower(),
                reason=_EMAIL_OPT_OUTS[kind],
                at=ctx.now,
                event_id=row.id,
            )
        )
    if kind == EventType.SMS_STOP and address.startswith("+"):
        return int(
            uow.suppressions.suppress("sms", address, reason="STOP", at=ctx.now, event_id=row.id)
        )
    if kind == EventType.SMS_START and address.startswith("+"):
        uow.suppressions.lift("sms", address, at=ctx.now)
    return 0


def apply_opt_out(
    uow: UnitOfWork,
    contact: Contact,
    event: StoredEvent,
    touch: Touch | None,
    ctx: RunContext,
) -> int:
    kind = EventType(event.type)
    assert contact.id is not None
    if kind in _EMAIL_OPT_OUTS:
        address = (event.address or contact.email or "").lower()
        if not address:
            return 0
        why = _EMAIL_OPT_OUTS[kind]
        said = event.payload.get("said")  # an email reply asking to stop: their words
        if isinstance(said, str) and said.strip():
            why = _fit(f"{why}: {' '.join(said.split())}", _REASON_CHARS)
        new = uow.suppressions.suppress("email", address, reason=why, at=ctx.now, event_id=event.id)
        if new:
            _audit(uow, contact, "email suppressed", _EMAIL_OPT_OUTS[kind], event=event, ctx=ctx)
        # Enrollments exit (always, for these reasons); touches of any enrollment to this
        # address that are still scheduled go too.
        _cancel_channel(uow, contact, "email", f"opted out: {_EMAIL_OPT_OUTS[kind]}", ctx)
        return int(new)
    if kind == EventType.SMS_STOP or (kind == EventType.WRONG_NUMBER and contact.phone):
        number = event.address if kind == EventType.SMS_STOP else contact.phone
        number = number or (touch.address if touch else None) or contact.phone
        if not number:
            return 0
        why = "STOP" if kind == EventType.SMS_STOP else "wrong number"
        new = uow.suppressions.suppress("sms", number, reason=why, at=ctx.now, event_id=event.id)
        if new:
            _audit(uow, contact, "sms suppressed", why, event=event, ctx=ctx)
        _cancel_channel(uow, contact, "sms", f"opted out: {why}", ctx)
        return int(new)
    if kind == EventType.SMS_START:
        number = event.address or contact.phone
        if number and uow.suppressions.lift("sms", number, at=ctx.now):
            _audit(uow, contact, "sms suppression lifted", "START", event=event, ctx=ctx)
    return 0


def _audit(
    uow: UnitOfWork, contact: Contact, change: str, why: str, *, event: StoredEvent, ctx: RunContext
) -> None:
    """The audit line of a suppression: the kind of opt-out, never the person's words
    (the trail outlives an erasure; the words stay on the event, which does not)."""
    actor = ctx.actor or f"{event.provider} event {event.id}"
    entry = AuditEntry(contact.id, ctx.now, actor, Subject.SUPPRESSION, change, why)
    uow.privacy.audit([entry])


def _cancel_channel(
    uow: UnitOfWork, contact: Contact, medium: str, reason: str, ctx: RunContext
) -> None:
    """Cancel the contact's scheduled touches that would go out on ``medium``; the
    enrollments they belong to move on to their next step."""
    assert contact.id is not None
    rows = [t for t in uow.touches.scheduled(contact_id=contact.id) if t.medium == medium]
    if not cancel_touches(uow, rows, reason=reason, ctx=ctx):
        return
    ids = sorted({t.enrollment_id for t in rows if t.enrollment_id})
    uow.enrollments.due_again(ids, at=ctx.now)
