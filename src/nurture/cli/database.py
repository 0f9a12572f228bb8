"""``nurture db``: the database schema."""

from __future__ import annotations

import typer

from nurture.adapters.db import migrate
from nurture.adapters.db.engine import create_db_engine
from nurture.cli._common import console, reporting_errors
from nurture.settings import load_settings

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Revision to upgrade to."),
) -> None:
    """Create or upgrade the schema of NURTURE_DATABASE_URL (SQLite by default).

    Example: nurture db upgrade
    """
    with reporting_errors():
        engine = create_db_engine(load_settings().settings.database.database_url)
        before = migrate.current_revision(engine)
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
    console.print(f"database at revision {after} (was {before or 'empty'})")


@app.command("current")
def current() -> None:
    """Print the schema revision of the database and the newest one nurture knows.

    Example: nurture db current
    """
    with reporting_errors():
        engine = create_db_engine(load_settings().settings.database.database_url)
        console.print(
            f"database: {migrate.current_revision(engine) or 'empty'}; "
            f"newest: {migrate.head_revision()}"
        )
