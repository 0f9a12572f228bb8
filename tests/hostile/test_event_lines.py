"""Hostile event lines (generic JSONL, Twilio callbacks, SendGrid arrays): each bad line
or event is refused with its place and reason, and every good one around it is kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from nurture.domain.events import EventType
from nurture.inbound import read_event_file, sendgrid_events

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GOOD = {
    "id": "good-1",
    "type": "form_fill",
    "contact": "anne@ok.fr",
    "occurred_at": "2026-03-02T07:30:00+00:00",
}


def _line(**changes: object) -> str:
    item = {**GOOD, "id": "bad"} | changes
    return json.dumps({k: v for k, v in item.items() if v is not ...})


# (case, the bad line, what the refusal must say)
LINE_CASES: list[tuple[str, str, str]] = [
    ("not-json", "this is not json", "not JSON"),
    ("json-array", "[1, 2, 3]", "must be a JSON object"),
    ("json-string", '"hello"', "must be a JSON object"),
    ("deep-nesting", "[" * 100_000 + "]" * 100_000, "JSON"),
    ("missing-id", _line(id=...), "missing id"),
    ("missing-type", _line(type=...), "missing type"),
    ("missing-contact", _line(contact=...), "missing contact"),
    ("missing-date", _line(occurred_at=...), "missing occurred_at"),
    ("unknown-type", _line(type="telepathy"), "unknown type 'telepathy'"),
    ("type-not-text", _line(type=["form_fill"]), "unknown type"),
    ("data-string", _line(data="not an object"), "data: must be a JSON object"),
    ("data-list", _line(data=[1, 2]), "data: must be a JSON object"),
    ("bant-capitalised", _line(data={"bant": {"Budget": "50k"}}), "unknown fact 'Budget'"),
    ("bant-unknown", _line(data={"bant": {"salary": "1"}}), "unknown fact 'salary'"),
    ("bant-not-object", _line(data={"bant": "need"}), "data.bant: must be an object"),
    ("bant-nested", _line(data={"bant": {"need": {"a": 1}}}), "data.bant.need"),
    ("bant-huge", _line(data={"bant": {"need": "n" * 10_000}}), "longer than 500"),
    ("date-year-9999", _line(occurred_at="9999-12-31T00:00:00"), "outside the years 1900-2200"),
    ("date-year-1", _line(occurred_at="0001-01-01T00:00:00"), "outside the years"),
    ("date-words", _line(occurred_at="yesterday"), "not ISO 8601"),
    ("date-number", _line(occurred_at=1700000000), "not an ISO 8601"),
    ("touch-huge", _line(touch_id=10**30), "touch_id"),
    ("touch-negative", _line(touch_id=-4), "touch_id"),
    ("touch-words", _line(touch_id="first"), "touch_id"),
    ("id-object", _line(id={"a": 1}), "id: must be a text or a number"),
    ("id-huge", _line(id="x" * 500), "id: must be 1 to 200 characters"),
    ("contact-object", _line(contact={"email": "a@b.fr"}), "contact: must be a text"),
    ("contact-bool", _line(contact=True), "contact: must be a text"),
    ("source-long", _line(source="a-provider-name-far-too-long"), "source"),
    ("source-markup", _line(source="[/b]"), "source"),
    ("twilio-status-without-sid", json.dumps({"MessageStatus": "delivered"}), "MessageSid"),
    (
        "twilio-inbound-without-sid",
        json.dumps({"Body": "STOP", "From": "+33612345678"}),
        "MessageSid",
    ),
]


@pytest.mark.parametrize(
    ("line", "reason"), [pytest.param(line, r, id=case) for case, line, r in LINE_CASES]
)
def test_a_bad_event_line_is_refused_and_the_lines_around_it_are_kept(
    line: str, reason: str
) -> None:
    text = "\n".join([json.dumps(GOOD), line, json.dumps({**GOOD, "id": "good-2"})]) + "\n"
    events, errors = read_event_file(text, source="events.jsonl", now=NOW)
    assert [e.provider_event_id for e in events] == ["good-1", "good-2"]
    assert len(errors) == 1
    assert str(errors[0]).startswith("events.jsonl:2"), errors[0]
    assert reason in str(errors[0]), errors[0]
    assert "{'" not in str(errors[0])


def test_nul_bytes_are_dropped_from_what_is_stored() -> None:
    text = json.dumps({**GOOD, "data": {"note": "a\u0000b"}, "contact": "anne\u0000@ok.fr"})
    [event], errors = read_event_file(text, source="e", now=NOW)
    assert not errors
    assert event.payload["data"]["note"] == "ab"
    assert "\x00" not in (event.address or "")


STAMP = int(NOW.timestamp())
SENDGRID_CASES: list[tuple[str, object, str]] = [
    ("not-an-object", "open", "must be a JSON object"),
    ("no-event-id", {"event": "open", "timestamp": STAMP}, "sg_event_id"),
    ("no-timestamp", {"event": "open", "sg_event_id": "x"}, "timestamp"),
    ("timestamp-text", {"event": "open", "sg_event_id": "x", "timestamp": "now"}, "timestamp"),
    ("timestamp-bool", {"event": "open", "sg_event_id": "x", "timestamp": True}, "timestamp"),
    (
        "timestamp-far",
        {"event": "open", "sg_event_id": "x", "timestamp": 253402300799},
        "outside the years",
    ),
    ("timestamp-huge", {"event": "open", "sg_event_id": "x", "timestamp": 1e300}, "not a moment"),
    (
        "event-id-object",
        {"event": "open", "sg_event_id": {"a": 1}, "timestamp": STAMP},
        "sg_event_id",
    ),
    ("event-not-text", {"event": 5, "sg_event_id": "x", "timestamp": STAMP}, "event"),
]


@pytest.mark.parametrize(
    ("item", "reason"), [pytest.param(i, r, id=case) for case, i, r in SENDGRID_CASES]
)
def test_a_bad_sendgrid_event_is_refused_and_its_batch_is_kept(item: object, reason: str) -> None:
    good = {"event": "open", "sg_event_id": "g1", "timestamp": STAMP, "email": "a@b.fr"}
    events, errors = sendgrid_events(json.dumps([good, item, {**good, "sg_event_id": "g2"}]))
    assert [e.provider_event_id for e in events] == ["g1", "g2"]
    assert len(errors) == 1
    assert "event 2" in str(errors[0])
    assert reason in str(errors[0]), errors[0]


def test_out_of_range_ids_in_a_sendgrid_event_name_nothing() -> None:
    item = {
        "event": "unsubscribe",
        "sg_event_id": "u1",
        "timestamp": STAMP,
        "email": "A@B.FR",
        "touch_id": str(10**30),
        "contact_id": "²",
    }
    [event], errors = sendgrid_events(json.dumps([item]))
    assert not errors
    assert (event.type, event.touch_id, event.contact_id) == (EventType.UNSUBSCRIBE, None, None)
    assert event.address == "a@b.fr"  # the opt-out still reaches the address
