"""Helpers shared by the commands: output, errors, ``--as-of``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape

from nurture.errors import InputError, Location, NurtureError, SpecErrors
from nurture.limits import check_moment

__all__ = [
    "console",
    "err_console",
    "fail",
    "parse_as_of",
    "print_json",
    "reporting_errors",
    "require_link_secret",
]

# Markup is off: user data (a contact named "[/b] Jean") is printed as it is, tables
# included. A styled line opts in with markup=True and escapes what it interpolates.
console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn nurture's own errors into a clear message and exit code 1."""
    try:
        yield
    except SpecErrors as exc:
        for problem in exc.problems:
            err_console.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True)
        raise typer.Exit(1) from exc
    except (InputError, NurtureError) as exc:
        fail(str(exc))
    except sa.exc.SQLAlchemyError as exc:
        from nurture.adapters.db.engine import explain_database_error
        from nurture.settings import load_settings

        fail(explain_database_error(exc, load_settings().settings.database.database_url))


def require_link_secret() -> None:
    """Stop before anything starts when links could be forged (run, dispatch, servers)."""
    from nurture import bootstrap
    from nurture.settings import load_settings

    with reporting_errors():
        bootstrap.require_link_secret(load_settings().settings.webhooks)


def parse_as_of(value: str | None) -> datetime | None:
    """``--as-of``: an ISO date or date-time; a naive one is read as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--as-of {value!r} is not an ISO date-time (e.g. 2026-03-02T08:00+01:00)")
    try:
        return check_moment(parsed, Location(field="--as-of"))
    except InputError as exc:
        fail(exc.reason.replace("date", "--as-of", 1))


AsOf = Callable[[str | None], datetime | None]


def _plain_type(self: Any, ctx: Any) -> str | None:
    """How an option's value is shown in ``--help``: nothing for a flag, click's words
    (TEXT, INTEGER, NUMBER, PATH) for the rest; Typer 0.29 prints ``<bool>`` and ``<str>``
    beside every option, which reads as noise to the people who use nurture."""
    if self.metavar is not None:
        return str(self.metavar)
    if getattr(self, "is_flag", False):
        return None
    label = str(_typer_display_type(self, ctx)).strip("<>")
    words = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "bool": None, "Path": "PATH"}
    return words.get(label, label.upper())


_typer_display_type = typer.core.TyperOption.display_type
typer.core.TyperOption.display_type_rich = _plain_type  # type: ignore[method-assign]
typer.core.TyperArgument.display_type_rich = _plain_type  # type: ignore[method-assign]
