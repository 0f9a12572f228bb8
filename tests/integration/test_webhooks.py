"""Signed webhooks from the stand-ins, one-click unsubscribe, and absolute suppression."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import (
    contacts,
    enrollments,
    events,
    score_events,
    suppressions,
    touches,
)
from tests.conftest import NOW
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def sent(live: Live, tmp_path: Path) -> Live:
    """Jean and Alice enrolled; the first email went out."""
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    run_once(live.app)
    return live


def count(live: Live, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with live.app.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(connection.execute(query).scalar_one())


def contact(live: Live, email: str) -> dict:
    with live.app.engine.connect() as connection:
        return dict(
            connection.execute(sa.select(contacts).where(contacts.c.email == email))
            .mappings()
            .one()
        )


def message_to(live: Live, address: str):  # type: ignore[no-untyped-def]
    return next(m for m in live.sendgrid.delivered() if m.to == address)


def stamp() -> int:
    """Signatures carry the moment of the app's (fixed) clock, as a live sender's would."""
    return int(NOW.timestamp())


def test_concurrent_posts_about_the_same_people_apply_each_event_once(sent: Live) -> None:
    # Several posts at once about the same two contacts: on SQLite they take turns to
    # write; each event is stored and applied once, and scored once.
    jean, alice = message_to(sent, "jean@acme.fr"), message_to(sent, "alice@globex.com")
    posts = [
        sent.sendgrid.event_request(
            [
                sent.sendgrid.event(person, kind, timestamp=stamp())
                for person in (jean, alice)
                for kind in ("delivered", "open", "open", "click")
            ],
            timestamp=stamp(),
        )
        for _ in range(8)
    ]
    url = f"{sent.webhook_url}/webhooks/sendgrid"
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda post: httpx.post(url, content=post[0], headers=post[1]), posts)
        )
    assert [answer.status_code for answer in answers] == [200] * 8
    assert sum(answer.json()["new"] for answer in answers) == 64
    assert sum(answer.json()["applied"] for answer in answers) == 64
    assert count(sent, events, events.c.status == "applied") == 64
    with sent.app.engine.connect() as connection:
        doubled = connection.execute(
            sa.select(score_events.c.event_id)
            .group_by(score_events.c.event_id)
            .having(sa.func.count() > 1)
        ).all()
        clicks = connection.execute(
            sa.select(sa.func.count())
            .select_from(score_events)
            .where(score_events.c.event_type == "email_click")
        ).scalar_one()
    assert doubled == []
    assert clicks == 16  # every click of every post scored, once


def test_signed_sendgrid_events_are_stored_once_and_scored(sent: Live) -> None:
    jean = message_to(sent, "jean@acme.fr")
    batch = [
        sent.sendgrid.event(jean, "delivered", timestamp=stamp()),
        sent.sendgrid.event(jean, "open", timestamp=stamp()),
        sent.sendgrid.event(jean, "click", timestamp=stamp()),
    ]
    body, headers = sent.sendgrid.event_request(batch, timestamp=stamp())
    url = f"{sent.webhook_url}/webhooks/sendgrid"
    first = httpx.post(url, content=body, headers=headers)
    assert first.status_code == 200
    assert first.json() == {
        "received": 3,
        "new": 3,
        "duplicates": 0,
        "quarantined": 0,
        "applied": 3,
        "failed": 0,
    }
    again = httpx.post(url, content=body, headers=headers)  # SendGrid retries: same ids
    assert again.json()["new"] == 0
    assert count(sent, events) == 3
    row = contact(sent, "jean@acme.fr")
    assert row["stage"] == "lead"  # a click is a first sign of interest
    assert row["interest"] == 6  # open 1 + click 5
    assert row["last_interest_at"] == NOW


@pytest.mark.parametrize(
    ("tamper", "status", "why"),
    [
        ("signature", 403, "signature does not match"),
        ("timestamp", 403, "replay window"),
        ("missing", 403, "missing signature"),
    ],
)
def test_unverified_sendgrid_requests_are_refused_and_nothing_is_stored(
    sent: Live, tamper: str, status: int, why: str
) -> None:
    jean = message_to(sent, "jean@acme.fr")
    old = stamp() - 3600 if tamper == "timestamp" else stamp()
    body, headers = sent.sendgrid.event_request([sent.sendgrid.event(jean, "open")], timestamp=old)
    if tamper == "signature":
        body = body.replace(b"open", b"click")
    if tamper == "missing":
        headers = {"Content-Type": "application/json"}
    response = httpx.post(f"{sent.webhook_url}/webhooks/sendgrid", content=body, headers=headers)
    assert (response.status_code, why in response.text) == (status, True)
    assert count(sent, events) == 0


def test_a_malformed_body_gets_400_with_the_reason(sent: Live) -> None:
    body = json.dumps([{"event": "open", "timestamp": stamp()}]).encode()
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": sent.sendgrid.sign(body, str(stamp())),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(stamp()),
    }
    response = httpx.post(f"{sent.webhook_url}/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 400
    assert "event 1" in response.text
    assert "sg_event_id" in response.text
    assert count(sent, events) == 0


def test_a_hard_bounce_suppresses_the_address_and_ends_every_sequence(sent: Live) -> None:
    enroll_all(sent.app, "nurture-12-months", where="contact.email == 'jean@acme.fr'")
    jean = message_to(sent, "jean@acme.fr")
    response = sent.sendgrid.post_events(
        f"{sent.webhook_url}/webhooks/sendgrid",
        [sent.sendgrid.event(jean, "bounce", timestamp=stamp())],
        timestamp=stamp(),
    )
    assert response.status_code == 200
    assert (
        count(
            sent,
            suppressions,
            suppressions.c.address == "jean@acme.fr",
            suppressions.c.reason == "hard bounce",
        )
        == 1
    )
    row = contact(sent, "jean@acme.fr")
    assert (
        count(
            sent,
            enrollments,
            enrollments.c.contact_id == row["id"],
            enrollments.c.status == "active",
        )
        == 0
    )
    assert (
        count(
            sent,
            enrollments,
            enrollments.c.contact_id == row["id"],
            enrollments.c.exit_reason == "bounced",
        )
        == 2
    )


def test_one_click_unsubscribe_stops_everything_on_every_sequence(sent: Live) -> None:
    enroll_all(sent.app, "nurture-12-months", where="contact.email == 'alice@globex.com'")
    alice = message_to(sent, "alice@globex.com")
    url = alice.headers["List-Unsubscribe"].split(", ")[0].strip("<>")
    page = httpx.get(url)
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert count(sent, suppressions) == 0  # a GET (a link scanner) unsubscribes nobody
    done = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert (
        count(
            sent,
            suppressions,
            suppressions.c.address == "alice@globex.com",
            suppressions.c.reason == "unsubscribe",
        )
        == 1
    )
    sent.sendgrid.reset()
    for day in range(1, 10):
        run_once(sent.at(NOW + timedelta(days=day)))
    assert [m.to for m in sent.sendgrid.delivered()].count("alice@globex.com") == 0
    assert "jean@acme.fr" in [m.to for m in sent.sendgrid.delivered()]
    enroll = enroll_all(sent.app, "cold-outbound", where="contact.email == 'alice@globex.com'")
    assert enroll == []  # and nobody enrolls her again


def test_twilio_callbacks_are_verified_and_matched_to_their_touch(sent: Live) -> None:
    run_once(sent.at(NOW + timedelta(days=1)))
    [sms] = sent.twilio.delivered()
    url = f"{sent.webhook_url}/webhooks/twilio/status"
    assert sent.twilio.post_status(url, sms, "delivered").status_code == 200
    [event] = [e for e in _events(sent) if e["type"] == "sms_delivered"]
    with sent.app.engine.connect() as connection:
        touch_id = connection.execute(
            sa.select(touches.c.id).where(touches.c.provider_message_id == sms.sid)
        ).scalar_one()
    assert event["touch_id"] == touch_id
    forged = httpx.post(
        url,
        data={"MessageSid": sms.sid, "MessageStatus": "failed"},
        headers={"X-Twilio-Signature": "bm9wZQ=="},
    )
    assert forged.status_code == 403
    assert len([e for e in _events(sent) if e["type"] == "sms_failed"]) == 0


def test_error_21610_suppresses_the_number(sent: Live) -> None:
    run_once(sent.at(NOW + timedelta(days=1)))
    [sms] = sent.twilio.delivered()
    response = sent.twilio.post_status(
        f"{sent.webhook_url}/webhooks/twilio/status", sms, "undelivered", error_code=21610
    )
    assert response.status_code == 200
    assert (
        count(
            sent,
            suppressions,
            suppressions.c.channel == "sms",
            suppressions.c.address == "+33612345678",
        )
        == 1
    )


def test_stop_start_and_replies_by_sms(sent: Live) -> None:
    url = f"{sent.webhook_url}/webhooks/twilio/inbound"
    stop = sent.twilio.post_inbound(url, from_="+33612345678", body="Stop")
    assert stop.status_code == 200
    assert "<Response>" in stop.text
    active = (suppressions.c.channel == "sms", suppressions.c.active.is_(True))
    assert count(sent, suppressions, *active) == 1
    run_once(sent.at(NOW + timedelta(days=1)))
    assert sent.twilio.delivered() == []  # Jean's SMS step is skipped: he said STOP
    sent.twilio.post_inbound(url, from_="+33612345678", body="START")
    assert count(sent, suppressions, *active) == 0
    sent.twilio.post_inbound(url, from_="+33612345678", body="Rappelez-moi jeudi svp")
    jean = contact(sent, "jean@acme.fr")
    assert (
        count(
            sent,
            enrollments,
            enrollments.c.contact_id == jean["id"],
            enrollments.c.exit_reason == "replied",
        )
        == 1
    )


def test_events_ingest_from_a_file_uses_the_same_deduplication(sent: Live, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nurture.cli import app as cli

    jean = message_to(sent, "jean@acme.fr")
    backfill = [
        sent.sendgrid.event(jean, "open", timestamp=stamp()),
        sent.sendgrid.event(jean, "click", timestamp=stamp()),
    ]
    sent.sendgrid.post_events(
        f"{sent.webhook_url}/webhooks/sendgrid", backfill[:1], timestamp=stamp()
    )
    path = tmp_path / "events.json"
    path.write_text(json.dumps(backfill), encoding="utf-8")
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        '{"id": "form-1", "type": "form_fill", "contact": "alice@globex.com", '
        '"occurred_at": "2026-03-02T07:30:00+00:00", "data": {"form": "contact"}}\n'
        "this is not json\n"
        '{"id": "x", "type": "telepathy", "contact": "a@b.fr", "occurred_at": "2026-03-02"}\n',
        encoding="utf-8",
    )
    env = {
        "NURTURE_DATABASE_URL": sent.app.settings.database.database_url,
        "NURTURE_PROJECT_DIR": str(sent.app.project_dir),
    }
    result = CliRunner().invoke(cli, ["events", "ingest", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"] == 1  # the open came by webhook already
    result = CliRunner().invoke(cli, ["events", "ingest", str(lines)], env=env)
    assert result.exit_code == 3
    assert f"{lines}:2: not JSON" in result.stderr
    assert f"{lines}:3: unknown type 'telepathy'" in result.stderr
    assert contact(sent, "alice@globex.com")["stage"] == "lead"  # the form fill was applied


def _events(live: Live) -> list[dict]:
    with live.app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(events)).mappings()]
