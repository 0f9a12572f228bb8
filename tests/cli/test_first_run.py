"""The first run of a new project: init writes its settings, every command finds the
project from any folder below it, .env is read, typos are named, doctor explains."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cli import app
from nurture.settings import load_settings

_CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project made by `nurture init`, and the current folder set to one below it."""
    root = tmp_path / "acme-nurture"
    result = CliRunner().invoke(app, ["init", str(root), "--sample-contacts", "5"], env=_env())
    assert result.exit_code == 0, result.stdout
    below = root / "sequences"
    before = Path.cwd()
    os.chdir(below)
    try:
        yield root
    finally:
        os.chdir(before)


def _env(**extra: str) -> dict[str, str]:
    unset = dict.fromkeys((k for k in os.environ if k.startswith("NURTURE_")), None)
    return {**unset, **extra}  # type: ignore[dict-item]


def invoke(*args: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=_env(**env))
    return result.exit_code, result.stdout, result.stderr


def test_init_writes_a_private_secret_an_example_and_a_gitignore(project: Path) -> None:
    env_text = (project / ".env").read_text(encoding="utf-8")
    secret = env_text.split("NURTURE_UNSUBSCRIBE_SECRET=")[1].strip()
    assert len(secret) == 64
    assert oct((project / ".env").stat().st_mode)[-3:] == "600"
    example = (project / ".env.example").read_text(encoding="utf-8")
    for name in ("NURTURE_DATABASE_URL", "SENDGRID_API_KEY", "NURTURE_REPLY_DOMAIN"):
        assert f"# {name}=" in example
    assert ".env" in (project / ".gitignore").read_text(encoding="utf-8").split()
    other = project.parent / "other"
    CliRunner().invoke(app, ["init", str(other), "--sample-contacts", "0"], env=_env())
    assert (other / ".env").read_text(encoding="utf-8") != env_text  # never shared


def test_the_project_and_its_database_are_found_from_a_folder_below(project: Path) -> None:
    loaded = load_settings(_CLEAN, cwd=Path.cwd())
    assert (loaded.project_dir, loaded.found_by) == (project.resolve(), "found")
    assert loaded.settings.database.database_url == f"sqlite:///{project.resolve()}/nurture.db"
    assert loaded.settings.webhooks.link_secret_problem() is None  # read from .env
    code, _, err = invoke("contacts", "import", "../contacts.csv")
    assert code == 0, err
    assert f"project {project.resolve()} (found above)" in err
    assert (project / "nurture.db").is_file()
    assert not (Path.cwd() / "nurture.db").exists()


def test_the_environment_wins_over_dot_env(project: Path) -> None:
    loaded = load_settings({**_CLEAN, "NURTURE_UNSUBSCRIBE_SECRET": "x" * 20}, cwd=project)
    assert loaded.settings.webhooks.unsubscribe_secret is not None
    assert loaded.settings.webhooks.unsubscribe_secret.get_secret_value() == "x" * 20
    assert loaded.sources["NURTURE_UNSUBSCRIBE_SECRET"] == "environment"
    from_file = load_settings(_CLEAN, cwd=project)
    assert from_file.sources["NURTURE_UNSUBSCRIBE_SECRET"] == ".env"


def test_an_unknown_variable_is_named_with_the_closest_known_one(project: Path) -> None:
    code, _, err = invoke("validate", NURTURE_MAX_TOUCHES_PER_DYA="2")
    assert code == 0
    assert "unknown setting NURTURE_MAX_TOUCHES_PER_DYA" in err
    assert "did you mean NURTURE_MAX_TOUCHES_PER_DAY?" in err


def test_doctor_says_ready_and_never_prints_a_secret(project: Path) -> None:
    code, out, _ = invoke("doctor", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ready"] is True
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["project"] == statuses["link secret"] == "ok"
    assert statuses["sender"] == "warn"  # the placeholder sender
    secret = (project / ".env").read_text(encoding="utf-8").split("SECRET=")[1].strip()
    code, text, _ = invoke("doctor")
    assert secret not in out + text
    assert "ready to run" in text


@pytest.mark.parametrize(
    ("env", "failing", "fix"),
    [
        ({"NURTURE_EMAIL_DRIVER": "sendgrid"}, "email", "SENDGRID_API_KEY"),
        ({"NURTURE_SMS_DRIVER": "twilio"}, "sms", "TWILIO_AUTH_TOKEN"),
        ({"NURTURE_UNSUBSCRIBE_SECRET": "change-me"}, "link secret", "nurture init"),
        ({"NURTURE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"}, "database", ""),
    ],
)
def test_doctor_fails_with_the_fix_when_a_run_would_fail(
    project: Path, env: dict[str, str], failing: str, fix: str
) -> None:
    code, out, _ = invoke("doctor", "--json", **env)
    assert code == 1
    [check] = [c for c in json.loads(out)["checks"] if c["name"] == failing]
    assert check["status"] == "fail"
    assert fix in check["fix"]
    assert "Traceback" not in out


def test_outside_any_project_doctor_says_how_to_start(tmp_path: Path) -> None:
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, out, _ = invoke("doctor")
    finally:
        os.chdir(before)
    assert code == 1
    assert "no scoring.yaml" in out
    assert "nurture init my-project" in out
    assert not (tmp_path / "nurture.db").exists()  # doctor creates nothing


def test_validate_catches_a_sequence_edited_while_its_version_runs(project: Path) -> None:
    assert invoke("contacts", "import", "../contacts.csv")[0] == 0
    code, out, _ = invoke("enroll", "cold-outbound", "--where", "True", "--json")
    enrolled = json.loads(out)["enrolled"]
    assert enrolled > 0
    path = project / "sequences" / "cold-outbound.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("gap: 0.5", "gap: 0.7"), encoding="utf-8")
    code, _, err = invoke("validate")
    line = 1 + text.splitlines().index("version: 1")
    assert code == 1
    assert (
        f"sequences/cold-outbound.yaml:{line} version: changed while {enrolled} enrollment(s)"
        in err
    )
    assert "bump `version`" in err
    path.write_text(text.replace("version: 1", "version: 2").replace("gap: 0.5", "gap: 0.7"))
    code, _, err = invoke("validate")
    assert code == 0, err


def test_validate_warns_while_the_sender_is_the_placeholder(project: Path) -> None:
    code, _, err = invoke("validate")
    assert (code, "emails would come from hello@nurture.example" in err) == (0, True)
    code, _, err = invoke("validate", NURTURE_FROM_EMAIL="bonjour@acme.fr")
    assert "emails would come from" not in err
