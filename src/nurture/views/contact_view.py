"""``nurture contact show``: everything known about one contact, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nurture.commands.lookup import living_contact
from nurture.domain.contacts import CONTACT_ATTRIBUTES
from nurture.domain.scoring import ScoringModel, score_card
from nurture.ports import UnitOfWork
from nurture.views.wording import iso

__all__ = ["contact_view"]

_ATTRIBUTES = ("id", *CONTACT_ATTRIBUTES)


def contact_view(
    *, uow: UnitOfWork, scoring: ScoringModel, ref: str, now: datetime
) -> dict[str, Any]:
    """The contact ``ref`` (id, email or external id) as a JSON-ready mapping."""
    found = living_contact(uow, ref)
    contact, contact_id = found.contact, found.contact.id
    assert contact_id is not None
    card = score_card(scoring, contact, found.state, now)
    history = uow.contacts.stage_history(contact_id)
    return {
        "contact": {name: getattr(contact, name) for name in _ATTRIBUTES},
        "consent": {
            "email": contact.consent.email_basis if contact.consent.email else "none",
            "sms": contact.consent.sms_basis if contact.consent.sms else "none",
        },
        "custom": contact.custom,
        "stage": contact.stage.value,
        "stage_since": iso(found.stage_changed_at),
        "stage_history": [
            {
                "from": change.from_stage.value,
                "to": change.to_stage.value,
                "reason": change.reason,
                "event": change.event,
                "at": iso(change.at),
            }
            for change in history
        ],
        "score": {
            "score": card.score,
            "fit": card.fit,
            "interest": card.interest,
            "as_of": iso(now),
            "contributions": [
                {"part": c.part, "rule": c.rule, "points": round(c.points, 2), "detail": c.detail}
                for c in card.contributions
            ],
        },
        "temperature": card.temperature.value,
        "deal_band": scoring.deal_bands.of(contact.deal_value).value,
        "bant": contact.bant.as_dict(),
        "bant_missing_for_prospect": contact.bant.missing(
            list(scoring.stages.prospect.require_bant)
        ),
        "last_interest_at": iso(contact.last_interest_at),
        "enrollments": [
            {
                "id": e.id,
                "sequence": e.sequence_id,
                "version": e.version,
                "status": e.shown_status,
                "step": e.step_index,
                "next_due_at": iso(e.next_due_at),
                "enrolled_at": iso(e.enrolled_at),
            }
            for e in uow.enrollments.for_contact(contact_id)
        ],
        "timeline": _timeline(uow, contact_id),
    }


def _timeline(uow: UnitOfWork, contact_id: int) -> list[dict[str, Any]]:
    """Touches, events, decisions and stage changes, newest first."""
    items: list[dict[str, Any]] = []
    for touch in uow.touches.for_contact(contact_id):
        detail = touch.subject or touch.reason or ""
        items.append(
            {
                "at": touch.deliver_at,
                "kind": f"touch {touch.status}",
                "what": f"{touch.channel} {touch.sequence_id}/{touch.step_id}",
                "detail": detail,
            }
        )
    for event in uow.events.for_contact(contact_id):
        items.append(
            {
                "at": event.occurred_at,
                "kind": "event",
                "what": event.type,
                "detail": f"{event.provider} {event.status}",
            }
        )
    for entry in uow.journal.for_contact(contact_id):
        items.append({"at": entry.at, "kind": entry.kind, "what": "", "detail": entry.reason})
    items.sort(key=lambda item: item["at"], reverse=True)
    return [{**item, "at": iso(item["at"])} for item in items[:200]]
