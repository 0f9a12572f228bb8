"""The ``nurture`` command line.

:func:`main` is the one place where an unexpected error ends: the person sees one line
and where the details went (a log file), never a Python traceback, unless they asked for
it with ``nurture --debug …``.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import typer
from rich.markup import escape

from nurture.cli import (
    _common,
    channels,
    contacts,
    control,
    database,
    demo,
    doctor,
    project,
    report,
    run,
    schedule,
    scoring,
    sequences,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="nurture",
    help="B2B nurturing sequences: score contacts, send what is due, explain every decision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins the lines of a paragraph: docstrings wrapped at 100 columns in the
    # source read as whole sentences at any terminal width.
    rich_markup_mode="markdown",
)
_state = {"debug": False}


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an unexpected error."
    ),
) -> None:
    """B2B nurturing sequences: score contacts, send what is due, explain every decision."""
    _state["debug"] = debug
    _where_am_i()


def _where_am_i() -> None:
    """Say which project and database a command uses when it is not the current folder,
    and name the NURTURE_* variables nurture does not know (a typo is silent otherwise)."""
    from nurture.settings import load_settings

    try:
        loaded = load_settings()
    except Exception:
        return
    for name, closest in loaded.unknown:
        hint = f" (did you mean {closest}?)" if closest else ""
        _common.err_console.print(f"warning: unknown setting {name}{hint}", markup=False)
    if loaded.project_dir != Path.cwd().resolve():
        how = {"found": "found above", "NURTURE_PROJECT_DIR": "NURTURE_PROJECT_DIR"}
        _common.err_console.print(
            f"project {loaded.project_dir} ({how.get(loaded.found_by, loaded.found_by)}), "
            f"database {_shown(loaded.settings.database.database_url)}",
            markup=False,
        )


def _shown(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


app.add_typer(database.app, name="db")
app.add_typer(contacts.app, name="contacts")
app.add_typer(contacts.contact_app, name="contact")
project.register(app)
sequences.register(app)
run.register(app)
channels.register(app)
control.register(app)
schedule.register(app)
report.register(app)
scoring.register(app)
app.command("demo")(demo.demo)
app.command("doctor")(doctor.doctor)


def main() -> None:
    """Entry point of the ``nurture`` script."""
    try:
        app()
    except KeyboardInterrupt:
        _common.err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if _state["debug"] or "--debug" in sys.argv[1:2]:
            raise
        sys.exit(_unexpected(exc))


def _unexpected(exc: Exception) -> int:
    """Say what went wrong in one line, keep the traceback in a log file; exit code 1."""
    if isinstance(exc, sa.exc.SQLAlchemyError):
        from nurture.adapters.db.engine import explain_database_error
        from nurture.settings import load_settings

        message = explain_database_error(exc, load_settings().settings.database.database_url)
    else:  # its text may hold data or a Python repr: it goes to the log, not the screen
        message = f"unexpected error ({type(exc).__name__}) inside nurture"
    log = _write_log(exc)
    where = f"details in {log}" if log else "run again with --debug for details"
    _common.err_console.print(
        f"[bold red]error:[/] {escape(message)}\n  {escape(where)} (or run with --debug)",
        markup=True,
    )
    return 1


def _write_log(exc: Exception) -> Path | None:
    folder = Path(tempfile.gettempdir()) / "nurture-errors"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"{stamp}.log"
        path.write_text(
            "nurture " + " ".join(sys.argv[1:]) + "\n\n" + "".join(traceback.format_exception(exc)),
            encoding="utf-8",
        )
    except OSError:
        return None
    return path
