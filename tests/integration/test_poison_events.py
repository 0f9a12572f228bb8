"""One bad event never blocks the others: it is quarantined with its error, and an
opt-out that arrives after it still stops the email planned for later today."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from nurture.adapters.db.tables import events, suppressions, touches
from nurture.cli import app as cli
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import dispatch_once, run_once

WORLD = (
    "external_id,email,first_name,company,country,timezone,language\n"
    "ny,ny@world.example,Nick,Hudson,US,America/New_York,en\n"
    "paris,paris@world.example,Louise,Lumière,FR,Europe/Paris,fr\n"
)
SEQUENCE = """\
id: one-email
name: One email inside office hours
version: 1
audience: {stages: [contact, lead], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 1, warm: 1, hot: 1}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", timezone: contact}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
exit_on: [replied, unsubscribed]
"""
MONDAY = date(2026, 3, 2)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def planned(live: Live, tmp_path: Path) -> Live:
    """At 08:00 (Paris, 07:00Z) New York's email is planned for 09:00 in New York (14:00Z)."""
    (live.app.project_dir / "sequences" / "one-email.yaml").write_text(SEQUENCE, encoding="utf-8")
    early = live.at(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    import_people(early, tmp_path, WORLD)
    enroll_all(early, "one-email")
    run_once(live.at(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)))
    return live


def _ny_touch(live: Live) -> tuple[int, str, str | None]:
    with live.app.engine.connect() as connection:
        row = connection.execute(
            sa.select(touches.c.id, touches.c.status, touches.c.reason).where(
                touches.c.address == "ny@world.example"
            )
        ).one()
    return row.id, row.status, row.reason


def _poison(live: Live, payload: dict[str, object]) -> None:
    """An event row as an older version (or a bug) could have stored it: it reaches the
    apply step even though the edge would refuse it today."""
    with live.app.engine.begin() as connection:
        connection.execute(
            events.insert().values(
                provider="legacy",
                provider_event_id=f"poison-{len(json.dumps(payload))}",
                type="form_fill",
                address="ny@world.example",
                occurred_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
                received_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
                payload=payload,
                status="pending",
            )
        )


def test_an_unsubscribe_after_a_poison_event_still_cancels_the_planned_email(
    planned: Live, tmp_path: Path
) -> None:
    touch_id, status, _ = _ny_touch(planned)
    assert status == "scheduled"
    # 10:00 (15:00Z): one bad event arrives, stored as it would have been before the edge
    # checked BANT keys, and one through the edge, which refuses it.
    planned.at(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    _poison(planned, {"data": {"bant": {"Budget": "50k"}}})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "b1", "type": "form_fill", "contact": "ny@world.example", '
        '"occurred_at": "2026-03-02T15:00:00+00:00", "data": "not an object"}\n',
        encoding="utf-8",
    )
    env = {
        "NURTURE_DATABASE_URL": planned.app.settings.database.database_url,
        "NURTURE_PROJECT_DIR": str(planned.app.project_dir),
        "NURTURE_UNSUBSCRIBE_SECRET": planned.app.sender.link_secret,
    }
    result = CliRunner().invoke(cli, ["events", "ingest", str(bad)], env=env)
    assert result.exit_code == 3
    assert f"{bad}:1 data: must be a JSON object" in result.stderr or "data: must be" in (
        result.stderr
    )
    # 10:30: the contact unsubscribes through the one-click link.
    planned.at(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))
    url = planned.app.sender.unsubscribe_url(contact_id=1, touch_id=touch_id)
    assert httpx.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    # 15:05 in New York: dispatch sends nothing to them.
    dispatch_once(planned.at(datetime(2026, 3, 2, 20, 5, tzinfo=UTC)))
    assert "ny@world.example" not in [m.to for m in planned.sendgrid.delivered()]
    assert _ny_touch(planned)[1:] == ("cancelled", "opted out: unsubscribe")
    with planned.app.engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.provider, events.c.status, events.c.error).where(
                events.c.status == "failed"
            )
        ).all()
        suppressed = connection.execute(
            sa.select(suppressions.c.address).where(suppressions.c.channel == "email")
        ).scalars()
        assert list(suppressed) == ["ny@world.example"]
    by_provider = {row.provider: row.error for row in rows}
    assert "unknown BANT fact 'Budget'" in by_provider["legacy"]
    assert "data: must be a JSON object" in by_provider["quarantine"]
    listed = CliRunner().invoke(cli, ["events", "list", "--failed", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert {item["provider"] for item in json.loads(listed.stdout)} == {"legacy", "quarantine"}


def test_the_run_applies_every_other_event_and_counts_the_quarantined_one(
    planned: Live,
) -> None:
    planned.at(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    _poison(planned, {"data": {"bant": {"Budget": "50k"}}})
    with planned.app.engine.begin() as connection:
        connection.execute(
            events.insert().values(
                provider="legacy",
                provider_event_id="good-1",
                type="form_fill",
                address="paris@world.example",
                occurred_at=datetime(2026, 3, 2, 15, 1, tzinfo=UTC),
                received_at=datetime(2026, 3, 2, 15, 1, tzinfo=UTC),
                payload={},
                status="pending",
            )
        )
    summary = run_once(planned.at(datetime(2026, 3, 2, 16, 0, tzinfo=UTC)))
    assert summary["ingest"]["failed"] == 1
    assert summary["ingest"]["applied"] == 1
    with planned.app.engine.connect() as connection:
        statuses = dict(
            connection.execute(sa.select(events.c.provider_event_id, events.c.status)).all()
        )
    assert statuses["good-1"] == "applied"
    assert next(v for k, v in statuses.items() if k.startswith("poison")) == "failed"
    # The next run does not try the quarantined event again, and is not blocked by it.
    again = run_once(planned.at(datetime(2026, 3, 2, 17, 0, tzinfo=UTC)))
    assert again["ingest"]["failed"] == 0


def test_a_signed_batch_keeps_its_good_unsubscribe_beside_broken_events(
    planned: Live,
) -> None:
    touch_id, _, _ = _ny_touch(planned)
    stamp = int(datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp())
    planned.at(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    batch = [
        {
            "event": "unsubscribe",
            "email": "ny@world.example",
            "sg_event_id": "good-unsub",
            "timestamp": stamp,
            "touch_id": str(touch_id),
        },
        {"event": "open", "sg_event_id": "gone", "timestamp": stamp, "contact_id": "999999"},
        {"event": "open", "sg_event_id": "huge", "timestamp": stamp, "touch_id": str(10**30)},
        {"event": "open", "sg_event_id": "far", "timestamp": 253402300799, "email": "a@b.fr"},
        {"event": "open", "timestamp": stamp},
    ]
    body, headers = planned.sendgrid.event_request(batch, timestamp=stamp)
    response = httpx.post(f"{planned.webhook_url}/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["new"], result["quarantined"]) == (3, 2)
    assert _ny_touch(planned)[1:] == ("cancelled", "opted out: unsubscribe")
    with planned.app.engine.connect() as connection:
        statuses = dict(
            connection.execute(sa.select(events.c.provider_event_id, events.c.status)).all()
        )
    assert statuses["good-unsub"] == "applied"
    assert statuses["gone"] == "unmatched"
    assert statuses["huge"] == "unmatched"
