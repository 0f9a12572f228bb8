"""Every channel through the real SDKs against the stand-in servers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import call_tasks, enrollments, events, touches
from nurture.bootstrap import bootstrap
from nurture.commands.calls import log_call
from nurture.errors import ConfigurationError
from nurture.settings import EmailSettings, Settings, SmsSettings
from tests.conftest import NOW
from tests.support.live import TWILIO_FROM, Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # these tests run on SQLite only
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def enrolled(live: Live, tmp_path: Path) -> Live:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    return live


def rows(live: Live, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict]:
    with live.app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(table).where(*where)).mappings()]


def test_email_goes_through_sendgrid_with_tracking_and_one_click_unsubscribe(
    enrolled: Live,
) -> None:
    summary = run_once(enrolled.app)
    assert summary["execute"]["sent"] == {"email": 2}
    messages = {m.to: m for m in enrolled.sendgrid.delivered()}
    assert set(messages) == {"jean@acme.fr", "alice@globex.com"}
    jean = messages["jean@acme.fr"]
    sent = {t["address"]: t for t in rows(enrolled, touches, touches.c.status == "sent")}
    touch = sent["jean@acme.fr"]
    assert jean.custom_args == {
        "touch_id": str(touch["id"]),
        "contact_id": str(touch["contact_id"]),
    }
    assert sorted(jean.payload["categories"]) == ["channels-test", "channels-test/email-1"]
    assert touch["provider_message_id"] == jean.message_id
    headers = jean.headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = headers["List-Unsubscribe"].split(", ")
    assert https.startswith(f"<{enrolled.webhook_url}/u/")
    assert mailto.startswith("<mailto:unsubscribe@vigie-cyber.example?subject=unsubscribe")
    unsubscribe_url = https.strip("<>")
    text, html = (c["value"] for c in jean.payload["content"])
    assert unsubscribe_url in text
    assert f'href="{unsubscribe_url}"' in html  # a visible link in the body
    assert jean.payload["subject"] == "Acme : la checklist dont je vous parlais"
    assert messages["alice@globex.com"].payload["subject"] == "Globex: the checklist I mentioned"
    assert jean.payload["from"] == {"email": "bonjour@vigie-cyber.example", "name": "Vigie Cyber"}
    assert jean.payload["reply_to"] == {"email": "camille.martin@vigie-cyber.example"}


def test_sms_only_reaches_contacts_who_agreed(enrolled: Live) -> None:
    run_once(enrolled.app)
    summary = run_once(enrolled.at(NOW + timedelta(days=1)))
    assert summary["execute"]["sent"] == {"sms": 1}
    [sms] = enrolled.twilio.delivered()
    assert sms.to == "+33612345678"
    assert sms.params["From"] == TWILIO_FROM
    assert sms.params["StatusCallback"] == f"{enrolled.webhook_url}/webhooks/twilio/status"
    assert sms.body.startswith("Jean, Camille de Vigie Cyber.")
    skipped = rows(enrolled, touches, touches.c.status == "skipped")
    assert [(t["address"], t["reason"]) for t in skipped] == [
        ("+12125550100", "condition false: contact.consent.sms")
    ]


def test_a_call_step_creates_a_task_and_its_outcome_feeds_scoring_bant_and_exits(
    enrolled: Live,
) -> None:
    for day in range(3):
        run_once(enrolled.at(NOW + timedelta(days=day)))
    tasks = rows(enrolled, call_tasks)
    jean = next(t for t in tasks if t["owner"] == "camille.martin@vigie-cyber.example")
    assert jean["kind"] == "sequence"
    assert jean["title"].startswith("Call Jean Dupont (Acme)")
    assert jean["script"].startswith("# Premier appel")
    assert jean["context"]["phone"] == "+33612345678"
    assert jean["status"] == "open"
    app = enrolled.at(NOW + timedelta(days=2, hours=3))
    with app.uow() as uow:
        result = log_call(
            uow=uow,
            ctx=app.run_context(),
            task_id=jean["id"],
            outcome="meeting_booked",
            bant={"need": "SOC 24/7", "authority": "decision_maker"},
            note="jeudi",
        )
    assert result["bant"]["need"] == "SOC 24/7"
    assert result["exits"] == {"meeting_booked": 1}
    assert result["score"] > 50
    [enrollment] = rows(
        enrolled,
        enrollments,
        enrollments.c.contact_id == jean["contact_id"],
        enrollments.c.sequence_id == "channels-test",
    )
    assert (enrollment["status"], enrollment["exit_reason"]) == ("exited", "meeting_booked")
    [task] = rows(enrolled, call_tasks, call_tasks.c.id == jean["id"])
    assert (task["status"], task["outcome"], task["note"]) == ("done", "meeting_booked", "jeudi")


def test_a_content_drop_carries_a_tracked_link_that_records_the_download(enrolled: Live) -> None:
    for day in range(8):  # Jean's 4th touch waits for his weekly budget (3 per 7 days)
        run_once(enrolled.at(NOW + timedelta(days=day)))
    drops = [
        m
        for m in enrolled.sendgrid.delivered()
        if "channels-test/content-1" in m.payload["categories"]
    ]
    assert len(drops) == 2
    link = next(word for word in drops[0].payload["content"][0]["value"].split() if "/c/" in word)
    response = httpx.get(link, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://vigie-cyber.example/ressources/guide-nis2"
    httpx.get(link, follow_redirects=False)  # a second click is the same download
    downloads = rows(enrolled, events, events.c.type == "content_download")
    assert len(downloads) == 1
    assert downloads[0]["status"] == "applied"
    assert downloads[0]["contact_id"] == int(drops[0].custom_args["contact_id"])


def test_outbox_drivers_write_eml_and_json_files(tmp_path: Path, project_dir: Path) -> None:
    from nurture.settings import DatabaseSettings, ProjectSettings

    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{tmp_path / 'o.db'}"),
        project=ProjectSettings(project_dir=project_dir),
    )
    app = bootstrap(settings, as_of=NOW)
    assert (app.delivery.email.provider, app.delivery.sms.provider) == ("outbox", "outbox")
    import_people(app, tmp_path)
    enroll_all(app, "channels-test")
    run_once(app)
    run_once(bootstrap(settings, as_of=NOW + timedelta(days=1)))
    emails = sorted((project_dir / "outbox" / "email").rglob("*.eml"))
    sms = sorted((project_dir / "outbox" / "sms").rglob("*.json"))
    assert len(emails) == 2
    assert len(sms) == 1
    text = emails[0].read_text(encoding="utf-8")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text
    assert "X-Nurture-Touch:" in text


@pytest.mark.parametrize(
    ("email", "sms", "message"),
    [
        (EmailSettings(email_driver="sendgrid"), SmsSettings(), "needs SENDGRID_API_KEY"),
        (EmailSettings(), SmsSettings(sms_driver="twilio"), "needs TWILIO_ACCOUNT_SID"),
    ],
)
def test_a_driver_asked_for_without_credentials_is_a_start_up_error(
    tmp_path: Path, email: EmailSettings, sms: SmsSettings, message: str
) -> None:
    from nurture.settings import DatabaseSettings

    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{tmp_path / 'x.db'}"),
        email=email,
        sms=sms,
    )
    with pytest.raises(ConfigurationError, match=message):
        bootstrap(settings)
