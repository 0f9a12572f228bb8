from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cli import app


@pytest.fixture
def project(tmp_path: Path, repo_dir: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("sequences", "templates", "content"):
        shutil.copytree(repo_dir / name, root / name)
    shutil.copy(repo_dir / "scoring.yaml", root / "scoring.yaml")
    (root / "contacts.csv").write_text(
        "external_id,email,first_name,company,role,sector,company_size,country,language,phone,"
        "consent_sms\n"
        "c1,jean@acme.fr,Jean,Acme,DSI,industry,200,FR,fr,06 12 34 56 78,yes\n"
        "c2,alice@globex.com,Alice,Globex,CTO,software,80,US,en,+1 212 555 0100,no\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def env(tmp_path: Path, project: Path) -> dict[str, str]:
    return {
        "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "NURTURE_PROJECT_DIR": str(project),
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_validate_prints_one_line_per_valid_file(env: dict[str, str]) -> None:
    code, out, _ = run(env, "validate")
    assert code == 0
    assert "sequences/cold-outbound.yaml: ok — cold-outbound v1: 7 steps" in out
    assert "scoring.yaml: ok" in out


def test_validate_exits_1_and_names_every_error(env: dict[str, str], project: Path) -> None:
    (project / "sequences" / "bad.yaml").write_text(
        "id: bad\nname: Bad\nversion: 1\nsteps:\n  - {id: x, channel: pigeon}\n",
        encoding="utf-8",
    )
    code, out, err = run(env, "validate")
    assert code == 1
    assert "sequences/bad.yaml:5 step 'x' channel:" in err
    assert "sequences/cold-outbound.yaml: ok" in out


def test_validate_can_report_on_one_file(env: dict[str, str], project: Path) -> None:
    code, out, _ = run(env, "validate", str(project / "sequences" / "hot-prospect.yaml"))
    assert code == 0
    assert out.strip().splitlines() == [
        line for line in out.strip().splitlines() if line.startswith("sequences/hot-prospect")
    ]


def test_enroll_preview_simulate(env: dict[str, str], project: Path) -> None:
    assert run(env, "contacts", "import", str(project / "contacts.csv"))[0] == 0
    code, out, _ = run(
        env,
        "enroll",
        "cold-outbound",
        "--where",
        "contact.country == 'FR'",
        "--json",
        "--as-of",
        "2026-03-02T08:00:00+01:00",
    )
    assert code == 0
    assert json.loads(out)["enrolled"] == 1
    code, out, _ = run(env, "enroll", "cold-outbound", "--contact", "c1")
    assert code == 1
    assert "1 × already enrolled in cold-outbound" in out

    code, out, _ = run(env, "preview", "cold-outbound", "--contact", "alice@globex.com", "--json")
    assert code == 0
    steps = {s["step"]: s for s in json.loads(out)["steps"]}
    assert steps["email-1"]["subject"] == "Globex: the checklist I mentioned"
    assert steps["email-1"]["language"] == "en"
    assert steps["sms-1"]["applies"] is False  # no SMS consent
    assert "Unsubscribe" in steps["email-2"]["html"]
    assert steps["call-1"]["script"].startswith("# First call")

    code, out, _ = run(env, "preview", "cold-outbound", "--contact", "c1")
    assert code == 0
    assert "SMS)" in out  # length and segment count of the SMS step

    code, out, _ = run(
        env,
        "simulate",
        "cold-outbound",
        "--days",
        "30",
        "--json",
        "--as-of",
        "2026-03-02T08:00:00+01:00",
    )
    assert code == 0
    data = json.loads(out)
    assert data["contacts"] == 2  # Jean running, Alice in the audience
    assert data["totals"]["call"] == 6


def test_enroll_needs_exactly_one_selector(env: dict[str, str]) -> None:
    code, _, err = run(env, "enroll", "cold-outbound")
    assert code == 1
    assert "give exactly one of --contact ID or --where EXPR" in err


def test_unknown_sequence_is_a_clear_error(env: dict[str, str]) -> None:
    code, _, err = run(env, "simulate", "cold-outbond", "--sample", "10")
    assert code == 1
    assert "unknown sequence 'cold-outbond' (known: cold-outbound," in err


def test_sequences_list_and_migrate(env: dict[str, str], project: Path) -> None:
    code, out, _ = run(env, "sequences", "list", "--json")
    assert code == 0
    assert {row["id"] for row in json.loads(out)} >= {"cold-outbound", "sales-handoff"}
    run(env, "contacts", "import", str(project / "contacts.csv"))
    run(env, "enroll", "cold-outbound", "--where", "True")
    path = project / "sequences" / "cold-outbound.yaml"
    text = path.read_text(encoding="utf-8").replace("version: 1", "version: 2")
    path.write_text(text.replace("  - {id: call-1,", "  - {id: call-0,"), encoding="utf-8")
    code, out, _ = run(env, "sequences", "migrate", "cold-outbound", "--to", "2", "--dry-run")
    assert code == 0
    assert "0 would move to v2, 2 cannot move" in out
    assert "next step 'call-1' does not exist in version 2" in out
