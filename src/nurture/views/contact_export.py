"""``nurture contact export``: everything nurture holds about one person, for an access
request (GDPR article 15) or a move to another tool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nurture.commands.lookup import find_contact, living_contact
from nurture.domain.audit import AuditEntry
from nurture.domain.contacts import CONTACT_ATTRIBUTES, Consent
from nurture.ports import UnitOfWork
from nurture.views.wording import iso

__all__ = ["audit_row", "audit_trail", "export_contact"]


def export_contact(*, uow: UnitOfWork, ref: str, now: datetime) -> dict[str, Any]:
    """The person ``ref`` (id, email or external id) and all that concerns them,
    JSON-ready. Message bodies are not kept: each touch gives its subject and the
    SHA-256 of what was sent."""
    contact = living_contact(uow, ref).contact
    contact_id = contact.id
    assert contact_id is not None
    return {
        "exported_at": now.isoformat(),
        "contact": {
            "id": contact_id,
            **{name: getattr(contact, name) for name in CONTACT_ATTRIBUTES},
            "custom": contact.custom,
            "bant": contact.bant.as_dict(),
            "stage": contact.stage.value,
            "score": contact.score,
            "temperature": contact.temperature.value,
            "last_interest_at": iso(contact.last_interest_at),
        },
        # Where the attributes came from: the record's source (an import file and row, a
        # form), as the consent history below says for each channel.
        "source": contact.source,
        "consent": _consent(contact.consent),
        "consent_history": [
            {
                "channel": c.channel,
                "basis": c.basis,
                "source": c.source,
                "given_at": iso(c.given_at),
                "recorded_at": iso(c.recorded_at),
            }
            for c in uow.privacy.consents(contact_id)
        ],
        "enrollments": [
            {
                "sequence": e.sequence_id,
                "version": e.version,
                "status": e.shown_status,
                "enrolled_at": iso(e.enrolled_at),
                "ended_at": iso(e.ended_at),
                "reason": e.reason,
            }
            for e in uow.enrollments.for_contact(contact_id)
        ],
        "touches": [
            {
                "sequence": t.sequence_id,
                "step": t.step_id,
                "channel": t.channel,
                "to": t.address,
                "status": t.status.value,
                "deliver_at": iso(t.deliver_at),
                "sent_at": iso(t.sent_at),
                "subject": t.subject,
                "content_sha256": t.content_hash,
                "reason": t.reason,
            }
            for t in uow.touches.for_contact(contact_id, limit=100_000)
        ],
        "events": [
            {
                "type": e.type,
                "occurred_at": iso(e.occurred_at),
                "provider": e.provider,
                "status": e.status.value,
                "data": e.payload,
            }
            for e in uow.events.for_contact(contact_id, limit=100_000)
        ],
        "score_history": [
            {"event": p.event_type, "points": p.points, "at": iso(p.occurred_at)}
            for p in uow.events.score_history(contact_id)
        ],
        "stage_history": [
            {
                "from": c.from_stage.value,
                "to": c.to_stage.value,
                "reason": c.reason,
                "at": iso(c.at),
            }
            for c in uow.contacts.stage_history(contact_id)
        ],
        "call_tasks": [
            {
                "title": t.title,
                "status": t.status.value,
                "outcome": t.outcome,
                "note": t.note,
                "owner": t.owner,
                "due_at": iso(t.due_at),
                "logged_at": iso(t.logged_at),
            }
            for t in uow.tasks.for_contact(contact_id)
        ],
        "suppressions": [
            {
                "channel": s.channel,
                "address": s.address,
                "active": s.active,
                "reason": s.reason,
                "since": iso(s.created_at),
            }
            for s in uow.suppressions.for_addresses([contact.email, contact.phone])
        ],
        "decisions": [
            {"kind": j.kind, "reason": j.reason, "at": iso(j.at)}
            for j in uow.journal.for_contact(contact_id, limit=100_000)
        ],
        "audit": [audit_row(a) for a in uow.privacy.audit_for(contact_id)],
    }


def audit_trail(*, uow: UnitOfWork, ref: str) -> dict[str, Any]:
    """The audit trail of ``ref``; it stays readable after the person was forgotten."""
    found = find_contact(uow, ref)
    contact_id = found.contact.id
    assert contact_id is not None
    return {
        "contact_id": contact_id,
        "forgotten_at": iso(found.contact.forgotten_at),
        "audit": [audit_row(a) for a in uow.privacy.audit_for(contact_id)],
    }


def _consent(consent: Consent) -> dict[str, Any]:
    return {
        "email": {"allowed": consent.email, "basis": consent.email_basis},
        "sms": {"allowed": consent.sms, "basis": consent.sms_basis},
    }


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """One line of the audit trail, JSON-ready."""
    return {
        "at": iso(entry.at),
        "by": entry.actor,
        "what": entry.subject,
        "change": entry.change,
        "why": entry.reason,
    }
