"""Emails that come back: matched to the touch or contact they answer, read as a reply,
an out-of-office, a bounce or a request to stop, and acted on before the next touch
leaves.

Matching never guesses, in this order: the signed token of the reply address in any
recipient; then ``In-Reply-To``/``References`` against the Message-IDs nurture gave its
emails; then the sender's address, when exactly one contact has it. Anything else is
stored unmatched with the reason (``nurture events list --unmatched``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from nurture.domain.contacts import Contact
from nurture.domain.events import EventType
from nurture.domain.replies import MailKind, Verdict, classify, is_daemon, return_date
from nurture.domain.tasks import CallTask, TaskKind
from nurture.domain.touches import Touch
from nurture.errors import PayloadError
from nurture.inbound import InboundEvent
from nurture.inbound_mail import InboundMail, reply_tokens
from nurture.pipeline.ingest import ingest_events
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.pauses import pause_contact
from nurture.ports import OutgoingEmail, UnitOfWork

__all__ = ["MailOutcome", "ReplyPolicy", "receive_mail"]

PROVIDER = "inbound-email"
_TEXT_CHARS = 5000
#: A pause ends at this hour of the day it ends, in the contact's time zone.
_RESUME_AT = time(8, 0)


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    """How replies are read and acted on (from the settings, through bootstrap)."""

    #: The touch id a reply token names; raises PayloadError for a forged or old token.
    read_token: Callable[[str], int]
    ooo_pause_business_days: int = 5
    forward_to_owner: bool = False


@dataclass(slots=True)
class MailOutcome:
    """What became of one email that came back."""

    kind: MailKind
    why: str
    duplicate: bool = False
    matched_by: str | None = None
    contact_id: int | None = None
    touch_id: int | None = None
    unmatched: str | None = None
    paused_until: date | None = None
    exits: int = 0
    forward: OutgoingEmail | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (what the webhook answers)."""
        return {
            "kind": self.kind.value,
            "why": self.why,
            "duplicate": self.duplicate,
            "matched_by": self.matched_by,
            "contact_id": self.contact_id,
            "touch_id": self.touch_id,
            "unmatched": self.unmatched,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
        }


@dataclass(frozen=True, slots=True)
class _Match:
    touch: Touch | None = None
    contact_id: int | None = None
    by: str | None = None
    unmatched: str | None = None


_EVENT_OF = {
    MailKind.REPLY: EventType.REPLIED,
    MailKind.AUTO_REPLY: EventType.AUTO_REPLY,
    MailKind.UNSUBSCRIBE: EventType.UNSUBSCRIBE,
}


def receive_mail(
    *, uow: UnitOfWork, mail: InboundMail, ctx: RunContext, policy: ReplyPolicy
) -> MailOutcome:
    """Store one email that came back (once: the same Message-ID again is a duplicate),
    apply it as an event, then follow up: a reply gives its owner a call task (and a
    forwarded copy when asked), an out-of-office pauses the contact's sequences."""
    words = mail.own_words
    verdict = classify(
        headers=mail.headers,
        sender=mail.sender,
        subject=mail.subject,
        reply_text=words,
        report=mail.report,
    )
    match = _match(uow, mail, policy)
    outcome = MailOutcome(
        verdict.kind,
        verdict.why,
        matched_by=match.by,
        contact_id=match.contact_id,
        touch_id=match.touch.id if match.touch else None,
        unmatched=match.unmatched,
    )
    event = _event(mail, verdict, match, words, ctx.now)
    report = ingest_events(uow=uow, events=[event], ctx=ctx)
    if report.stored.new == 0:
        outcome.duplicate = True
        return outcome
    contact = uow.contacts.get(str(match.contact_id)) if match.contact_id else None
    if contact is None or contact.forgotten_at is not None:
        # A forgotten person's reply was refused and emptied by ingest: no task, no copy.
        return outcome
    if verdict.kind == MailKind.REPLY:
        _follow_up(uow, contact, mail, words, ctx)
        if policy.forward_to_owner and contact.owner:
            outcome.forward = _forward(mail, contact, words, ctx)
    elif verdict.kind == MailKind.AUTO_REPLY:
        back = return_date(
            words or mail.text, received=ctx.now, default_days=policy.ooo_pause_business_days
        )
        until = _at_start_of(back.day, contact, ctx)
        why = f"out of office until {back.day.isoformat()}" + ("" if back.stated else " (assumed)")
        pause_contact(uow=uow, contact_id=contact.id or 0, until=until, reason=why, ctx=ctx)
        outcome.paused_until = back.day
    uow.commit()
    return outcome


