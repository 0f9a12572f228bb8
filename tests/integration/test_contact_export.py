"""An access request: everything held about one person, from a live run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cli import app as cli
from nurture.errors import NotFound
from nurture.views.contact_export import export_contact
from tests.conftest import NOW
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def test_the_export_holds_everything_about_the_person(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    run_once(live.app)
    jean = next(m for m in live.sendgrid.delivered() if m.to == "jean@acme.fr")
    stamp = int(NOW.timestamp())
    events = [
        live.sendgrid.event(jean, "open", timestamp=stamp),
        live.sendgrid.event(jean, "unsubscribe", timestamp=stamp),
    ]
    assert (
        live.sendgrid.post_events(
            f"{live.webhook_url}/webhooks/sendgrid", events, timestamp=stamp
        ).status_code
        == 200
    )
    with live.app.uow(read_only=True) as uow:
        data = export_contact(uow=uow, ref="jean@acme.fr", now=NOW)
    assert data["contact"]["email"] == "jean@acme.fr"
    assert data["contact"]["first_name"] == "Jean"
    [touch] = data["touches"]
    assert touch["status"] == "sent"
    assert touch["subject"]
    assert len(touch["content_sha256"]) == 64
    assert {e["type"] for e in data["events"]} == {"email_open", "unsubscribe"}
    assert [p["event"] for p in data["score_history"]] == ["email_open"]
    assert [(s["channel"], s["address"], s["active"]) for s in data["suppressions"]] == [
        ("email", "jean@acme.fr", True)
    ]
    assert {d["kind"] for d in data["decisions"]} >= {"enrolled", "exited"}
    assert data["enrollments"][0]["status"] == "exited:unsubscribed"
    env = settings_env(live.app.settings)
    shown = CliRunner().invoke(cli, ["contact", "export", "jean@acme.fr", "--json"], env=env)
    assert json.loads(shown.stdout)["contact"]["id"] == data["contact"]["id"]
    summary = CliRunner().invoke(cli, ["contact", "export", "jean@acme.fr"], env=env)
    assert "touches" in summary.stdout
    assert "{'" not in summary.stdout


def test_exporting_an_unknown_person_is_a_clear_error(live: Live) -> None:
    with live.app.uow(read_only=True) as uow, pytest.raises(NotFound, match="no contact 'nobody'"):
        export_contact(uow=uow, ref="nobody", now=NOW)
    env = settings_env(live.app.settings)
    result = CliRunner().invoke(cli, ["contact", "export", "nobody"], env=env)
    assert result.exit_code == 1
    assert "no contact 'nobody'" in result.stderr
