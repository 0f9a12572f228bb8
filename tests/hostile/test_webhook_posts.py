"""Hostile posts to the webhook server: forged, oversized, malformed or mixed with
poison; each gets its status (4xx, or 2xx once the good events are stored) and never
costs a good event."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import events, suppressions
from nurture.tokens import LinkKeys, sign_token
from tests.conftest import NOW
from tests.support.live import Live

STAMP = int(NOW.timestamp())


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def server(live: Live) -> Iterator[Live]:
    return live


def _count(live: Live, *where: sa.ColumnElement[bool]) -> int:
    with live.app.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(events).where(*where)
        return int(connection.execute(query).scalar_one())


def _post(live: Live, body: bytes, *, sign: bool = True, stamp: int = STAMP) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-Twilio-Email-Event-Webhook-Signature"] = live.sendgrid.sign(body, str(stamp))
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = str(stamp)
    return httpx.post(f"{live.webhook_url}/webhooks/sendgrid", content=body, headers=headers)


def _event(event_id: str, **extra: object) -> dict[str, object]:
    return {
        "event": "open",
        "sg_event_id": event_id,
        "timestamp": STAMP,
        "email": "a@ok.fr",
    } | extra


SENDGRID_REFUSALS: list[tuple[str, bytes, dict[str, object], int, str]] = [
    ("unsigned", json.dumps([_event("e1")]).encode(), {"sign": False}, 403, "missing signature"),
    ("stale", json.dumps([_event("e1")]).encode(), {"stamp": STAMP - 3600}, 403, "replay window"),
    ("not-json", b"{{{{", {}, 400, "not JSON"),
    ("object-not-array", b'{"event": "open"}', {}, 400, "JSON array"),
    ("deep-json", b"[" * 50_000 + b"]" * 50_000, {}, 400, "bad request"),
    ("all-events-bad", json.dumps([{"event": "open"}]).encode(), {}, 400, "event 1"),
    ("latin-1", '[{"event": "é"}]'.encode("latin-1"), {}, 400, "not JSON"),
]


@pytest.mark.parametrize(
    ("body", "options", "status", "reason"),
    [pytest.param(b, o, s, r, id=case) for case, b, o, s, r in SENDGRID_REFUSALS],
)
def test_a_refused_sendgrid_post_stores_nothing(
    server: Live, body: bytes, options: dict[str, object], status: int, reason: str
) -> None:
    response = _post(server, body, **options)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert reason in response.text
    assert "Traceback" not in response.text
    assert _count(server) == 0


def test_a_body_over_the_limit_is_refused_from_its_content_length(server: Live) -> None:
    limit = server.app.limits.webhook_body_bytes
    body = b"[" + b" " * limit + b"]"
    response = _post(server, body, sign=False)
    assert response.status_code == 413
    assert _count(server) == 0


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(server: Live) -> None:
    limit = server.app.limits.webhook_body_bytes

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 65_536 + 2):
            yield b" " * 65_536

    response = httpx.post(f"{server.webhook_url}/webhooks/sendgrid", content=chunks())
    assert response.status_code == 413


def test_a_lying_content_length_is_refused(server: Live) -> None:
    host, port = server.webhook_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /webhooks/sendgrid HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n[]"
        )
        answer = connection.recv(4096)
    assert answer.split(b" ")[1] == b"400"


def test_more_events_than_the_limit_in_one_post_is_refused(server: Live) -> None:
    many = [_event(f"e{i}") for i in range(server.app.limits.events_per_post + 1)]
    response = _post(server, json.dumps(many).encode())
    assert response.status_code == 413
    assert _count(server) == 0


def test_a_batch_with_poison_keeps_its_good_events_and_quarantines_the_rest(server: Live) -> None:
    batch = [
        {"event": "unsubscribe", "sg_event_id": "u1", "timestamp": STAMP, "email": "gone@ok.fr"},
        "poison",
        {"event": "open", "sg_event_id": "t", "timestamp": STAMP, "touch_id": str(10**30)},
        {"event": "open", "sg_event_id": "c", "timestamp": STAMP, "contact_id": "999999999"},
        {"event": "open", "timestamp": STAMP},
        {"event": "open", "sg_event_id": "nul", "timestamp": STAMP, "email": "n\u0000@ok.fr"},
    ]
    response = _post(server, json.dumps(batch).encode())
    assert response.status_code == 200, response.text
    assert response.json()["quarantined"] == 2
    assert _count(server, events.c.status == "failed") == 2
    assert _count(server, events.c.status == "unmatched") == 4
    with server.app.engine.connect() as connection:
        suppressed = set(connection.execute(sa.select(suppressions.c.address)).scalars())
    assert "gone@ok.fr" in suppressed  # the opt-out holds for an address nurture never met
    again = _post(server, json.dumps(batch).encode())  # SendGrid retries the same batch
    assert again.status_code == 200
    assert _count(server) == 6


def test_a_twilio_post_for_another_account_is_refused(server: Live) -> None:
    url = f"{server.webhook_url}/webhooks/twilio/inbound"
    params = {"MessageSid": "SM1", "From": "+33612345678", "Body": "STOP", "AccountSid": "ACother"}
    response = server.twilio.post_form(url, params)
    assert response.status_code == 403
    assert "AccountSid" in response.text
    assert _count(server) == 0


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 403, id="twilio-unsigned"),
        pytest.param({"X-Twilio-Signature": "forged"}, 403, id="twilio-forged"),
    ],
)
def test_an_unsigned_or_forged_twilio_post_is_refused(
    server: Live, headers: dict[str, str], status: int
) -> None:
    url = f"{server.webhook_url}/webhooks/twilio/inbound"
    params = {"MessageSid": "SM1", "From": "+33612345678", "Body": "STOP"}
    params["AccountSid"] = server.twilio.account_sid
    response = httpx.post(url, data=params, headers=headers)
    assert response.status_code == status
    assert _count(server) == 0


def test_an_sms_reply_with_nul_and_markup_is_stored_clean(server: Live) -> None:
    url = f"{server.webhook_url}/webhooks/twilio/inbound"
    params = {
        "MessageSid": "SM2",
        "From": "+33612345678",
        "Body": "[/b] hello\u0000 <script>",
        "AccountSid": server.twilio.account_sid,
    }
    assert server.twilio.post_form(url, params).status_code == 200
    with server.app.engine.connect() as connection:
        payload = connection.execute(sa.select(events.c.payload)).scalar_one()
    assert payload["body"] == "[/b] hello <script>"


LINK_CASES: list[tuple[str, str]] = [
    ("placeholder-secret", sign_token("change-me-unsubscribe-secret", "unsubscribe", {"c": 1})),
    ("wrong-purpose", "content"),
    ("unknown-key", LinkKeys("another-secret-of-someone-else").sign("unsubscribe", {"c": 1})),
    ("garbage", "not.a.token.at.all"),
    ("huge", "a" * 5_000),
    ("bad-base64", "abc.%%%%.def"),
    ("json-list", "list"),
]


@pytest.mark.parametrize("token", [pytest.param(t, id=case) for case, t in LINK_CASES])
def test_a_forged_or_broken_link_token_is_refused(server: Live, token: str) -> None:
    keys = server.app.link_keys
    if token == "content":
        token = keys.sign("content", {"c": 1, "t": None, "a": "guide-nis2"})
    elif token == "list":
        token = "x"  # replaced below by a token whose payload is not an object
        body = keys.sign("unsubscribe", {"c": 1}).split(".")
        token = ".".join([body[0], "WzEsMl0", body[2]])
    response = httpx.post(f"{server.webhook_url}/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code in (400, 404), response.text
    assert "Traceback" not in response.text
    assert _count(server) == 0


def test_a_link_signed_with_the_previous_secret_works_until_its_grace_ends() -> None:
    old = LinkKeys("the-old-secret-0123456789")
    token = old.sign("unsubscribe", {"c": 7})
    rotated = LinkKeys(
        "the-new-secret-0123456789",
        previous="the-old-secret-0123456789",
        previous_until=date(2026, 3, 31),
    )
    assert rotated.read("unsubscribe", token, today=date(2026, 3, 31)) == {"c": 7}
    with pytest.raises(Exception, match="retired key"):
        rotated.read("unsubscribe", token, today=date(2026, 4, 1))
    with pytest.raises(Exception, match="does not match"):
        rotated.read("content", token, today=date(2026, 3, 1))


def test_unknown_routes_and_methods_are_plain_4xx(server: Live) -> None:
    assert httpx.get(f"{server.webhook_url}/admin").status_code == 404
    assert httpx.get(f"{server.webhook_url}/webhooks/sendgrid").status_code == 405
