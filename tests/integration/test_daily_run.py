"""What the daily run decides: cadence from the temperature of the moment, promotions with
their hand-off, customers, recycling, the pressure budget, catch-up, isolated failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import (
    call_tasks,
    contacts,
    enrollments,
    journal,
    stage_history,
    touches,
)
from nurture.bootstrap import App
from nurture.domain.events import EventType
from nurture.inbound import InboundEvent
from nurture.orchestration import phases
from nurture.pipeline.ingest import store_events
from tests.conftest import NOW
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import a_day_of_runs, run_once

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def select(app: App, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict]:
    with app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(table).where(*where)).mappings()]


def contact_id(app: App, email: str) -> int:
    [row] = select(app, contacts, contacts.c.email == email)
    return int(row["id"])


def give(
    app: App, email: str, *kinds: EventType, at: datetime | None = None, data: dict | None = None
) -> None:
    """Store events about a contact (as the webhook server would); the run applies them."""
    moment = at or app.now()
    events = [
        InboundEvent(
            provider="test",
            provider_event_id=f"{email}:{kind}:{i}:{moment}",
            type=kind,
            occurred_at=moment,
            address=email,
            payload={"data": data or {}},
        )
        for i, kind in enumerate(kinds)
    ]
    with app.uow() as uow:
        store_events(uow=uow, events=events, now=moment)
        uow.commit()


TWINS = (
    "external_id,email,first_name,company,sector,company_size,country,phone,deal_value\n"
    "t1,jean@twins.fr,Jean,Twins,retail,5,FR,06 12 34 56 78,60000\n"
    "t2,bob@twins.fr,Bob,Twins,retail,5,FR,06 12 34 56 79,60000\n"
)


def test_a_contact_that_heats_up_gets_its_next_gap_from_the_new_temperature(
    live: Live, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path, TWINS)  # two cold contacts, large deals
    enroll_all(live.app, "cold-outbound")
    give(
        live.app,
        "jean@twins.fr",
        EventType.FORM_FILL,
        EventType.WEBINAR_ATTENDED,
        EventType.QUOTE_REQUEST,
    )
    run_once(live.app)  # call-1 for both, at 09:00 in Paris; Jean is warm by then
    jean, bob = contact_id(live.app, "jean@twins.fr"), contact_id(live.app, "bob@twins.fr")
    temperatures = {r["id"]: r["temperature"] for r in select(live.app, contacts)}
    assert (temperatures[jean], temperatures[bob]) == ("warm", "cold")
    due = {row["contact_id"]: row["next_due_at"] for row in select(live.app, enrollments)}
    # email-1 (gap 0.5), large deal (× 1.5): warm 1.5 → 1.125 business days, cold 2 → 1.5.
    assert due[jean].astimezone(PARIS) == datetime(2026, 3, 3, 12, 0, tzinfo=PARIS)
    assert due[bob].astimezone(PARIS) == datetime(2026, 3, 4, 9, 0, tzinfo=PARIS)


def test_a_qualified_lead_is_promoted_handed_off_and_enrolled_per_on_exit(
    live: Live, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "cold-outbound")
    give(
        live.app,
        "jean@acme.fr",
        EventType.QUOTE_REQUEST,
        EventType.FORM_FILL,
        data={"bant": {"need": "SOC 24/7 for 3 plants", "authority": "decision_maker"}},
    )
    summary = run_once(live.app)
    jean = contact_id(live.app, "jean@acme.fr")
    history = select(live.app, stage_history, stage_history.c.contact_id == jean)
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [
        ("contact", "lead"),
        ("lead", "prospect"),
    ]
    assert history[1]["reason"] == "score 95 ≥ 70; need and authority known"
    mine = {
        e["sequence_id"]: e for e in select(live.app, enrollments, enrollments.c.contact_id == jean)
    }
    assert (mine["cold-outbound"]["status"], mine["cold-outbound"]["exit_reason"]) == (
        "exited",
        "promoted",
    )
    assert mine["sales-handoff"]["status"] == "active"
    [task] = select(live.app, call_tasks, call_tasks.c.kind == "handoff")
    assert task["owner"] == "camille.martin@vigie-cyber.example"
    assert task["title"].startswith("Hand-off: call Jean Dupont (Acme) — qualified, score 95")
    assert task["due_at"].astimezone(PARIS) == datetime(2026, 3, 3, 9, 0, tzinfo=PARIS)  # SLA 1 day
    assert "Passage de relais" in task["script"]
    assert summary["effects"]["promotions"][0]["contact_id"] == jean
    assert summary["effects"]["handoff_tasks"] == 1
    # The hand-off sequence has priority: its intro email goes today, not a nurture email.
    assert {
        t["sequence_id"]
        for t in select(live.app, touches, touches.c.contact_id == jean, touches.c.status == "sent")
    } == {"sales-handoff"}


def test_only_a_purchase_makes_a_customer_and_it_starts_onboarding(
    live: Live, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "cold-outbound")
    give(live.app, "alice@globex.com", EventType.MEETING_BOOKED, EventType.QUOTE_REQUEST)
    run_once(live.app)
    alice = contact_id(live.app, "alice@globex.com")
    assert select(live.app, contacts, contacts.c.id == alice)[0]["stage"] == "lead"
    give(live.app, "alice@globex.com", EventType.PURCHASE)
    run_once(live.at(NOW + timedelta(days=1)))
    [row] = select(live.app, contacts, contacts.c.id == alice)
    assert row["stage"] == "customer"
    sequences = {
        e["sequence_id"]: e["status"]
        for e in select(live.app, enrollments, enrollments.c.contact_id == alice)
    }
    assert sequences["customer-onboarding"] == "active"


def test_a_prospect_without_interest_for_90_days_is_recycled_into_nurture(
    live: Live, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path)
    give(
        live.app,
        "jean@acme.fr",
        EventType.QUOTE_REQUEST,
        EventType.FORM_FILL,
        data={"bant": {"need": "SOC", "authority": "decision_maker"}},
    )
    run_once(live.app)
    jean = contact_id(live.app, "jean@acme.fr")
    enroll_all(live.app, "hot-prospect", where="contact.email == 'jean@acme.fr'")
    later = live.at(NOW + timedelta(days=92))
    run_once(later)
    [row] = select(live.app, contacts, contacts.c.id == jean)
    assert row["stage"] == "recycled"
    mine = {
        e["sequence_id"]: e for e in select(live.app, enrollments, enrollments.c.contact_id == jean)
    }
    assert mine["hot-prospect"]["exit_reason"] == "recycled"
    assert mine["nurture-12-months"]["status"] == "active"


def _three_sequences(live: Live, tmp_path: Path) -> int:
    import_people(live.app, tmp_path)
    for sequence in ("channels-test", "nurture-12-months", "cold-outbound"):
        enroll_all(live.app, sequence, where="contact.email == 'jean@acme.fr'")
    return contact_id(live.app, "jean@acme.fr")


def test_the_pressure_budget_defers_never_drops(live: Live, tmp_path: Path) -> None:
    jean = _three_sequences(live, tmp_path)
    seen: list[tuple[int, str]] = []
    for day in range(14):
        a_day_of_runs(live.at, (NOW + timedelta(days=day)).date())
    sent = select(live.app, touches, touches.c.contact_id == jean, touches.c.status == "sent")
    by_day: dict[str, int] = {}
    for touch in sent:
        day = touch["deliver_at"].astimezone(PARIS).date().isoformat()
        by_day[day] = by_day.get(day, 0) + 1
        seen.append((touch["deliver_at"].day, touch["sequence_id"]))
    assert max(by_day.values()) == 1  # never more than one touch a day
    times = sorted(t["deliver_at"] for t in sent)
    for index, moment in enumerate(times):
        window = [t for t in times[: index + 1] if t > moment - timedelta(days=7)]
        assert len(window) <= 3  # never more than three in any seven days
    deferred = select(live.app, journal, journal.c.kind == "deferred", journal.c.contact_id == jean)
    assert deferred
    assert deferred[0]["reason"].split(": ", 1)[1].startswith("daily budget: 1 touch(es) already")
    assert {s for _, s in seen} == {"channels-test", "nurture-12-months", "cold-outbound"}


def test_a_missed_week_is_caught_up_without_a_burst(live: Live, tmp_path: Path) -> None:
    jean = _three_sequences(live, tmp_path)
    planned = (touches.c.contact_id == jean, touches.c.status.in_(["sent", "scheduled"]))
    run_once(live.at(NOW + timedelta(days=8)))  # nothing ran for a week
    assert len(select(live.app, touches, *planned)) == 1
    run_once(live.at(NOW + timedelta(days=9)))
    assert len(select(live.app, touches, *planned)) == 2


def test_one_broken_template_fails_that_touch_only(live: Live, tmp_path: Path) -> None:
    broken = live.app.project_dir / "templates" / "emails" / "follow-up-resource.en.subject.j2"
    broken.write_text("{{ contact.company }} {{ contact.nickname.upper() }}", encoding="utf-8")
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    summary = run_once(live.app)
    assert summary["execute"]["sent"] == {"email": 1}
    [failure] = summary["execute"]["failures"]
    assert failure["reason"].startswith("template: emails/follow-up-resource.en.subject.j2")
    alice = contact_id(live.app, "alice@globex.com")
    [enrollment] = select(live.app, enrollments, enrollments.c.contact_id == alice)
    assert enrollment["next_due_at"] is not None  # the sequence moves on to its next step


def test_a_dry_run_sends_nothing_and_changes_nothing(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    before = select(live.app, enrollments)
    result = phases.dry_run(live.app)
    assert result["would_send"] == {"email": 2}
    assert result["sandbox_checked"] == 2
    assert live.sendgrid.delivered() == []  # SendGrid saw them in sandbox mode only
    assert all(m.sandbox for m in live.sendgrid.sent)
    assert select(live.app, touches) == []
    assert select(live.app, enrollments) == before


def test_delivery_times_are_reported_by_hour(live: Live, tmp_path: Path) -> None:
    early = live.at(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))  # 08:00 in Paris
    import_people(early, tmp_path)
    enroll_all(early, "cold-outbound")
    summary = run_once(early)
    delivery = summary["delivery"]
    assert delivery["delivered_now"] == 0
    # Jean in Paris at 09:00 (08:00Z); Alice in New York at 09:00 (14:00Z).
    assert delivery["scheduled_later_today_by_hour"] == {"09:00+01:00": 1, "15:00+01:00": 1}
