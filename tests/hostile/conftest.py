"""The hostile-input tier: what an attacker or a careless user feeds nurture, and the
clean outcome each input must get (an exit code, a message naming the place, nothing
else lost). Commands run through :func:`nurture.cli.main`, the real entry point, so the
top-level handler is part of what is tested."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nurture.cli import main

REPO = Path(__file__).resolve().parents[2]
SECRET = "hostile-tier-link-secret-0123456789"


@dataclass
class Outcome:
    """What a person saw."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def assert_clean(self) -> None:
        """No traceback, no Python repr of a container, no console markup error."""
        assert "Traceback" not in self.text, self.text
        assert "MarkupError" not in self.text, self.text
        assert "{'" not in self.text, self.text
        assert "[('" not in self.text, self.text


Cli = Callable[..., Outcome]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the sample project."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("sequences", "templates", "content"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "scoring.yaml", root / "scoring.yaml")
    return root


@pytest.fixture
def cli(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    """Run ``nurture ARGS`` in-process through its real entry point."""
    monkeypatch.setenv("NURTURE_PROJECT_DIR", str(project))
    monkeypatch.setenv("NURTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'nurture.db'}")
    monkeypatch.setenv("NURTURE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("NURTURE_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)

    def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["nurture", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
