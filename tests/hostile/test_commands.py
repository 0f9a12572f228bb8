"""Hostile command arguments, missing secrets and broken databases: one clear line, the
right exit code, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.hostile.conftest import Cli

ARGUMENT_CASES: list[tuple[str, list[str], int, str]] = [
    (
        "as-of-far-future",
        ["run", "--dry-run", "--as-of", "9999-12-31T00:00"],
        1,
        "outside the years",
    ),
    ("as-of-ancient", ["run", "--dry-run", "--as-of", "0001-01-01"], 1, "outside the years"),
    ("as-of-words", ["run", "--dry-run", "--as-of", "tomorrow"], 1, "not an ISO date-time"),
    ("as-of-markup", ["contact", "show", "x", "--as-of", "[/b]"], 1, "not an ISO date-time"),
    (
        "task-id-huge",
        ["calls", "log", "99999999999999999999999", "--outcome", "connected"],
        2,
        "task",
    ),
    ("task-id-negative", ["calls", "log", "-5", "--outcome", "connected"], 2, "task"),
    (
        "task-id-unknown",
        ["calls", "log", "424242", "--outcome", "connected"],
        1,
        "no call task 424242",
    ),
    ("outcome-unknown", ["calls", "log", "1", "--outcome", "telepathy"], 1, "--outcome"),
    (
        "bant-malformed",
        ["calls", "log", "1", "--outcome", "connected", "--bant", "Budget"],
        1,
        "--bant",
    ),
    ("contact-superscript", ["contact", "show", "²"], 1, "no contact '²'"),
    ("contact-huge-id", ["contact", "show", "99999999999999999999999999"], 1, "no contact"),
    ("contact-markup", ["contact", "show", "[/b]"], 1, "no contact '[/b]'"),
    ("contact-nul", ["contact", "show", "a\x01b"], 1, "no contact"),
    ("where-power", ["enroll", "cold-outbound", "--where", "len([1] * 10**11) > 0"], 1, "Pow"),
    (
        "where-repeat",
        ["enroll", "cold-outbound", "--where", "len([1] * 100000000000) > 0"],
        1,
        "repetition",
    ),
    ("where-deep", ["enroll", "cold-outbound", "--where", "not " * 300 + "True"], 1, "deep"),
    ("where-dunder", ["enroll", "cold-outbound", "--where", "contact.__class__"], 1, "private"),
    (
        "where-syntax",
        ["enroll", "cold-outbound", "--where", "contact.sector =="],
        1,
        "cannot parse",
    ),
    ("sequence-unknown", ["enroll", "nope", "--where", "True"], 1, "nope"),
    ("sequence-markup", ["enroll", "[/b]", "--where", "True"], 1, "[/b]"),
    ("events-missing-file", ["events", "ingest", "/nonexistent/events.jsonl"], 1, "cannot read"),
    ("events-list-both", ["events", "list"], 1, "--failed or --unmatched"),
    ("events-a-folder", ["events", "ingest", "/tmp"], 1, "cannot read"),
    (
        "migrate-version-huge",
        ["sequences", "migrate", "cold-outbound", "--to", "10000000000000"],
        2,
        "--to",
    ),
    ("simulate-days-huge", ["simulate", "cold-outbound", "--days", "100000"], 2, "--days"),
    ("port-out-of-range", ["webhooks", "serve", "--port", "70000"], 2, "--port"),
    ("no-workers", ["webhooks", "serve", "--workers", "0"], 2, "--workers"),
]


@pytest.mark.parametrize(
    ("args", "code", "reason"),
    [pytest.param(a, c, r, id=case) for case, a, c, r in ARGUMENT_CASES],
)
def test_a_hostile_argument_gets_one_clear_line(
    cli: Cli, args: list[str], code: int, reason: str
) -> None:
    outcome = cli(*args)
    outcome.assert_clean()
    assert outcome.code == code, outcome.text
    assert reason in outcome.text, outcome.text


@pytest.mark.parametrize("secret", ["", "change-me-unsubscribe-secret", "short"])
@pytest.mark.parametrize("command", [["run"], ["dispatch"], ["webhooks", "serve"], ["serve"]])
def test_sending_and_serving_refuse_a_missing_or_placeholder_link_secret(
    cli: Cli, command: list[str], secret: str
) -> None:
    outcome = cli(*command, env={"NURTURE_UNSUBSCRIBE_SECRET": secret})
    outcome.assert_clean()
    assert outcome.code == 1, outcome.text
    assert "NURTURE_UNSUBSCRIBE_SECRET" in outcome.err
    assert "could be forged" in outcome.err


def test_a_dry_run_needs_no_secret(cli: Cli) -> None:
    outcome = cli("run", "--dry-run", "--json", env={"NURTURE_UNSUBSCRIBE_SECRET": ""})
    outcome.assert_clean()
    assert outcome.code == 0, outcome.text


def test_an_event_file_that_is_not_utf8_names_its_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"id": "a"}\n' + '{"id": "é"}'.encode("latin-1") + b"\n")
    outcome = cli("events", "ingest", str(path))
    outcome.assert_clean()
    assert outcome.code == 1
    assert f"{path}:2: not UTF-8 text (byte 0xe9)" in outcome.err


def test_an_event_file_that_is_a_broken_json_array_is_one_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[{"event": "open",', encoding="utf-8")
    outcome = cli("events", "ingest", str(path))
    outcome.assert_clean()
    assert outcome.code == 1
    assert f"{path}: not JSON" in outcome.err


def _not_a_database(tmp_path: Path) -> str:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database, just words " * 200)
    return f"sqlite:///{path}"


def _damaged(tmp_path: Path) -> str:
    path = tmp_path / "damaged.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 200)
    connection.commit()
    connection.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    return f"sqlite:///{path}"


def _folder(tmp_path: Path) -> str:
    (tmp_path / "a-folder.db").mkdir()
    return f"sqlite:///{tmp_path / 'a-folder.db'}"


def _read_only(tmp_path: Path) -> str:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).close()
    return f"sqlite:///file:{path}?mode=ro&uri=true"


DATABASE_CASES = [
    pytest.param(_folder, "cannot be opened", id="db-is-a-folder"),
    pytest.param(_not_a_database, "is not a nurture database", id="db-not-a-database"),
    pytest.param(_damaged, "tmp", id="db-damaged"),
    pytest.param(_read_only, "read-only", id="db-read-only"),
    pytest.param(
        lambda _p: "postgresql://u:secret@127.0.0.1:1/none",
        "refused the connection",
        id="db-unreachable",
    ),
    pytest.param(lambda _p: "mysql://u@h/db", "unsupported database", id="db-unsupported"),
    pytest.param(lambda _p: "not a url at all", "not a database URL", id="db-not-a-url"),
]


@pytest.mark.parametrize(("make_url", "reason"), DATABASE_CASES)
def test_a_broken_database_gets_a_plain_message(
    cli: Cli, tmp_path: Path, make_url: object, reason: str
) -> None:
    url = make_url(tmp_path)  # type: ignore[operator]
    outcome = cli("contact", "show", "someone", env={"NURTURE_DATABASE_URL": url})
    outcome.assert_clean()
    assert outcome.code == 1, outcome.text
    assert reason in outcome.err, outcome.err
    assert "secret" not in outcome.err  # a password in the URL is never printed
    assert "sqlalche.me" not in outcome.err


def test_an_unexpected_error_shows_one_line_and_keeps_the_traceback_in_a_log(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.views import contact_view

    def explode(**_kwargs: object) -> None:
        raise RuntimeError("boom {'a': 1}")

    monkeypatch.setattr(contact_view, "contact_view", explode)
    monkeypatch.setattr("nurture.cli.contacts.contact_view", explode)
    outcome = cli("contact", "show", "1")
    outcome.assert_clean()
    assert outcome.code == 1
    assert "unexpected error (RuntimeError" in outcome.err
    log = Path(outcome.err.split("details in ")[1].split()[0])
    assert "Traceback" in log.read_text(encoding="utf-8")
    with pytest.raises(RuntimeError):
        cli("--debug", "contact", "show", "1")
