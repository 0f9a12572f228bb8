"""A rep's hand from the command line: list contacts and enrollments, pause, resume and
stop them with a reason and a name, and send a step to oneself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from nurture.cli import app

PEOPLE = (
    "external_id,email,first_name,last_name,company,role,sector,company_size,country,owner\n"
    "c1,jean@acme.fr,Jean,Dupont,Acme,DSI,industry,200,FR,camille@vigie.example\n"
    "c2,alice@globex.fr,Alice,Martin,Globex,CTO,software,80,FR,tom@vigie.example\n"
    "c3,luc@initech.fr,Luc,Bernard,Initech,Stagiaire,retail,5,FR,tom@vigie.example\n"
)


@pytest.fixture
def env(tmp_path: Path, repo_dir: Path) -> dict[str, str]:
    csv = tmp_path / "people.csv"
    csv.write_text(PEOPLE, encoding="utf-8")
    environment = {
        "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "NURTURE_PROJECT_DIR": str(repo_dir),
        "NURTURE_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NURTURE_EMAIL_DRIVER": "outbox",
        "NURTURE_SMS_DRIVER": "outbox",
    }
    assert invoke(environment, "contacts", "import", str(csv))[0] == 0
    return environment


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_contacts_list_filters_by_expression_and_stage(env: dict[str, str]) -> None:
    code, out, _ = invoke(
        env, "contacts", "list", "--where", "contact.company_size >= 50", "--json"
    )
    assert code == 0
    assert [row["email"] for row in json.loads(out)] == ["jean@acme.fr", "alice@globex.fr"]
    code, out, _ = invoke(env, "contacts", "list", "--stage", "prospect", "--json")
    assert json.loads(out) == []
    code, out, _ = invoke(env, "contacts", "list", "--limit", "1")
    assert "Jean Dupont" in out
    assert "1 contact(s) (--limit reached)" in out


def test_a_bad_filter_is_a_clear_error(env: dict[str, str]) -> None:
    code, _, err = invoke(env, "contacts", "list", "--stage", "prospects")
    assert code == 1
    assert "--stage 'prospects' is not a stage" in err
    code, _, err = invoke(env, "contacts", "list", "--where", "contact.nope > 1")
    assert code == 1
    assert "nope" in err
    assert "Traceback" not in err


def _statuses(env: dict[str, str]) -> dict[str, str]:
    code, out, _ = invoke(env, "enrollments", "list", "--json")
    assert code == 0
    return {row["email"]: row["status"] for row in json.loads(out)}


def test_pause_resume_and_stop_are_recorded_with_reason_and_name(env: dict[str, str]) -> None:
    assert invoke(env, "enroll", "cold-outbound", "--where", "True")[0] == 0
    assert set(_statuses(env).values()) == {"active"}
    code, out, _ = invoke(
        env, "enrollments", "pause", "--contact", "jean@acme.fr",
        "--reason", "en congé jusqu'au 15", "--by", "camille",
    )  # fmt: skip
    assert (code, "1 enrollment(s): pause" in out) == (0, True)
    assert _statuses(env)["jean@acme.fr"] == "paused"
    code, out, _ = invoke(env, "enrollments", "list", "--status", "paused", "--json")
    assert [row["email"] for row in json.loads(out)] == ["jean@acme.fr"]
    code, out, _ = invoke(env, "contact", "show", "jean@acme.fr", "--json")
    details = [item["detail"] for item in json.loads(out)["timeline"]]
    assert any("pause by camille: en congé jusqu'au 15" in d for d in details)
    code, out, _ = invoke(
        env, "enrollments", "resume", "--contact", "jean@acme.fr", "--reason", "de retour"
    )
    assert "1 enrollment(s): resume" in out
    code, out, _ = invoke(
        env, "enrollments", "stop", "--where", "contact.company == 'Globex'",
        "--reason", "contrat signé", "--by", "tom", "--json",
    )  # fmt: skip
    assert len(json.loads(out)["changed"]) == 1
    assert _statuses(env) == {
        "jean@acme.fr": "active",
        "alice@globex.fr": "exited:manual",
        "luc@initech.fr": "active",
    }


def test_a_second_pause_says_why_nothing_changed(env: dict[str, str]) -> None:
    invoke(env, "enroll", "cold-outbound", "--contact", "jean@acme.fr")
    args = ("enrollments", "pause", "--contact", "jean@acme.fr", "--reason", "r")
    invoke(env, *args)
    code, out, _ = invoke(env, *args)
    assert (code, "unchanged (already paused)" in out) == (0, True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--reason", "x"), "give --contact ID or --where EXPR"),
        (("--contact", "1", "--where", "True", "--reason", "x"), "give --contact ID or --where"),
        (("--contact", "nobody@x.fr", "--reason", "x"), "no contact 'nobody@x.fr'"),
        (("--contact", "1", "--reason", "  "), "--reason is required"),
    ],
)
def test_who_and_why_are_required(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke(env, "enrollments", "stop", *args)
    assert code == 1
    assert message in err


def test_send_test_renders_for_a_sample_contact_and_records_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, out, _ = invoke(
        env, "send-test", "customer-onboarding", "welcome", "--to", "Me@Vigie.example", "--json"
    )
    assert code == 0, out
    sent = json.loads(out)
    assert (sent["channel"], sent["to"], sent["provider"]) == (
        "email",
        "me@vigie.example",
        "outbox",
    )
    assert sent["subject"].startswith("[TEST] ")
    [eml] = (tmp_path / "outbox").rglob("*.eml")
    assert "Subject: [TEST]" in eml.read_text(encoding="utf-8")
    assert "Camille" in eml.read_text(encoding="utf-8")  # the sample contact
    engine = sa.create_engine(env["NURTURE_DATABASE_URL"])
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM touches")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM journal")).scalar_one() == 0
    engine.dispose()


def test_send_test_for_a_contact_by_sms(env: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = invoke(
        env, "send-test", "customer-onboarding", "sms-checkin",
        "--to", "06 12 34 56 78", "--contact", "jean@acme.fr", "--json",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["to"] == "+33612345678"


@pytest.mark.parametrize(
    ("step", "to", "message"),
    [
        ("kickoff-call", "me@vigie.example", "call step: nothing to send"),
        ("nope", "me@vigie.example", "has no step 'nope' (its steps: welcome, kickoff-call"),
        ("welcome", "not-an-address", "--to: email 'not-an-address' is not valid"),
    ],
)
def test_send_test_refusals_are_clear(
    env: dict[str, str], step: str, to: str, message: str
) -> None:
    code, _, err = invoke(env, "send-test", "customer-onboarding", step, "--to", to)
    assert code == 1
    assert message in err
