"""The ``nurture`` command line."""

from __future__ import annotations

import typer

from nurture.cli import (
    channels,
    contacts,
    database,
    demo,
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
)
app.add_typer(database.app, name="db")
app.add_typer(contacts.app, name="contacts")
app.add_typer(contacts.contact_app, name="contact")
project.register(app)
sequences.register(app)
run.register(app)
channels.register(app)
schedule.register(app)
report.register(app)
scoring.register(app)
app.command("demo")(demo.demo)


def main() -> None:
    """Entry point of the ``nurture`` script."""
    app()
