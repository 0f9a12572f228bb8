from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nurture.bootstrap import project_tools
from nurture.specs.project import check_project

GOOD = """\
id: extra
name: Extra
version: 1
steps:
  - {id: call-1, channel: call, script: calls/discovery}
"""


@pytest.fixture
def project(tmp_path: Path, repo_dir: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("sequences", "templates", "content"):
        shutil.copytree(repo_dir / name, root / name)
    shutil.copy(repo_dir / "scoring.yaml", root / "scoring.yaml")
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in check_project(root, tools=project_tools()).problems]


def test_the_sample_project_is_valid(project: Path) -> None:
    check = check_project(project, tools=project_tools())
    assert check.problems == []
    assert check.project is not None
    assert set(check.project.sequences) == {
        "cold-outbound",
        "nurture-12-months",
        "hot-prospect",
        "sales-handoff",
        "customer-onboarding",
    }


def test_every_error_in_a_sequence_file_is_reported_with_line_and_field(project: Path) -> None:
    (project / "sequences" / "broken.yaml").write_text(
        """\
id: broken
name: Broken
version: 1
colour: red
send_window: {days: [mon, funday], hours: "18:00-09:00", timezone: Mars/Olympus}
steps:
  - {id: call-1, channel: call, script: calls/discovery}
  - {id: call-1, channel: fax, script: calls/discovery}
  - {id: sms-1, channel: sms, template: sms/meeting-nudge, when: "contact.phone and"}
""",
        encoding="utf-8",
    )
    found = problems(project)
    text = "\n".join(found)
    assert "sequences/broken.yaml:4 colour: unknown key" in text
    assert "sequences/broken.yaml:5 send_window.days[1]:" in text
    assert (
        "sequences/broken.yaml:5 send_window.hours: hours '18:00-09:00' must start before" in text
    )
    assert "sequences/broken.yaml:5 send_window.timezone: timezone 'Mars/Olympus'" in text
    assert "sequences/broken.yaml:8 step 'call-1' channel:" in text
    assert "sequences/broken.yaml:9 step 'sms-1' when: cannot parse" in text
    assert all(line.startswith("sequences/broken.yaml:") for line in found)


def test_duplicate_step_ids(project: Path) -> None:
    (project / "sequences" / "dup.yaml").write_text(
        GOOD + "  - {id: call-1, channel: call, script: calls/follow-up}\n", encoding="utf-8"
    )
    assert problems(project) == ["sequences/dup.yaml:4 steps: duplicate step id 'call-1'"]


def test_missing_templates_and_content_are_named(project: Path) -> None:
    (project / "sequences" / "refs.yaml").write_text(
        """\
id: refs
name: Refs
version: 1
steps:
  - {id: email-1, channel: email, template: emails/folow-up}
  - {id: content-1, channel: content, content: case-study-moon}
  - {id: call-1, channel: call, script: emails/welcome}
""",
        encoding="utf-8",
    )
    assert problems(project) == [
        "sequences/refs.yaml:5 step 'email-1' template: unknown template 'emails/folow-up' "
        "(missing emails/folow-up.subject.j2; missing emails/folow-up.html.j2; "
        "missing emails/folow-up.txt.j2)",
        "sequences/refs.yaml:6 step 'content-1' content: unknown content 'case-study-moon' "
        "(catalog has: guide-nis2, checklist-backups, webinar-ransomware, article-mfa, "
        "case-study-clinic, case-study-industry, newsletter-quarterly, guide-incident-response, "
        "demo-video, setup-guide)",
        "sequences/refs.yaml:7 step 'call-1' script: script 'emails/welcome' must be under calls/",
    ]


def test_unknown_chained_sequences_and_on_complete_cycles(project: Path) -> None:
    (project / "sequences" / "a.yaml").write_text(
        GOOD.replace("extra", "a") + "on_complete: {enroll: b}\n", encoding="utf-8"
    )
    (project / "sequences" / "b.yaml").write_text(
        GOOD.replace("extra", "b")
        + "on_complete: {enroll: a}\non_exit: {replied: {enroll: ghost}}\n",
        encoding="utf-8",
    )
    assert problems(project) == [
        "sequences/a.yaml:6 on_complete.enroll: on_complete chains form a cycle: a → b → a",
        "sequences/b.yaml:7 on_exit.replied.enroll: unknown sequence 'ghost' (known: a, b, "
        "cold-outbound, customer-onboarding, hot-prospect, nurture-12-months, sales-handoff)",
    ]


def test_template_syntax_errors_are_reported_with_their_line(project: Path) -> None:
    (project / "templates" / "sms" / "meeting-nudge.fr.txt.j2").write_text(
        "Bonjour\n{% if contact.first_name %}oops\n", encoding="utf-8"
    )
    found = problems(project)
    assert any(
        p.startswith("templates/sms/meeting-nudge.fr.txt.j2:2: Unexpected end of template.")
        for p in found
    )
    assert any(p.startswith("sequences/cold-outbound.yaml:18 step 'sms-1' template") for p in found)


def test_cadence_must_not_make_hot_contacts_wait_longer(project: Path) -> None:
    (project / "sequences" / "slow.yaml").write_text(
        GOOD.replace("extra", "slow") + "cadence: {gaps: {cold: 2, warm: 4, hot: 1}}\n",
        encoding="utf-8",
    )
    [problem] = problems(project)
    assert problem.startswith("sequences/slow.yaml:6 cadence.gaps: a hotter contact must not wait")
