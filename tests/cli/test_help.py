"""Every command's --help reads cleanly at 80 columns: no Python type noise, whole
sentences, and one example."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from nurture.cli import app


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if hasattr(command, "commands"):  # a group (Typer vendors its own click)
        for name, sub in command.commands.items():
            out += _paths(sub, (*prefix, name))
    return out


def _leaf(path: tuple[str, ...]) -> bool:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return not hasattr(command, "commands")


def test_no_help_page_shows_python_types() -> None:
    paths = _paths(typer.main.get_command(app))
    assert len(paths) > 30  # every command and group, not a handful
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, path
        for noise in ("<bool>", "<str>", "<int>", "<float>", "<Path>"):
            assert noise not in result.stdout, f"{' '.join(path)} --help shows {noise}"
        assert max(len(line) for line in result.stdout.splitlines()) <= 80, path
        if _leaf(path):
            assert "Example: nurture" in result.stdout, f"{' '.join(path)}: no example"
