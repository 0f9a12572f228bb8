"""Privacy that holds up: the lawful basis of each channel, erasure that leaves nothing
of the person and keeps them out, retention, and the append-only audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from nurture.adapters.db.tables import (
    call_tasks,
    consent_history,
    contacts,
    enrollments,
    events,
    metadata,
    suppressions,
    touches,
)
from nurture.cli import app as cli
from nurture.commands.contact_import import import_contacts
from nurture.views.reports import report
from tests.conftest import NOW
from tests.support.env import settings_env
from tests.support.live import INBOUND_SECRET, REPLY_DOMAIN, Live, Providers, live_app
from tests.support.mail import parsed
from tests.support.people import PEOPLE, enroll_all, import_people
from tests.support.run import run_once

BASIS = """\
id: basis
name: An email, then an SMS
version: 1
audience: {stages: [contact, lead, prospect], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 0, warm: 0, hot: 0}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00", holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: sms-1, channel: sms, template: sms/meeting-nudge}
exit_on: [replied, unsubscribed]
"""

#: Jean (professional address, SMS consent), Alice (no SMS consent), Zoé (a private
#: address, nothing recorded) and Paul (a private address who said yes to email).
BASES = (
    "external_id,email,first_name,last_name,country,language,phone,consent_email,consent_sms,"
    "owner\n"
    "c1,jean@acme.fr,Jean,Dupont,FR,fr,06 12 34 56 78,,yes,camille.martin@vigie-cyber.example\n"
    "c2,alice@globex.com,Alice,Smith,US,en,+1 212 555 0100,,no,tom.walker@vigie-cyber.example\n"
    "c3,zoe@gmail.com,Zoé,Martin,FR,fr,,,,camille.martin@vigie-cyber.example\n"
    "c4,paul@gmail.com,Paul,Girard,FR,fr,,yes,,camille.martin@vigie-cyber.example\n"
)
JEAN = ("jean@acme.fr", "Dupont", "+33612345678", "Appelez-moi")


@pytest.fixture
def live(database_url: str, project_dir: Path, providers: Providers) -> Iterator[Live]:
    (project_dir / "sequences" / "basis.yaml").write_text(BASIS, encoding="utf-8")
    with live_app(
        database_url=database_url,
        project_dir=project_dir,
        providers=providers,
        as_of=NOW,
        changes={"email": {"reply_domain": REPLY_DOMAIN}},
    ) as wired:
        yield wired


def rows(live: Live, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
    with live.app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(table).where(*where)).mappings()]


def cli_run(live: Live, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=settings_env(live.app.settings))


def write(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def post_reply(live: Live, *, sender: str, to: str, text: str, message_id: str) -> httpx.Response:
    fields = parsed(sender=sender, to=to, subject="Re: NIS2", text=text, at=NOW,
                    message_id=message_id)  # fmt: skip
    body, headers = live.sendgrid.inbound_request(fields, signed=False)
    url = f"{live.webhook_url}/webhooks/sendgrid/inbound/{INBOUND_SECRET}"
    return httpx.post(url, content=body, headers=headers, timeout=30)


# -- lawful basis ---------------------------------------------------------------------------


def test_consent_columns_record_the_basis_its_date_and_source(live: Live, tmp_path: Path) -> None:
    text = (
        "external_id,email,phone,consent_email,consent_sms,consent_sms_date,source\n"
        "p1,lea@acme.fr,+33611111111,,yes,2026-01-15,salon Cyber 2026\n"
        "p2,lea.perso@gmail.com,,,,,\n"
        "p3,marc@acme.fr,+33622222222,,peut-être,,\n"
        "p4,nina@acme.fr,+33633333333,,legitimate_interest,,\n"
        "p5,omar@acme.fr,,oui,,2026-02-01,\n"
    )
    result = cli_run(live, "contacts", "import", str(write(tmp_path, text)))
    assert result.exit_code == 3, result.output  # some rows rejected, the others imported
    assert "people.csv:4" in result.stderr
    assert "consent_sms 'peut-être' is not one of yes, no, legitimate_interest" in result.stderr
    assert "people.csv:5" in result.stderr
    assert "an SMS needs recorded consent" in result.stderr
    assert "people.csv:6" in result.stderr
    assert "consent_sms_date is set but consent_sms is empty" in result.stderr
    stored = {r["external_id"]: r for r in rows(live, contacts)}
    assert set(stored) == {"p1", "p2"}  # nothing of the rejected rows was written
    assert (stored["p1"]["basis_email"], stored["p1"]["basis_sms"]) == (
        "legitimate_interest",  # a professional address, nothing said: CNIL B2B practice
        "consent",
    )
    assert stored["p1"]["source"] == "salon Cyber 2026"
    assert (stored["p2"]["basis_email"], stored["p2"]["consent_email"]) == ("none", False)
    history = rows(live, consent_history, consent_history.c.contact_id == stored["p1"]["id"])
    by_channel = {h["channel"]: h for h in history}
    assert by_channel["sms"]["basis"] == "consent"
    assert by_channel["sms"]["source"] == "salon Cyber 2026"
    assert by_channel["sms"]["given_at"].date().isoformat() == "2026-01-15"
    assert "email" not in by_channel  # a default: the contact's basis and source say it
    [lea] = rows(live, contacts, contacts.c.external_id == "p2")
    assert lea["source"] == "import people.csv row 3"  # the record's source by default

    changed = "external_id,email,consent_email\np1,lea@acme.fr,withdrawn\n"
    assert (
        cli_run(live, "contacts", "import", str(write(tmp_path, changed, "b.csv"))).exit_code == 0
    )
    [after] = rows(live, contacts, contacts.c.external_id == "p1")
    assert (after["basis_email"], after["consent_email"]) == ("withdrawn", False)
    audit = json.loads(cli_run(live, "contact", "show", "p1", "--audit", "--json").stdout)
    changes = [(a["by"], a["what"], a["change"]) for a in audit["audit"]]
    assert ("import b.csv", "consent", "email: legitimate_interest → withdrawn") in changes
    assert [h["basis"] for h in rows(live, consent_history) if h["channel"] == "email"] == [
        "withdrawn"
    ]


def test_a_touch_without_a_lawful_basis_is_skipped_and_counted(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path, BASES)
    enroll_all(live.app, "basis")
    first = run_once(live.app)
    assert sorted(m.to for m in live.sendgrid.delivered()) == [
        "alice@globex.com",
        "jean@acme.fr",
        "paul@gmail.com",  # a private address with consent
    ]
    assert first["plan"]["skipped"] == {"no lawful basis for email": 1}  # Zoé
    [zoe] = rows(live, touches, touches.c.reason.like("no lawful basis%"))
    assert zoe["reason"] == "no lawful basis for email: a private address needs recorded consent"
    second = run_once(live.at(NOW + timedelta(days=1)))
    assert [m.to for m in live.twilio.delivered()] == ["+33612345678"]  # Jean said yes
    assert second["plan"]["skipped"]["no lawful basis for SMS"] >= 1  # Alice said no


# -- erasure --------------------------------------------------------------------------------


def _held_anywhere(live: Live, needles: tuple[str, ...]) -> list[str]:
    """Every table cell, of every table, that still holds one of ``needles``."""
    found = []
    with live.app.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    text = json.dumps(value, default=str, ensure_ascii=False)
                    found += [f"{table.name}.{column}: {n}" for n in needles if n in text]
    return found


def test_forgetting_leaves_nothing_of_the_person_and_keeps_them_out(
    live: Live, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    run_once(live.app)
    mail = next(m for m in live.sendgrid.delivered() if m.to == "jean@acme.fr")
    reply_to = str(mail.payload["reply_to"]["email"])
    answered = post_reply(
        live, sender="jean@acme.fr", to=reply_to, text="Appelez-moi jeudi, Jean Dupont",
        message_id="r1@acme.fr",
    )  # fmt: skip
    assert answered.status_code == 200
    [jean] = rows(live, contacts, contacts.c.email == "jean@acme.fr")
    assert rows(live, call_tasks, call_tasks.c.contact_id == jean["id"])  # "replied" task
    enroll_all(live.app, "basis", where="contact.external_id == 'c1'")  # still running

    result = cli_run(
        live, "contact", "forget", "jean@acme.fr", "--reason", "erasure request", "--by", "dpo"
    )
    assert result.exit_code == 0, result.output
    assert f"forgot contact {jean['id']}" in result.stdout
    assert _held_anywhere(live, JEAN) == []
    [after] = rows(live, contacts, contacts.c.id == jean["id"])
    assert after["forgotten_at"] is not None
    assert after["stage"] == jean["stage"]  # what reports count stays
    assert after["external_id"] is None
    assert {t["status"] for t in rows(live, call_tasks, call_tasks.c.contact_id == jean["id"])} == {
        "cancelled"
    }
    assert {
        e["exit_reason"] for e in rows(live, enrollments, enrollments.c.contact_id == jean["id"])
    } == {"replied", "forgotten"}
    keyed = rows(live, suppressions, suppressions.c.reason == "forgotten")
    assert sorted(k["channel"] for k in keyed) == ["crm", "email", "sms"]
    assert all(k["address"].startswith("hmac:") for k in keyed)

    again = cli_run(live, "contact", "forget", str(jean["id"]), "--reason", "twice")
    assert again.exit_code == 0
    assert "already forgotten" in again.stdout
    assert len(rows(live, suppressions, suppressions.c.reason == "forgotten")) == 3

    exported = cli_run(live, "contact", "export", str(jean["id"]))
    assert exported.exit_code == 1
    assert f"contact {jean['id']} was forgotten on" in exported.stderr
    assert "Traceback" not in exported.output

    again_imported = cli_run(live, "contacts", "import", str(write(tmp_path, PEOPLE, "old.csv")))
    assert again_imported.exit_code == 3
    assert "old.csv:2" in again_imported.stderr
    assert "was forgotten on" in again_imported.stderr
    assert rows(live, contacts, contacts.c.email == "jean@acme.fr") == []

    stamp = int(NOW.timestamp())
    late = [live.sendgrid.event(mail, "click", timestamp=stamp)]
    assert live.sendgrid.post_events(f"{live.webhook_url}/webhooks/sendgrid", late,
                                     timestamp=stamp).status_code == 200  # fmt: skip
    fresh = post_reply(
        live, sender="jean@acme.fr", to="bonjour@vigie-cyber.example",
        text="Finalement, rappelez-moi. Jean Dupont", message_id="r2@acme.fr",
    )  # fmt: skip
    assert fresh.status_code == 200
    refused = rows(live, events, events.c.error.like("refused:%"))
    assert len(refused) == 2
    assert all(e["payload"] == {} and e["address"] is None for e in refused)
    assert _held_anywhere(live, JEAN) == []
    assert {t["status"] for t in rows(live, call_tasks, call_tasks.c.contact_id == jean["id"])} == {
        "cancelled"
    }  # no new task for the reply

    with live.app.uow(read_only=True) as uow:
        numbers = report(uow.reports)
    assert numbers["forgotten"] == 1
    assert numbers["funnel"]["total"] == 2  # still counted, anonymous
    audit = json.loads(
        cli_run(live, "contact", "show", str(jean["id"]), "--audit", "--json").stdout
    )
    assert ("dpo", "erasure", "forgotten", "erasure request") in [
        (a["by"], a["what"], a["change"], a["why"]) for a in audit["audit"]
    ]
    assert ("dpo", "enrollment", "exited") in [
        (a["by"], a["what"], a["change"]) for a in audit["audit"]
    ]


def test_forgetting_an_unknown_contact_is_a_clear_error(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    result = cli_run(live, "contact", "forget", "nobody@nowhere.fr", "--reason", "request")
    assert result.exit_code == 1
    assert "no contact 'nobody@nowhere.fr'" in result.stderr
    assert "Traceback" not in result.output
    no_reason = cli_run(live, "contact", "forget", "jean@acme.fr", "--reason", "  ")
    assert no_reason.exit_code != 0
    assert "--reason is required" in no_reason.stderr
    assert len(rows(live, contacts, contacts.c.forgotten_at.is_(None))) == 2  # nothing changed


def test_forgetting_removes_the_outbox_copies(tmp_path: Path, project_dir: Path) -> None:
    from pydantic import SecretStr

    from nurture.bootstrap import bootstrap
    from nurture.settings import DatabaseSettings, ProjectSettings, Settings, WebhookSettings

    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{tmp_path / 'n.db'}"),
        project=ProjectSettings(project_dir=project_dir, outbox_dir=tmp_path / "outbox"),
        webhooks=WebhookSettings(unsubscribe_secret=SecretStr("s" * 40)),
    )
    app = bootstrap(settings, as_of=NOW)
    import_people(app, tmp_path)
    enroll_all(app, "channels-test")
    run_once(app)
    copies = sorted((tmp_path / "outbox").rglob("*.eml"))
    assert copies
    held = {p.name for p in copies}
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in copies)
    assert "jean@acme.fr" in text
    result = CliRunner().invoke(
        cli, ["contact", "forget", "c1", "--reason", "request"], env=settings_env(app.settings)
    )
    assert result.exit_code == 0, result.output
    left = {p.name for p in (tmp_path / "outbox").rglob("*.eml")}
    assert left < held
    assert all("jean@acme.fr" not in p.read_text(encoding="utf-8", errors="replace")
               for p in (tmp_path / "outbox").rglob("*.eml"))  # fmt: skip
    app.engine.dispose()


# -- retention ------------------------------------------------------------------------------


def test_retention_forgets_the_idle_and_keeps_what_is_open(live: Live, tmp_path: Path) -> None:
    text = (
        "external_id,email,first_name,owner\n"
        "old,old@acme.fr,Ancien,camille.martin@vigie-cyber.example\n"
        "busy,busy@acme.fr,Occupé,camille.martin@vigie-cyber.example\n"
        "client,client@acme.fr,Client,camille.martin@vigie-cyber.example\n"
        "new,new@acme.fr,Nouveau,camille.martin@vigie-cyber.example\n"
    )
    import_people(live.app, tmp_path, text)
    enroll_all(live.app, "channels-test", where="contact.external_id == 'busy'")
    long_ago = NOW - timedelta(days=40 * 31)
    with live.app.engine.begin() as connection:
        connection.execute(
            contacts.update()
            .where(contacts.c.external_id.in_(["old", "busy", "client"]))
            .values(created_at=long_ago)
        )
        connection.execute(
            contacts.update().where(contacts.c.external_id == "client").values(stage="customer")
        )
    listed = cli_run(live, "contacts", "retention", "--dry-run", "--json")
    assert listed.exit_code == 0, listed.output
    [old] = rows(live, contacts, contacts.c.external_id == "old")
    assert json.loads(listed.stdout)["contact_ids"] == [old["id"]]
    assert rows(live, contacts, contacts.c.forgotten_at.is_not(None)) == []  # dry run

    summary = run_once(live.app)
    assert summary["retention"]["forgotten"] == 1
    forgotten = rows(live, contacts, contacts.c.forgotten_at.is_not(None))
    assert [f["id"] for f in forgotten] == [old["id"]]
    assert forgotten[0]["email"] is None
    assert {r["external_id"] for r in rows(live, contacts, contacts.c.forgotten_at.is_(None))} == {
        "busy",
        "client",
        "new",
    }


# -- the audit trail ------------------------------------------------------------------------


def test_the_audit_trail_is_append_only_in_the_database(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    result = cli_run(
        live, "enrollments", "pause", "--contact", "c1", "--reason", "congés", "--by", "camille"
    )
    assert result.exit_code == 0, result.output
    audit = json.loads(cli_run(live, "contact", "show", "c1", "--audit", "--json").stdout)
    assert ("camille", "enrollment", "paused") in [
        (a["by"], a["what"], a["change"]) for a in audit["audit"]
    ]
    for statement in ("UPDATE audit_trail SET reason = 'changed'", "DELETE FROM audit_trail"):
        with (
            pytest.raises(sa.exc.DatabaseError, match="append-only"),
            live.app.engine.begin() as connection,
        ):
            connection.execute(sa.text(statement))
    assert len(json.loads(cli_run(live, "contact", "show", "c1", "--audit", "--json").stdout)[
        "audit"
    ]) == len(audit["audit"])  # fmt: skip


def test_stage_changes_and_opt_outs_are_audited(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    run_once(live.app)
    mail = next(m for m in live.sendgrid.delivered() if m.to == "jean@acme.fr")
    stamp = int(NOW.timestamp())
    clicks = [
        live.sendgrid.event(mail, "click", timestamp=stamp),
        live.sendgrid.event(mail, "unsubscribe", timestamp=stamp + 1),
    ]
    live.sendgrid.post_events(f"{live.webhook_url}/webhooks/sendgrid", clicks, timestamp=stamp)
    audit = json.loads(cli_run(live, "contact", "show", "c1", "--audit", "--json").stdout)
    lines = [(a["what"], a["change"]) for a in audit["audit"]]
    assert ("stage", "stage") in lines  # a first click makes a lead
    assert ("suppression", "email suppressed") in lines
    assert ("enrollment", "exited") in lines
    assert all(a["by"] for a in audit["audit"])


def test_importing_without_a_key_checks_nothing_and_forgetting_needs_one(
    tmp_path: Path, repo_dir: Path
) -> None:
    from nurture.bootstrap import bootstrap
    from nurture.settings import DatabaseSettings, ProjectSettings, Settings

    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{tmp_path / 'n.db'}"),
        project=ProjectSettings(project_dir=repo_dir),
    )
    app = bootstrap(settings, as_of=datetime(2026, 3, 2, 8, tzinfo=UTC))
    path = write(tmp_path, PEOPLE)
    done = import_contacts(path=path, uow=app.uow(), scoring=app.scoring,
                           defaults=app.row_defaults, now=app.now())  # fmt: skip
    assert done.created == 2
    env = settings_env(app.settings)
    env.pop("NURTURE_UNSUBSCRIBE_SECRET", None)
    result = CliRunner().invoke(cli, ["contact", "forget", "c1", "--reason", "request"], env=env)
    assert result.exit_code != 0
    assert "NURTURE_ERASURE_KEY" in result.stderr
    assert "Traceback" not in result.output
    app.engine.dispose()
