from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cli import app


@pytest.fixture
def env(tmp_path: Path, repo_dir: Path) -> dict[str, str]:
    return {
        "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "NURTURE_PROJECT_DIR": str(repo_dir),
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_import_reports_rejected_rows_and_exits_3(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("email,first_name\njean@acme.fr,Jean\nnope,X\n", encoding="utf-8")
    code, out, err = invoke(env, "contacts", "import", str(csv))
    assert code == 3
    assert "2 rows" in out
    assert "1 created" in out
    assert "1 rejected" in out
    assert f"{csv}:3: rejected: email 'nope' is not valid" in err


def test_import_json_and_show_json(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text(
        "email,first_name,role,sector,company_size,country,bant.need\n"
        "jean@acme.fr,Jean,CEO,industry,120,FR,Backups\n",
        encoding="utf-8",
    )
    code, out, _ = invoke(env, "contacts", "import", str(csv), "--json")
    assert code == 0
    assert json.loads(out)["created"] == 1
    code, out, _ = invoke(env, "contact", "show", "jean@acme.fr", "--json")
    assert code == 0
    view = json.loads(out)
    assert view["stage"] == "contact"
    assert view["score"]["score"] == 50
    assert {c["rule"] for c in view["score"]["contributions"]} == {
        "target-sector",
        "company-size-sweet-spot",
        "decision-role",
        "core-market",
    }
    assert view["bant"]["need"] == "Backups"
    assert view["bant_missing_for_prospect"] == ["authority"]
    assert view["temperature"] == "warm"


def test_show_explains_the_score_in_a_table(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("email,role,sector\njean@acme.fr,CEO,industry\n", encoding="utf-8")
    invoke(env, "contacts", "import", str(csv))
    code, out, _ = invoke(env, "contact", "show", "jean@acme.fr")
    assert code == 0
    assert "why 30?" in out
    assert "decision-role" in out


def test_unknown_contact_is_a_clear_error(env: dict[str, str]) -> None:
    code, _, err = invoke(env, "contact", "show", "ghost@nowhere.fr")
    assert code == 1
    assert "no contact 'ghost@nowhere.fr'" in err


def test_a_file_with_an_unknown_column_imports_nothing(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("email,emial\njean@acme.fr,x\n", encoding="utf-8")
    code, _, err = invoke(env, "contacts", "import", str(csv))
    assert code == 1
    assert "c.csv:1 column 2: unknown column 'emial'" in err


def test_db_upgrade(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "db", "upgrade")
    assert code == 0
    assert "database at revision" in out
