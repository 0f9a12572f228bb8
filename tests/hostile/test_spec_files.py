"""Hostile sequence, scoring and catalog files: `nurture validate` names the file, the
line and the field, exits 1, and still reports every other file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import Cli

SEQUENCE = """\
id: hostile
name: Hostile sequence
version: 1
audience: {stages: [lead], temperatures: [cold, warm]}
cadence:
  gaps: {cold: 7, warm: 4, hot: 2}
  deal_size: {small: 0.75, medium: 1.0, large: 1.5}
send_window: {days: [mon, tue], hours: "09:00-18:00", timezone: contact, holidays: FR}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: call-1, channel: call, script: calls/discovery}
exit_on: [replied]
"""


def _swap(old: str, new: str) -> bytes:
    assert old in SEQUENCE
    return SEQUENCE.replace(old, new).encode()


def _bomb() -> bytes:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return (SEQUENCE + "\n".join(lines) + "\n").encode()


# (case, file content, line, what the message must say)
SEQUENCE_CASES: list[tuple[str, bytes, int | None, str]] = [
    ("gap-1e35", _swap("cold: 7,", "cold: 1e35,"), 6, "up to 260"),
    ("gap-inf", _swap("cold: 7,", "cold: .inf,"), 6, "up to 260"),
    ("gap-nan", _swap("cold: 7,", "cold: .nan,"), 6, "up to 260"),
    ("gap-negative", _swap("hot: 2}", "hot: -2}"), 6, "cannot be negative"),
    ("gap-text", _swap("cold: 7,", "cold: seven,"), 6, "cadence.gaps.cold"),
    ("gap-hotter-waits-longer", _swap("hot: 2}", "hot: 9}"), 6, "hotter contact"),
    ("gap-missing-temperature", _swap(", hot: 2}", "}"), 6, "missing gap for hot"),
    ("deal-size-huge", _swap("large: 1.5}", "large: 1e9}"), 7, "up to 10"),
    ("deal-size-zero", _swap("small: 0.75,", "small: 0,"), 7, "must be positive"),
    ("deal-size-inf", _swap("large: 1.5}", "large: .inf}"), 7, "up to 10"),
    (
        "step-gap-beyond-a-year",
        _swap("script: calls/discovery}", "script: calls/discovery, gap: 30}"),
        None,
        "at most 260",
    ),
    (
        "step-gap-over-100",
        _swap("script: calls/discovery}", "script: calls/discovery, gap: 1e9}"),
        11,
        "step 'call-1' gap",
    ),
    ("holidays-unknown-country", _swap("holidays: FR", "holidays: XX"), 8, "holidays 'XX'"),
    ("holidays-unknown-subdivision", _swap("holidays: FR", "holidays: US-ZZ"), 8, "US-ZZ"),
    ("holidays-lower-case", _swap("holidays: FR", "holidays: fr"), 8, "country code"),
    ("hours-out-of-range", _swap('"09:00-18:00"', '"25:00-26:00"'), 8, "hours"),
    ("hours-backwards", _swap('"09:00-18:00"', '"18:00-09:00"'), 8, "hours"),
    ("hours-words", _swap('"09:00-18:00"', '"morning"'), 8, "hours"),
    ("timezone-unknown", _swap("timezone: contact", "timezone: Mars/Olympus"), 8, "Mars/Olympus"),
    ("timezone-path", _swap("timezone: contact", "timezone: ../../etc/passwd"), 8, "timezone"),
    ("day-unknown", _swap("days: [mon, tue]", "days: [funday]"), 8, "send_window.days"),
    ("unknown-key", _swap("exit_on:", "colour: blue\nexit_on:"), 12, "unknown key"),
    ("unknown-channel", _swap("channel: call,", "channel: fax,"), 11, "channel"),
    (
        "template-escapes-folder",
        _swap("emails/follow-up-resource", "../../../etc/passwd"),
        10,
        "must be under emails/",
    ),
    (
        "template-unknown",
        _swap("emails/follow-up-resource", "emails/folow-up"),
        10,
        "unknown template 'emails/folow-up'",
    ),
    ("script-unknown", _swap("calls/discovery", "calls/nope"), 11, "unknown script"),
    (
        "when-import",
        _swap("calls/discovery}", "calls/discovery, when: \"__import__('os')\"}"),
        11,
        "only these calls are allowed",
    ),
    (
        "when-private",
        _swap("calls/discovery}", "calls/discovery, when: contact._secret}"),
        11,
        "private",
    ),
    (
        "when-power",
        _swap("calls/discovery}", 'calls/discovery, when: "len([1] * 10**11)"}'),
        11,
        "Pow",
    ),
    (
        "when-repeat",
        _swap("calls/discovery}", 'calls/discovery, when: "len([1] * 100000000000) > 1"}'),
        None,
        "call-1",
    ),
    (
        "when-deep-not",
        _swap("calls/discovery}", 'calls/discovery, when: "' + "not " * 300 + 'True"}'),
        11,
        "levels deep",
    ),
    (
        "when-long",
        _swap("calls/discovery}", 'calls/discovery, when: "' + "True and " * 400 + 'True"}'),
        11,
        "longer than 2000",
    ),
    (
        "when-unknown-field",
        _swap("calls/discovery}", "calls/discovery, when: contact.salary > 3}"),
        11,
        "contact.salary",
    ),
    (
        "when-syntax",
        _swap("calls/discovery}", 'calls/discovery, when: "contact.phone and"}'),
        11,
        "cannot parse",
    ),
    (
        "when-format",
        _swap("calls/discovery}", "calls/discovery, when: \"'%0999999999d' % 1\"}"),
        11,
        "formatting",
    ),
    (
        "audience-when-lambda",
        _swap("temperatures: [cold, warm]}", 'temperatures: [cold, warm], when: "lambda: 1"}'),
        4,
        "Lambda",
    ),
    ("duplicate-step", _swap("id: call-1,", "id: email-1,"), None, "duplicate step id"),
    ("duplicate-key", _swap("version: 1\n", "version: 1\nversion: 2\n"), 4, "invalid YAML"),
    ("alias-bomb", _bomb(), None, "too many aliases"),
    ("tab-indent", _swap("  gaps:", "\tgaps:"), 6, "invalid YAML"),
    ("latin-1", _swap("Hostile sequence", "Séquence").decode().encode("latin-1"), 2, "not UTF-8"),
    ("binary", b"\x00\x01\x02\xff\xfe" * 50, 1, "not UTF-8"),
    ("empty", b"", 1, "expected a mapping"),
    ("top-level-list", b"- a\n- b\n", 1, "expected a mapping"),
    ("scalar", b"just words\n", 1, "expected a mapping"),
    ("too-large", SEQUENCE.encode() + b"# " + b"x" * 1_100_000 + b"\n", None, "larger than"),
    ("deep-nesting", b"id: " + b"[" * 200 + b"]" * 200 + b"\n", None, "sequences/hostile.yaml"),
    ("version-zero", _swap("version: 1", "version: 0"), 3, "version"),
    ("version-huge", _swap("version: 1", "version: 100000000000000000000000000000"), 3, "version"),
    ("version-text", _swap("version: 1", "version: one"), 3, "version"),
    ("id-with-path", _swap("id: hostile", "id: ../etc"), 1, "id"),
    ("id-with-markup", _swap("id: hostile", "id: '[/b]'"), 1, "id"),
    (
        "chain-unknown",
        _swap("exit_on: [replied]", "exit_on: [replied]\non_complete: {enroll: nowhere}"),
        13,
        "nowhere",
    ),
    ("exit-unknown", _swap("exit_on: [replied]", "exit_on: [telepathy]"), 12, "exit_on"),
    (
        "steps-empty",
        _swap(SEQUENCE[SEQUENCE.index("steps:") : SEQUENCE.index("exit_on")], "steps: []\n"),
        9,
        "steps",
    ),
    (
        "python-tag",
        _swap("name: Hostile sequence", "name: !!python/object/apply:os.system ['true']"),
        None,
        "sequences/hostile.yaml",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [pytest.param(c, line, r, id=case) for case, c, line, r in SEQUENCE_CASES],
)
def test_a_hostile_sequence_file_is_refused_with_its_place(
    cli: Cli, project: Path, content: bytes, line: int | None, reason: str
) -> None:
    (project / "sequences" / "hostile.yaml").write_bytes(content)
    outcome = cli("validate")
    outcome.assert_clean()
    assert outcome.code == 1, outcome.text
    place = "sequences/hostile.yaml" + (f":{line}" if line else "")
    assert place in outcome.err, outcome.err
    assert reason in outcome.err, outcome.err
    # Nothing else is lost: every other file is still checked and reported.
    assert "sequences/cold-outbound.yaml: ok" in outcome.out
    assert "scoring.yaml: ok" in outcome.out


def test_a_name_with_markup_is_data_not_markup(cli: Cli, project: Path) -> None:
    content = _swap("name: Hostile sequence", "name: '[/b] [bold red]Pwned[/]'")
    (project / "sequences" / "hostile.yaml").write_bytes(content)
    outcome = cli("validate")
    outcome.assert_clean()
    assert outcome.code == 0, outcome.text
    assert "sequences/hostile.yaml: ok" in outcome.out


SCORING_CASES: list[tuple[str, str, str, str]] = [
    (
        "points-huge",
        "points: 15\n      description: sectors",
        "points: 1e308\n      description: sectors",
        "scoring.yaml",
    ),
    (
        "half-life-zero",
        "half_life_days: 14, cap: 3}",
        "half_life_days: 0, cap: 3}",
        "half_life_days",
    ),
    ("unknown-event", "{event: email_open,", "{event: telepathy,", "telepathy"),
    ("when-hostile", 'when: "contact.company_size < 20"', 'when: "().__class__"', "scoring.yaml"),
    ("cap-negative", "fit:\n  cap: 50", "fit:\n  cap: -50", "cap"),
    ("unknown-top-key", "fit:\n  cap: 50", "colour: blue\nfit:\n  cap: 50", "unknown key"),
]


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [pytest.param(o, n, r, id=case) for case, o, n, r in SCORING_CASES],
)
def test_a_hostile_scoring_file_is_refused_with_its_place(
    cli: Cli, project: Path, old: str, new: str, reason: str
) -> None:
    path = project / "scoring.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    outcome = cli("validate")
    outcome.assert_clean()
    assert outcome.code == 1, outcome.text
    assert "scoring.yaml:" in outcome.err
    assert reason in outcome.err, outcome.err
    assert "sequences/cold-outbound.yaml: ok" in outcome.out


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"\xff\xfe\x00binary", "not UTF-8", id="scoring-binary"),
        pytest.param(b"fit: [1, 2\n", "invalid YAML", id="scoring-syntax"),
        pytest.param(b"", "expected a mapping", id="scoring-empty"),
    ],
)
def test_an_unreadable_scoring_file_is_one_clear_error(
    cli: Cli, project: Path, content: bytes, reason: str
) -> None:
    (project / "scoring.yaml").write_bytes(content)
    outcome = cli("validate")
    outcome.assert_clean()
    assert outcome.code == 1
    assert "scoring.yaml" in outcome.err, outcome.err
    assert reason in outcome.err, outcome.err


CATALOG_CASES: list[tuple[str, str, str]] = [
    ("duplicate-asset", "  - id: checklist-backups", "duplicate"),
    ("asset-without-url", "    url: https://vigie-cyber.example/ressources/guide-nis2\n", "url"),
]


@pytest.mark.parametrize(
    ("edit", "reason"), [pytest.param(e, r, id=case) for case, e, r in CATALOG_CASES]
)
def test_a_hostile_catalog_is_refused_with_its_place(
    cli: Cli, project: Path, edit: str, reason: str
) -> None:
    path = project / "content" / "catalog.yaml"
    text = path.read_text(encoding="utf-8")
    if edit.startswith("  - id:"):
        text = text.replace("  - id: checklist-backups", "  - id: guide-nis2", 1)
    else:
        text = text.replace(edit, "", 1)
    path.write_text(text, encoding="utf-8")
    outcome = cli("validate")
    outcome.assert_clean()
    assert outcome.code == 1
    assert "content/catalog.yaml" in outcome.err, outcome.err
    assert reason in outcome.err, outcome.err
