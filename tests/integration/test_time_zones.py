"""One run at 08:00 in Paris serves every time zone: each touch lands inside its contact's
own window, never on their weekend or public holiday, and an opt-out before delivery stops
it. Daylight-saving changes in both hemispheres are covered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import call_tasks, contacts, touches
from nurture.adapters.holidays import holiday_check
from nurture.orchestration import phases
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import a_day_of_runs, run_once

WORLD = (
    "external_id,email,first_name,company,country,timezone,language,phone,consent_sms\n"
    "paris,paris@world.example,Louise,Lumière,FR,Europe/Paris,fr,06 12 34 56 78,yes\n"
    "ny,ny@world.example,Nick,Hudson,US,America/New_York,en,+1 212 555 0100,yes\n"
    "mtl,mtl@world.example,Maude,Érable,CA,America/Montreal,fr,+1 514 555 0123,yes\n"
    "tokyo,tokyo@world.example,Kenji,Sakura,JP,Asia/Tokyo,en,+81 90 1234 5678,yes\n"
    "sydney,sydney@world.example,Grace,Harbour,AU,Australia/Sydney,en,+61 412 345 678,yes\n"
)
SEQUENCE = """\
id: world-tour
name: Every channel, every day
version: 1
audience: {stages: [contact, lead], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 1, warm: 1, hot: 1}
  deal_size: {small: 1, medium: 1, large: 1}
send_window:
  days: [mon, tue, wed, thu, fri]
  hours: "09:00-18:00"
  timezone: contact
  holidays: contact
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: sms-1, channel: sms, template: sms/meeting-nudge}
  - {id: call-1, channel: call, script: calls/discovery}
  - {id: email-2, channel: email, template: emails/break-up}
  - {id: sms-2, channel: sms, template: sms/demo-reminder}
  - {id: call-2, channel: call, script: calls/follow-up}
  - {id: email-3, channel: email, template: emails/still-relevant}
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def world(live: Live, tmp_path: Path) -> Live:
    (live.app.project_dir / "sequences" / "world-tour.yaml").write_text(SEQUENCE, encoding="utf-8")
    live.app.settings.run.max_touches_per_week = 7  # the subject here is time, not pressure
    return live


def start(world: Live, tmp_path: Path, day: date) -> None:
    early = world.at(datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC))
    import_people(early, tmp_path, WORLD)
    enroll_all(early, "world-tour")


def delivered(world: Live) -> list[dict[str, Any]]:
    """Every touch that went out, with its contact's zone and country."""
    query = (
        sa.select(
            touches.c.channel,
            touches.c.sent_at,
            touches.c.deliver_at,
            touches.c.step_id,
            contacts.c.timezone,
            contacts.c.country,
            contacts.c.external_id,
        )
        .join(contacts, contacts.c.id == touches.c.contact_id)
        .where(touches.c.status == "sent")
    )
    with world.app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def assert_inside_windows(rows: list[dict[str, Any]]) -> None:
    assert rows
    for row in rows:
        local = row["sent_at"].astimezone(ZoneInfo(row["timezone"]))
        where = f"{row['external_id']} {row['step_id']} at {local.isoformat()}"
        assert 9 <= local.hour < 18, where
        assert local.weekday() < 5, where
        assert not holiday_check(row["country"])(local.date()), where
        assert row["sent_at"] >= row["deliver_at"], where  # never before its time


@pytest.mark.parametrize(
    "first_day",
    [
        # Paris springs forward on 29 March, Sydney falls back on 5 April; Good Friday
        # (3 April: Canada, Australia) and Easter Monday (6 April: France, Australia).
        date(2026, 3, 30),
        # Sydney springs forward on 4 October; Paris falls back on 25 October and New York
        # on 1 November; Canadian Thanksgiving on 12 October.
        date(2026, 10, 1),
        date(2026, 10, 22),
    ],
)
def test_every_touch_lands_inside_the_contacts_own_window(
    world: Live, tmp_path: Path, first_day: date
) -> None:
    start(world, tmp_path, first_day)
    for offset in range(12):
        a_day_of_runs(world.at, first_day + timedelta(days=offset), every=timedelta(minutes=30))
    rows = delivered(world)
    assert_inside_windows(rows)
    channels = {(row["external_id"], row["channel"]) for row in rows}
    for contact in ("paris", "ny", "mtl", "tokyo", "sydney"):
        assert {(contact, c) for c in ("email", "sms", "call")} <= channels
    with world.app.engine.connect() as connection:
        tasks = connection.execute(
            sa.select(call_tasks.c.due_at, contacts.c.timezone).join(
                contacts, contacts.c.id == call_tasks.c.contact_id
            )
        ).all()
    for due_at, zone in tasks:  # a call task is due inside the window too
        assert 9 <= due_at.astimezone(ZoneInfo(zone)).hour < 18


def test_the_paris_run_schedules_each_zone_for_its_own_morning(world: Live, tmp_path: Path) -> None:
    monday = date(2026, 3, 2)
    start(world, tmp_path, monday)
    summary = run_once(world.at(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)))  # 08:00 in Paris
    delivery = summary["delivery"]
    # Tokyo is mid-afternoon: now. Paris 09:00 = 08:00Z; Sydney Tuesday 09:00 = 22:00Z;
    # New York and Montreal 09:00 = 14:00Z.
    assert delivery["delivered_now"] == 1
    # Read in the project's time zone (Paris), with its offset.
    assert delivery["scheduled_later_today_by_hour"] == {
        "09:00+01:00": 1,
        "15:00+01:00": 2,
        "23:00+01:00": 1,
    }
    # What a dispatch run publishes as still scheduled says the same.
    assert phases.still_scheduled(world.app) == delivery["scheduled_later_today_by_hour"]


def test_an_opt_out_between_planning_and_delivery_stops_the_touch(
    world: Live, tmp_path: Path
) -> None:
    monday = date(2026, 3, 2)
    start(world, tmp_path, monday)
    run_once(world.at(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)))  # New York planned for 14:00Z
    with world.app.engine.connect() as connection:
        touch_id = connection.execute(
            sa.select(touches.c.id).where(touches.c.address == "ny@world.example")
        ).scalar_one()
    url = world.app.sender.unsubscribe_url(contact_id=2, touch_id=touch_id)
    assert httpx.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    a_day_of_runs(world.at, monday, every=timedelta(minutes=30))
    assert "ny@world.example" not in [m.to for m in world.sendgrid.delivered()]
    with world.app.engine.connect() as connection:
        status, reason = connection.execute(
            sa.select(touches.c.status, touches.c.reason).where(touches.c.id == touch_id)
        ).one()
    assert (status, reason) == ("cancelled", "opted out: unsubscribe")


def test_a_late_release_waits_for_the_next_opening(world: Live, tmp_path: Path) -> None:
    monday = date(2026, 3, 2)
    start(world, tmp_path, monday)
    run_once(world.at(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)))
    # No dispatch ran all day (an outage): at 18:30 in Paris the window is closed.
    late = run_once(world.at(datetime(2026, 3, 2, 17, 30, tzinfo=UTC)))
    assert late["execute"]["rescheduled_window_closed"] >= 1
    assert "paris@world.example" not in [m.to for m in world.sendgrid.delivered()]
    a_day_of_runs(world.at, monday + timedelta(days=1), every=timedelta(minutes=30))
    assert_inside_windows(delivered(world))
