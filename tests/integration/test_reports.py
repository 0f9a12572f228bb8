"""`nurture report`: the numbers per step come from what happened, once each."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from nurture.adapters.db.reports import SqlReportData
from nurture.cli import app as cli
from nurture.views.reports import report
from tests.conftest import NOW
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def build(live: Live, tmp_path: Path) -> dict[str, Any]:
    """Two emails out; Jean opens twice and clicks, Alice unsubscribes; a day later, an SMS."""
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    run_once(live.app)
    messages = {m.to: m for m in live.sendgrid.delivered()}
    jean, alice = messages["jean@acme.fr"], messages["alice@globex.com"]
    stamp = int(NOW.timestamp())
    events = [
        live.sendgrid.event(jean, kind, timestamp=stamp)
        for kind in ("delivered", "open", "open", "click")
    ]
    events.append(live.sendgrid.event(alice, "delivered", timestamp=stamp))
    live.sendgrid.post_events(f"{live.webhook_url}/webhooks/sendgrid", events, timestamp=stamp)
    unsubscribe = alice.headers["List-Unsubscribe"].split(", ")[0].strip("<>")
    httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    run_once(live.at(NOW + timedelta(days=1)))
    with live.app.engine.connect() as connection:
        return report(SqlReportData(connection))


def test_per_step_numbers_count_each_reader_once(live: Live, tmp_path: Path) -> None:
    data = build(live, tmp_path)
    [sequence] = [s for s in data["sequences"] if s["sequence"] == "channels-test"]
    steps = {step["step"]: step for step in sequence["steps"]}
    email = steps["email-1"]
    assert (email["sent"], email["delivered"], email["opened"], email["clicked"]) == (2, 2, 1, 1)
    assert email["unsubscribed"] == 1
    assert email["open_rate"] == 0.5
    assert steps["sms-1"]["sent"] == 1
    assert sequence["exits"] == {"unsubscribed": 1}
    assert sequence["active"] == 1


def test_conversion_and_the_funnel(live: Live, tmp_path: Path) -> None:
    data = build(live, tmp_path)
    lead = data["conversion"]["steps"][0]
    assert (lead["from"], lead["to"], lead["reached"], lead["rate"]) == ("contact", "lead", 1, 0.5)
    assert lead["median_days_in_from"] == 0.0
    rows = {row["stage"]: row for row in data["funnel"]["rows"]}
    assert rows["lead"]["total"] == 1
    assert rows["contact"]["total"] == 1
    assert (
        sum(sum(v for k, v in day.items() if k != "date") for day in data["touches_per_day"]) == 3
    )
    assert sum(data["score_distribution"]["lead"]) == 1


def test_report_json_and_since(live: Live, tmp_path: Path) -> None:
    build(live, tmp_path)
    env = settings_env(live.app.settings)
    result = CliRunner().invoke(cli, ["report", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["funnel"]["total"] == 2
    later = (NOW + timedelta(days=1)).date().isoformat()
    result = CliRunner().invoke(cli, ["report", "--json", "--since", later], env=env)
    steps = {s["step"]: s for s in json.loads(result.stdout)["sequences"][0]["steps"]}
    assert "email-1" not in steps  # the emails went out the day before
    html = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--html", str(html)], env=env)
    assert result.exit_code == 0
    assert 'id="chart-funnel"' in html.read_text(encoding="utf-8")


def test_the_terminal_report_shows_rates_and_fits_80_columns(live: Live, tmp_path: Path) -> None:
    build(live, tmp_path)
    env = {**settings_env(live.app.settings), "COLUMNS": "80"}
    result = CliRunner().invoke(cli, ["report"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout  # nothing cut: long names wrap
    headers = [line for line in lines if "sent" in line and "open" in line and "meet" in line]
    assert headers
    assert all("reply" in header for header in headers)
    rows = [line for line in lines if "email-1" in line]
    assert rows
    assert all("%" in row for row in rows)
    html = tmp_path / "report.html"
    CliRunner().invoke(cli, ["report", "--html", str(html)], env=env)
    page = html.read_text(encoding="utf-8")
    assert "open_rate" not in page.split("<style>")[-1].split("</style>")[-1]  # words, not keys
    assert "% opened</text>" in page  # every bar carries its number
