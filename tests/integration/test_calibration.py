"""Calibration on synthetic deals whose true signal is known."""

from __future__ import annotations

import json
import math
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from nurture.adapters.db.tables import contacts, events
from nurture.bootstrap import App
from nurture.cli import app as cli
from nurture.commands.calibration import calibrate
from nurture.commands.contact_import import import_contacts
from nurture.samples import write_contacts_csv
from nurture.specs.scoring import load_scoring

CLOSE = datetime(2026, 6, 30, tzinfo=UTC)
TARGET = {"industry", "healthcare", "professional-services", "finance", "software"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def deals(app: App, tmp_path: Path) -> Path:
    """600 contacts whose wins follow the sector and webinars; opens are noise."""
    csv = write_contacts_csv(tmp_path / "c.csv", 600, seed=21)
    import_contacts(
        path=csv, uow=app.uow(), scoring=app.scoring, defaults=app.row_defaults, now=app.now()
    )
    rng = random.Random(8)
    rows, lines = [], ["contact,outcome,close_date"]
    with app.engine.begin() as connection:
        people = connection.execute(sa.select(contacts.c.id, contacts.c.sector)).all()
        for contact_id, sector in people:
            webinars = rng.choice([0, 0, 0, 1, 2])
            opens = rng.randrange(0, 8)
            for kind, count in (("webinar_attended", webinars), ("email_open", opens)):
                for n in range(count):
                    at = CLOSE - timedelta(days=rng.randrange(5, 40))
                    rows.append(
                        {
                            "provider": "test",
                            "provider_event_id": f"{contact_id}:{kind}:{n}",
                            "type": kind,
                            "contact_id": contact_id,
                            "occurred_at": at,
                            "received_at": at,
                            "payload": {},
                            "status": "applied",
                        }
                    )
            z = -2.6 + 2.2 * (sector in TARGET) + 1.4 * webinars
            won = rng.random() < 1 / (1 + math.exp(-z))
            lines.append(f"{contact_id},{'won' if won else 'lost'},{CLOSE.date().isoformat()}")
        connection.execute(events.insert(), rows)
    lines.append("999999,won,2026-06-30")  # an unknown contact is rejected, not fatal
    lines.append(f"{people[0][0]},maybe,2026-06-30")
    path = tmp_path / "outcomes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wrong_weights(app: App, tmp_path: Path) -> Path:
    """A scoring file that ignores the sector and webinars and believes in opens."""
    path = tmp_path / "wrong-scoring.yaml"
    text = (app.project_dir / "scoring.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "      points: 15\n      description: sectors",
        "      points: 1\n      description: sectors",
    )
    text = text.replace(
        "{event: webinar_attended, points: 12", "{event: webinar_attended, points: 1"
    )
    text = text.replace(
        "{event: email_open, points: 1, half_life_days: 14, cap: 3}",
        "{event: email_open, points: 12, half_life_days: 14, cap: 40}",
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_the_proposal_recovers_the_true_signal_and_beats_wrong_weights(
    app: App, tmp_path: Path, deals: Path
) -> None:
    path = wrong_weights(app, tmp_path)
    wrong = load_scoring(path)
    with app.uow(read_only=True) as uow:
        report = calibrate(uow=uow, model=wrong, scoring_path=path, outcomes=deals)
    assert report.deals == 600
    assert len(report.rejected) == 2
    strongest = sorted(report.weights, key=lambda k: -report.weights[k])[:2]
    assert set(strongest) == {"target-sector", "webinar_attended"}
    assert abs(report.weights["email_open"]) < 0.3 * report.weights["webinar_attended"]
    assert report.proposed["auc"] > report.current["auc"] + 0.1
    changed = [line for line in report.diff.splitlines() if line[:1] in "+-"]
    assert (
        "+    - {event: email_open, points: 3.2, half_life_days: 14, cap: 40}    # weak signal"
        " (privacy proxies open everything)" in changed
    )
    assert len(changed) == 2 + 2 * 8  # the header, then only the lines whose points change
    proposed = load_scoring(_write(tmp_path, report.proposal_text))
    sector = next(r for r in proposed.fit.rules if r.id == "target-sector")
    assert sector.points > 10
    assert "# How contacts are scored" in report.proposal_text  # comments are kept


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proposed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_calibrate_changes_nothing_without_write(app: App, tmp_path: Path, deals: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(app.project_dir / "sequences", project / "sequences")
    shutil.copytree(app.project_dir / "templates", project / "templates")
    shutil.copytree(app.project_dir / "content", project / "content")
    shutil.copy(wrong_weights(app, tmp_path), project / "scoring.yaml")
    env = {
        "NURTURE_DATABASE_URL": app.settings.database.database_url,
        "NURTURE_PROJECT_DIR": str(project),
    }
    before = (project / "scoring.yaml").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["scoring", "calibrate", "--outcomes", str(deals)], env=env)
    assert result.exit_code == 0, result.output
    assert "auc" in result.stdout
    assert "nothing written" in result.stdout
    assert (project / "scoring.yaml").read_text(encoding="utf-8") == before
    result = CliRunner().invoke(
        cli, ["scoring", "calibrate", "--outcomes", str(deals), "--write", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["written"] is True
    assert (project / "scoring.yaml").read_text(encoding="utf-8") != before
    assert CliRunner().invoke(cli, ["validate"], env=env).exit_code == 0
