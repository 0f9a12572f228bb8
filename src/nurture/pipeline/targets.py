"""Whom each inbound event is about: its touch, its contact, and whether that person was
forgotten (then the event is refused and emptied of what it said, so that nothing of the
person comes back through a late event or a reply)."""

from __future__ import annotations

from collections import defaultdict

from nurture.domain.events import StoredEvent
from nurture.domain.scoring import ScoredContact
from nurture.domain.touches import Touch
from nurture.limits import db_id
from nurture.pipeline.lifecycle import RunContext
from nurture.ports import UnitOfWork

__all__ = ["contacts_of", "refuse_forgotten", "touches_of"]


def refuse_forgotten(
    uow: UnitOfWork,
    rows: list[StoredEvent],
    targets: dict[int, int],
    people: dict[int, ScoredContact],
    ctx: RunContext,
) -> dict[int, str]:
    """Events about a forgotten person → why they are refused. They are emptied (payload
    and address) and stay as a count. A forgotten contact is recognised by its row (an
    event about one of its touches), or by the keyed hash of the event's address."""
    refused: dict[int, str] = {}
    for row in rows:
        person = people.get(targets.get(row.id, 0))
        if person is not None and person.contact.forgotten_at is not None:
            day = person.contact.forgotten_at.date().isoformat()
            refused[row.id] = f"refused: contact {person.contact.id} was forgotten on {day}"
    keys = ctx.erasure
    unknown = [r for r in rows if r.id not in targets and r.address and r.id not in refused]
    if keys is not None and unknown:
        candidates = {
            r.id: keys.person_candidates(email=r.address)
            if "@" in (r.address or "")
            else keys.person_candidates(phone=r.address)
            for r in unknown
        }
        found = uow.privacy.forgotten([d for ds in candidates.values() for d in ds])
        for event_id, digests in candidates.items():
            since = next((found[d] for d in digests if d in found), None)
            if since is not None:
                day = since.date().isoformat()
                refused[event_id] = f"refused: the person at this address was forgotten on {day}"
    if refused:
        uow.events.scrub(list(refused))
    return refused


def touches_of(uow: UnitOfWork, rows: list[StoredEvent]) -> dict[int, Touch]:
    out = {}
    for row in rows:
        touch = None
        message_id = row.message_id
        touch_id = db_id(row.touch_id)
        if touch_id is not None:
            touch = uow.touches.get(touch_id)
        elif message_id:
            touch = uow.touches.by_provider_id(message_id)
        if touch is not None:
            out[row.id] = touch
    return out


def contacts_of(
    uow: UnitOfWork, rows: list[StoredEvent], touches: dict[int, Touch]
) -> dict[int, int]:
    """Event id → contact id, from the event, its touch, or its address."""
    out: dict[int, int] = {}
    lookups: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.contact_id:
            out[row.id] = row.contact_id
        elif row.id in touches:
            out[row.id] = touches[row.id].contact_id
        elif row.address:
            lookups[row.address].append(row.id)
    if lookups:
        refs = list(lookups)
        found = uow.contacts.resolve_refs(refs)
        for ref, event_ids in lookups.items():
            if ref in found:
                for event_id in event_ids:
                    out[event_id] = found[ref]
    return out
