"""The README's "Using it" block, read from the README itself and run as printed in a
fresh folder (the long-running servers aside): every command exits 0 and prints no
Python repr."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Commands that serve until stopped: started by people, not by this test.
_SERVERS = (("nurture", "webhooks", "serve"), ("nurture", "serve"))


def using_it_block() -> list[str]:
    """The shell lines of the README's "Using it" section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README: no ```sh block under Using it"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _as_printed(line: str) -> list[str]:
    """The words of a line, without its comment and its optional ``[--flags]``."""
    words = shlex.split(line, comments=True)
    out, depth = [], 0
    for word in words:
        depth += word.count("[")
        if depth == 0:
            out.append(word)
        depth -= word.count("]")
    return out


def test_every_command_of_using_it_runs_as_printed(tmp_path: Path) -> None:
    lines = using_it_block()
    assert lines[0].startswith(". .venv/bin/activate")
    assert (REPO / ".venv" / "bin" / "activate").is_file() or os.environ.get("VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["COLUMNS"] = "80"
    cwd = tmp_path
    ran = 0
    for line in lines[1:]:
        words = _as_printed(line)
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        if tuple(words) in _SERVERS or tuple(words[:3]) in _SERVERS:
            continue
        result = subprocess.run(
            words, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        assert "Traceback" not in result.stderr, line
        for repr_mark in ("{'", "[(", "=<"):  # a Python repr never reaches a person
            assert repr_mark not in result.stdout + result.stderr, f"{line}: {repr_mark}"
        ran += 1
    assert ran >= 25


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("nurture run [--as-of 2026-03-02T08:00+01:00] [--json]   # once", ["nurture", "run"]),
        ('nurture enroll x --where "a == 1"  # c', ["nurture", "enroll", "x", "--where", "a == 1"]),
    ],
)
def test_lines_are_read_as_a_person_reads_them(line: str, words: list[str]) -> None:
    assert _as_printed(line) == words