# -- matching -----------------------------------------------------------------------------


def _match(uow: UnitOfWork, mail: InboundMail, policy: ReplyPolicy) -> _Match:
    forged = None
    for token in reply_tokens(mail):
        try:
            touch_id = policy.read_token(token)
        except PayloadError as exc:
            forged = f"reply token refused: {exc}"
            continue
        touch = uow.touches.get(touch_id)
        if touch is None:
            return _Match(unmatched=f"answers touch {touch_id}, which no longer exists")
        return _Match(touch, touch.contact_id, "reply address")
    if mail.answers:
        found = {t.message_id: t for t in uow.touches.by_message_ids(list(mail.answers))}
        for message_id in mail.answers:
            touch = found.get(message_id)
            if touch is not None:
                return _Match(touch, touch.contact_id, "thread")
    address = _addressee(mail)
    if address:
        ids = uow.contacts.resolve_refs([address])
        if address in ids:
            return _Match(None, ids[address], "sender address")
    reason = forged or (
        f"no reply token, no Message-ID nurture sent, and no contact with {address}"
        if address
        else "no reply token, no Message-ID nurture sent, and no address to match"
    )
    return _Match(unmatched=reason)


def _addressee(mail: InboundMail) -> str | None:
    """Who the mail is about: the sender, or for a bounce the address that bounced."""
    if mail.report is not None:
        for line in mail.report.splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() in {"final-recipient", "original-recipient"}:
                address = value.partition(";")[2].strip().lower() or value.strip().lower()
                if "@" in address:
                    return address
    return None if is_daemon(mail.sender) else mail.sender or None


# -- the event ----------------------------------------------------------------------------


def _event(
    mail: InboundMail, verdict: Verdict, match: _Match, words: str, now: datetime
) -> InboundEvent:
    kind = _EVENT_OF.get(verdict.kind)
    if verdict.kind == MailKind.BOUNCE:
        kind = EventType.EMAIL_BOUNCE if verdict.hard else EventType.EMAIL_SOFT_BOUNCE
    assert kind is not None
    address = _addressee(mail) if verdict.kind == MailKind.BOUNCE else mail.sender
    if verdict.kind == MailKind.BOUNCE and match.touch is not None:
        address = address or match.touch.address
    payload: dict[str, Any] = {
        "subject": mail.subject[:300],
        "from": mail.sender,
        "classified": verdict.why,
        "matched_by": match.by,
        "text": words[:_TEXT_CHARS],
    }
    if verdict.kind == MailKind.UNSUBSCRIBE:
        payload["said"] = words[:300]
        payload["via"] = "email reply"
    if match.unmatched:
        payload["_unmatched"] = match.unmatched
    return InboundEvent(
        provider=PROVIDER,
        provider_event_id=mail.key,
        type=kind,
        occurred_at=now,
        contact_id=match.contact_id,
        touch_id=match.touch.id if match.touch else None,
        address=address,
        payload=payload,
    )


# -- following up -------------------------------------------------------------------------


def _follow_up(
    uow: UnitOfWork, contact: Contact, mail: InboundMail, words: str, ctx: RunContext
) -> None:
    """The owner calls back: a task carrying what the contact wrote."""
    assert contact.id is not None
    uow.tasks.add_many(
        [
            CallTask(
                contact_id=contact.id,
                kind=TaskKind.REPLY,
                title="replied — follow up",
                due_at=ctx.now,
                created_at=ctx.now,
                owner=contact.owner,
                script=words[:_TEXT_CHARS],
                context={"subject": mail.subject[:300], "from": mail.sender},
            )
        ]
    )


def _forward(mail: InboundMail, contact: Contact, words: str, ctx: RunContext) -> OutgoingEmail:
    name = contact.full_name or mail.sender
    text = f"{name} <{mail.sender}> replied:\n\n{words or mail.text[:_TEXT_CHARS]}\n"
    return OutgoingEmail(
        touch_id=0,
        contact_id=contact.id or 0,
        to=contact.owner or "",
        to_name=None,
        from_email=ctx.sender.email,
        from_name=ctx.sender.name,
        subject=f"Fwd: {mail.subject}"[:300],
        html="<pre>" + html.escape(text) + "</pre>",
        text=text,
        unsubscribe_url="",
        reply_to=mail.sender,
        categories=("reply-forward",),
    )


def _at_start_of(day: date, contact: Contact, ctx: RunContext) -> datetime:
    zone = ZoneInfo(contact.timezone or ctx.default_timezone)
    return datetime.combine(day, _RESUME_AT, tzinfo=zone).astimezone(UTC)
