"""Inbound events: store them (once), then apply them to contacts.

Applying an event updates interest points, BANT facts and opt-outs, ends the enrollments
the event exits, cancels touches that must not go out any more, and runs the stage rules
for the contacts it touched, so that an opt-out at 10:00 stops the email planned for 15:00.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nurture.adapters.db.contacts import contact_from_row
from nurture.adapters.db.enrollments import RUNNING
from nurture.adapters.db.tables import contacts, enrollments
from nurture.adapters.db.uow import SqlUnitOfWork
from nurture.domain.contacts import Contact
from nurture.domain.events import EventType
from nurture.domain.scoring import InterestState, combine, fit_score
from nurture.inbound import InboundEvent
from nurture.services.lifecycle import (
    RunContext,
    cancel_touches,
    evaluate_contacts,
    exit_enrollments,
)

__all__ = ["ApplyReport", "apply_pending", "store_events"]

#: The exit reason an event gives running enrollments (used when a sequence lists it).
EXIT_ON_EVENT = {
    EventType.REPLIED: "replied",
    EventType.MEETING_BOOKED: "meeting_booked",
    EventType.UNSUBSCRIBE: "unsubscribed",
    EventType.EMAIL_BOUNCE: "bounced",
    EventType.SPAM_REPORT: "spam_report",
    EventType.NOT_INTERESTED: "not_interested",
    EventType.EMAIL_CLICK: "clicked",
    EventType.CONTENT_DOWNLOAD: "content_downloaded",
}
#: Email opt-outs: the address is suppressed on every sequence.
_EMAIL_OPT_OUTS = {
    EventType.UNSUBSCRIBE: "unsubscribe",
    EventType.EMAIL_BOUNCE: "hard bounce",
    EventType.SPAM_REPORT: "spam report",
}
_CHUNK = 2000


@dataclass
class ApplyReport:
    """What applying pending events did."""

    applied: int = 0
    unmatched: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    suppressed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "applied": self.applied,
            "unmatched": self.unmatched,
            "by_type": dict(self.by_type),
            "suppressed": self.suppressed,
        }


def store_events(
    *, uow: SqlUnitOfWork, events: list[InboundEvent], now: datetime
) -> tuple[int, int]:
    """Store events not seen before; returns (new, duplicates)."""
    new = uow.events.store([event.row(received_at=now) for event in events])
    return new, len(events) - new


def apply_pending(*, uow: SqlUnitOfWork, ctx: RunContext, commit: bool = True) -> ApplyReport:
    """Apply every pending event, oldest first, in chunks."""
    report = ApplyReport()
    while True:
        rows = uow.events.pending(limit=_CHUNK)
        if not rows:
            return report
        _apply_chunk(uow, rows, ctx, report)
        if commit:
            uow.commit()


def _apply_chunk(
    uow: SqlUnitOfWork, rows: list[dict[str, Any]], ctx: RunContext, report: ApplyReport
) -> None:
    touches = _touches_of(uow, rows)
    targets = _contacts_of(uow, rows, touches)
    contact_rows = uow.contacts.rows_by_id(sorted(set(targets.values())))
    by_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
    marks = []
    for row in rows:
        contact_id = targets.get(row["id"])
        touch = touches.get(row["id"])
        mark = {
            "id": row["id"],
            "status": "applied",
            "contact_id": contact_id,
            "touch_id": touch["id"] if touch else row["touch_id"],
            "error": None,
            "applied_at": ctx.now,
        }
        if contact_id is None or contact_id not in contact_rows:
            mark.update(status="unmatched", error=f"no contact for {row['address'] or '?'}")
            report.unmatched += 1
            report.suppressed += _suppress_unmatched(uow, row, ctx)
        else:
            by_contact[contact_id].append(row)
            report.applied += 1
        report.by_type[row["type"]] += 1
        marks.append(mark)
    uow.events.mark(marks)
    for contact_id, events in by_contact.items():
        report.suppressed += _apply_to_contact(uow, contact_rows[contact_id], events, touches, ctx)
    evaluate_contacts(uow=uow, contact_ids=list(by_contact), ctx=ctx)


def _touches_of(uow: SqlUnitOfWork, rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {}
    for row in rows:
        touch = None
        if row["touch_id"]:
            touch = uow.touches.get(row["touch_id"])
        elif (row["payload"] or {}).get("_message_id"):
            touch = uow.touches.by_provider_id(row["payload"]["_message_id"])
        if touch is not None:
            out[row["id"]] = touch
    return out


def _contacts_of(
    uow: SqlUnitOfWork, rows: list[dict[str, Any]], touches: dict[int, dict[str, Any]]
) -> dict[int, int]:
    """Event id → contact id, from the event, its touch, or its address."""
    out: dict[int, int] = {}
    lookups: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row["contact_id"]:
            out[row["id"]] = row["contact_id"]
        elif row["id"] in touches:
            out[row["id"]] = touches[row["id"]]["contact_id"]
        elif row["address"]:
            lookups[row["address"]].append(row["id"])
    if lookups:
        refs = list(lookups)
        found = _resolve_refs(uow, refs)
        for ref, event_ids in lookups.items():
            if ref in found:
                for event_id in event_ids:
                    out[event_id] = found[ref]
    return out


def _resolve_refs(uow: SqlUnitOfWork, refs: list[str]) -> dict[str, int]:
    """Contact ids for emails, phone numbers, ids or external ids."""
    emails = [r.lower() for r in refs if "@" in r]
    phones = [r for r in refs if r.startswith("+")]
    ids = [int(r) for r in refs if r.isdigit()]
    others = [r for r in refs if "@" not in r and not r.startswith("+")]
    found: dict[str, int] = {}
    c = contacts.c
    for column, values in ((c.email, emails), (c.phone, phones), (c.external_id, others)):
        for start in range(0, len(values), 500):
            query = sa.select(c.id, column).where(column.in_(values[start : start + 500]))
            for contact_id, value in uow.connection.execute(query):
                found.setdefault(value, contact_id)
    for start in range(0, len(ids), 500):
        query = sa.select(c.id).where(c.id.in_(ids[start : start + 500]))
        for row in uow.connection.execute(query):
            found.setdefault(str(row.id), row.id)
    return {
        ref: found[ref.lower() if "@" in ref else ref]
        for ref in refs
        if (ref.lower() if "@" in ref else ref) in found
    }


def _suppress_unmatched(uow: SqlUnitOfWork, row: dict[str, Any], ctx: RunContext) -> int:
    """An opt-out for an address nurture does not know is still honoured."""
    address, kind = row["address"], row["type"]
    if not address:
        return 0
    if kind in _EMAIL_OPT_OUTS and "@" in address:
        return int(
            uow.suppressions.suppress(
                "email",
                address.lower(),
                reason=_EMAIL_OPT_OUTS[kind],
                at=ctx.now,
                event_id=row["id"],
            )
        )
    if kind == EventType.SMS_STOP and address.startswith("+"):
        return int(
            uow.suppressions.suppress("sms", address, reason="STOP", at=ctx.now, event_id=row["id"])
        )
    if kind == EventType.SMS_START and address.startswith("+"):
        uow.suppressions.lift("sms", address, at=ctx.now)
    return 0


def _apply_to_contact(
    uow: SqlUnitOfWork,
    row: dict[str, Any],
    events: list[dict[str, Any]],
    touches: dict[int, dict[str, Any]],
    ctx: RunContext,
) -> int:
    model = ctx.project.scoring
    contact = contact_from_row(row)
    state = InterestState.from_json(row["interest_state"])
    last_interest = row["last_interest_at"]
    pending = list(row["pending_events"] or [])
    ledger = []
    exits: list[str] = []
    suppressed = 0
    for event in events:
        kind = event["type"]
        rule = state.record(model, kind, event["occurred_at"])
        if rule is not None:
            ledger.append(
                {
                    "contact_id": contact.id,
                    "event_id": event["id"],
                    "event_type": kind,
                    "points": rule.points,
                    "occurred_at": event["occurred_at"],
                }
            )
        if model.is_interest_signal(kind) and (
            last_interest is None or event["occurred_at"] > last_interest
        ):
            last_interest = event["occurred_at"]
        pending.append(kind)
        facts = ((event["payload"] or {}).get("data") or {}).get("bant") or {}
        if facts:
            contact.bant = contact.bant.merged({k: str(v) for k, v in facts.items() if v})
        suppressed += _opt_outs(uow, contact, event, touches.get(event["id"]), ctx)
        reason = EXIT_ON_EVENT.get(EventType(kind))
        if reason is not None and reason not in exits:
            exits.append(reason)
    fit, _ = fit_score(model, contact)
    card = combine(model, fit, [], state, ctx.now)
    uow.contacts.update_many(
        [
            {
                "id": contact.id,
                "interest_state": state.to_json(),
                "interest": card.interest,
                "last_interest_at": last_interest,
                "bant": {k: v for k, v in contact.bant.as_dict().items() if v},
                "rules_pending": True,
                "pending_events": pending[-50:],
                "updated_at": ctx.now,
            }
        ]
    )
    uow.events.add_points(ledger)
    for reason in exits:
        exit_enrollments(uow=uow, contact=contact, reason=reason, ctx=ctx)
    return suppressed


def _opt_outs(
    uow: SqlUnitOfWork,
    contact: Contact,
    event: dict[str, Any],
    touch: dict[str, Any] | None,
    ctx: RunContext,
) -> int:
    kind = EventType(event["type"])
    assert contact.id is not None
    if kind in _EMAIL_OPT_OUTS:
        address = (event["address"] or contact.email or "").lower()
        if not address:
            return 0
        new = uow.suppressions.suppress(
            "email", address, reason=_EMAIL_OPT_OUTS[kind], at=ctx.now, event_id=event["id"]
        )
        # Enrollments exit (always, for these reasons); touches of any enrollment to this
        # address that are still scheduled go too.
        _cancel_channel(uow, contact, "email", f"opted out: {_EMAIL_OPT_OUTS[kind]}", ctx)
        return int(new)
    if kind == EventType.SMS_STOP or (kind == EventType.WRONG_NUMBER and contact.phone):
        address = event["address"] if kind == EventType.SMS_STOP else contact.phone
        address = address or (touch or {}).get("address") or contact.phone
        if not address:
            return 0
        why = "STOP" if kind == EventType.SMS_STOP else "wrong number"
        new = uow.suppressions.suppress(
            "sms", address, reason=why, at=ctx.now, event_id=event["id"]
        )
        _cancel_channel(uow, contact, "sms", f"opted out: {why}", ctx)
        return int(new)
    if kind == EventType.SMS_START:
        address = event["address"] or contact.phone
        if address:
            uow.suppressions.lift("sms", address, at=ctx.now)
    return 0


def _cancel_channel(
    uow: SqlUnitOfWork, contact: Contact, medium: str, reason: str, ctx: RunContext
) -> None:
    """Cancel the contact's scheduled touches that would go out on ``medium``; the
    enrollments they belong to move on to their next step."""
    assert contact.id is not None
    rows = [t for t in uow.touches.scheduled(contact_id=contact.id) if _medium(t) == medium]
    if not cancel_touches(uow, rows, reason=reason, ctx=ctx):
        return
    ids = sorted({t["enrollment_id"] for t in rows if t["enrollment_id"]})
    uow.connection.execute(
        enrollments.update()
        .where(
            enrollments.c.id.in_(ids),
            enrollments.c.status.in_(RUNNING),
            enrollments.c.next_due_at.is_(None),
        )
        .values(next_due_at=ctx.now)
    )


def _medium(touch: dict[str, Any]) -> str:
    address = touch.get("address") or ""
    if touch["channel"] == "call":
        return "call"
    return "email" if "@" in address else "sms"
