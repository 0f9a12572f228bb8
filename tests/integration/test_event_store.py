"""Storing inbound events (``SqlEvents.store``): each provider event once, the count of
new ones right on both engines, and a row the database refuses costs no other."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nurture.adapters.db.events import SqlEvents
from nurture.domain.events import EventStatus, StoredEvent

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _event(n: int, **changes: object) -> StoredEvent:
    event = StoredEvent(
        id=0,
        provider="sendgrid",
        provider_event_id=f"sg-{n}",
        type="email_open",
        occurred_at=AT,
        received_at=AT,
        status=EventStatus.PENDING,
        payload={"n": n},
        address=f"c{n}@durand.example",
    )
    for name, value in changes.items():
        setattr(event, name, value)
    return event


def test_new_events_are_counted_and_seen_ones_skipped(engine: Engine) -> None:
    with engine.begin() as db:
        store = SqlEvents(db)
        assert store.store([_event(n) for n in range(20)]) == (20, [])
        # ten seen before, ten new, and one new event named twice in the batch
        again = [_event(n) for n in range(10, 30)] + [_event(25)]
        assert store.store(again) == (10, [])
        assert store.store([_event(3)]) == (0, [])
        held = db.execute(sa.select(sa.func.count()).select_from(sa.table("events"))).scalar()
    assert held == 30


def test_a_refused_row_is_reported_and_the_others_kept(engine: Engine) -> None:
    batch = [_event(n) for n in range(12)]
    batch[5] = _event(5, type=None)  # NOT NULL
    with engine.begin() as db:
        new, failures = SqlEvents(db).store(batch)
    assert new == 11
    assert [index for index, _ in failures] == [5]
    assert "type" in failures[0][1] or "null" in failures[0][1].lower()
