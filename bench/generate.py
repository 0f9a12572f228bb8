"""Generate a benchmark base: N realistic contacts, one enrollment each, about 10% due.

Contacts are drawn from the sample personas (French and English B2B, seven countries),
with unique emails and ids; enrollments are spread across the sample sequences at random
steps. Rows go straight into the database in large batches: this is set-up, not measured.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from nurture.adapters.db.tables import contacts, enrollments
from nurture.bootstrap import App
from nurture.domain.contacts import Bant, Consent, Contact
from nurture.domain.scoring import InterestState, combine, fit_score
from nurture.samples import generate_contacts

__all__ = ["generate"]

_POOL = 4000
_CHUNK = 20_000


def _personas(app: App) -> list[dict[str, Any]]:
    """A pool of scored personas to replicate (scoring a million contacts one by one would
    measure the generator, not the product)."""
    model = app.scoring
    out = []
    for persona in generate_contacts(_POOL, seed=42):
        row = persona.row
        bant = {k.split(".")[1]: v for k, v in row.items() if k.startswith("bant.") and v}
        contact = Contact(
            company=row["company"],
            role=row["role"],
            sector=row["sector"],
            company_size=int(row["company_size"]),
            country=row["country"],
            consent=Consent(sms=row["consent_sms"] == "yes"),
            bant=Bant(**bant),
        )
        fit, parts = fit_score(model, contact)
        card = combine(model, fit, parts, InterestState(), datetime.now().astimezone())
        deal = float(row["deal_value"]) if row["deal_value"] else None
        out.append(
            {
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "company": row["company"],
                "role": row["role"],
                "sector": row["sector"],
                "company_size": int(row["company_size"]),
                "country": row["country"],
                "timezone": row["timezone"],
                "language": row["language"],
                "phone": _e164(row["phone"]),
                "owner": row["owner"],
                "deal_value": deal,
                "consent_email": True,
                "consent_sms": row["consent_sms"] == "yes",
                "custom": {"source": row["custom.source"]},
                "bant": bant,
                "fit": card.fit,
                "interest": 0.0,
                "score": card.score,
                "temperature": card.temperature.value,
                "deal_band": model.deal_bands.of(deal).value,
            }
        )
    return out


def _e164(phone: str) -> str | None:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"+{digits}" if digits else None


def generate(app: App, count: int, *, as_of: datetime, due_share: float = 0.1) -> dict[str, int]:
    """Write ``count`` contacts and enrollments; returns how many are due at ``as_of``."""
    rng = random.Random(1)
    personas = _personas(app)
    sequences = {s.id: s for s in app.project.sequences.values()}
    cold, nurture = sequences["cold-outbound"], sequences["nurture-12-months"]
    with app.uow() as uow:
        for sequence in sequences.values():
            uow.sequences.register(sequence, now=as_of)
        uow.commit()
    due = 0
    with app.engine.begin() as connection:
        next_id = 1 + (connection.execute(sa.select(sa.func.max(contacts.c.id))).scalar() or 0)
    for start in range(0, count, _CHUNK):
        people, joined = [], []
        for offset in range(min(_CHUNK, count - start)):
            number = start + offset
            persona = personas[number % _POOL]
            contact_id = next_id + number
            people.append(
                {
                    **persona,
                    "id": contact_id,
                    "external_id": f"bench-{number:07d}",
                    "email": f"contact{number}@bench-{number % 997}.example",
                    "stage": "contact",
                    "interest_state": {},
                    "rules_pending": False,
                    "pending_events": [],
                    "row_hash": None,
                    "stage_changed_at": as_of,
                    "scored_at": as_of,
                    "created_at": as_of,
                    "updated_at": as_of,
                    "last_interest_at": None,
                }
            )
            sequence = cold if persona["fit"] >= 30 else nurture
            is_due = rng.random() < due_share
            due += is_due
            when = (
                as_of - timedelta(hours=rng.randrange(1, 48))
                if is_due
                else (as_of + timedelta(days=rng.randrange(1, 40)))
            )
            joined.append(
                {
                    "contact_id": contact_id,
                    "sequence_id": sequence.id,
                    "version": sequence.version,
                    "status": "active",
                    "step_index": rng.randrange(0, len(sequence.steps) - 1),
                    "next_due_at": when,
                    "priority": sequence.priority,
                    "enrolled_at": as_of,
                    "reason": "benchmark",
                }
            )
        with app.engine.begin() as connection:
            connection.execute(contacts.insert(), people)
            connection.execute(enrollments.insert(), joined)
    return {"contacts": count, "due": due}
