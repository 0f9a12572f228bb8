"""Calibration on synthetic deals whose true signal is known."""

from __future__ import annotations

import hashlib
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


def _misleading(deals: Path, tmp_path: Path, count: int) -> Path:
    """``count`` deals whose held-out part (the same hash as calibrate's) has its outcomes
    swapped: whatever the fit learns ranks those deals backwards."""
    lines = deals.read_text(encoding="utf-8").splitlines()[: count + 1]
    out = [lines[0]]
    for line in lines[1:]:
        contact, outcome, close = line.split(",")
        held_out = hashlib.sha256(contact.encode()).digest()[0] / 256 < 0.3
        if held_out:
            outcome = {"won": "lost", "lost": "won"}.get(outcome, outcome)
        out.append(f"{contact},{outcome},{close}")
    path = tmp_path / "misleading.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_a_proposal_that_ranks_worse_is_not_written_without_force(
    app: App, tmp_path: Path, deals: Path
) -> None:
    project = tmp_path / "project"
    for name in ("sequences", "templates", "content"):
        shutil.copytree(app.project_dir / name, project / name)
    shutil.copy(wrong_weights(app, tmp_path), project / "scoring.yaml")
    env = {
        "NURTURE_DATABASE_URL": app.settings.database.database_url,
        "NURTURE_PROJECT_DIR": str(project),
    }
    few = _misleading(deals, tmp_path, 45)
    before = (project / "scoring.yaml").read_text(encoding="utf-8")
    args = ["scoring", "calibrate", "--outcomes", str(few), "--write"]
    result = CliRunner().invoke(cli, [*args, "--json"], env=env)
    report = json.loads(result.stdout)
    assert report["small_sample"].startswith("45 deals")
    assert set(report["intervals"]) == {"current", "proposed"}
    assert report["improves"] is False  # the held-out deals say the opposite
    assert (result.exit_code, report["written"]) == (1, False)
    assert "not written: the proposed weights do not rank held-out deals better" in result.stderr
    assert (project / "scoring.yaml").read_text(encoding="utf-8") == before
    forced = CliRunner().invoke(cli, [*args, "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert "written with --force; worse: auc" in forced.stderr
    assert "95% interval of the current AUC" in forced.stderr
    assert (project / "scoring.yaml").read_text(encoding="utf-8") != before


def test_every_weight_zeroed_is_listed_with_why(app: App, tmp_path: Path, deals: Path) -> None:
    path = wrong_weights(app, tmp_path)
    with app.uow(read_only=True) as uow:
        report = calibrate(uow=uow, model=load_scoring(path), scoring_path=path, outcomes=deals)
    before = {rule.id for rule in load_scoring(path).fit.rules if rule.points != 0}
    after = load_scoring(_write(tmp_path, report.proposal_text)).fit.rules
    zeroed = before - {rule.id for rule in after if rule.points != 0}
    assert zeroed  # the wrong weights lose some rules
    for rule_id in zeroed:
        [note] = [n for n in report.notes if f"fit rule {rule_id!r}:" in n]
        assert "→ 0, the deals" in note
    assert report.small_sample is None
    assert report.intervals == {}
