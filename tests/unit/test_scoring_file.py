from __future__ import annotations

from pathlib import Path

import pytest

from nurture.errors import SpecError, SpecErrors
from nurture.specs.scoring import load_scoring


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scoring.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_scoring_file_loads(repo_dir: Path) -> None:
    scoring = load_scoring(repo_dir / "scoring.yaml")
    assert scoring.stages.prospect.min_score == 70
    assert scoring.stages.prospect.require_bant == ["need", "authority"]
    assert scoring.temperature.warm == 40


def test_every_error_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
fit:
  cap: 50
  rules:
    - id: sector
      when: "contact.sectr == 'industry'"
      points: 15
interest:
  rules:
    - {event: email_opne, points: 1}
    - {event: not_interested, points: -10, half_life_days: 30}
temperature: {warm: 80, hot: 70}
colour: blue
""",
    )
    with pytest.raises(SpecErrors) as caught:
        load_scoring(path)
    messages = [str(problem) for problem in caught.value.problems]
    text = "\n".join(messages)
    assert f"{path}:5 fit rule 'sector' when: unknown field 'contact.sectr'" in text
    assert f"{path}:9 interest rule 'email_opne' event:" in text
    assert f"{path}:10 interest rule 'not_interested': a penalty" in text
    assert f"{path}:11 temperature: warm (80) must be below hot (70)" in text
    assert f"{path}:12 colour: unknown key" in text
    assert len(messages) == 5


def test_yaml_syntax_errors_have_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "fit:\n  cap: 50\n  rules: [\n")
    with pytest.raises(SpecError, match=r"scoring.yaml:\d+: invalid YAML"):
        load_scoring(path)


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "temperature: {warm: 40, hot: 70}\ntemperature: {warm: 30, hot: 60}\n")
    with pytest.raises(SpecError, match=r"scoring.yaml:\d+: invalid YAML"):
        load_scoring(path)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="expected a mapping"):
        load_scoring(write(tmp_path, ""))
