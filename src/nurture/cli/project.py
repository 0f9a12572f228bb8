"""Project-level commands: ``init`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from nurture.cli._common import console, fail, reporting_errors
from nurture.samples import copy_project_template, write_contacts_csv

__all__ = ["register"]


def init(
    directory: Path = typer.Argument(..., help="Folder to create (must be empty or absent)."),
    sample_contacts: int = typer.Option(
        50, "--sample-contacts", min=0, help="Sample contacts to write to contacts.csv."
    ),
) -> None:
    """Scaffold a working project folder: sequences, scoring, templates, deployments."""
    with reporting_errors():
        if directory.exists() and any(directory.iterdir()):
            fail(f"{directory} is not empty; pick a new folder")
        directory.mkdir(parents=True, exist_ok=True)
        copy_project_template(directory)
        if sample_contacts:
            write_contacts_csv(directory / "contacts.csv", sample_contacts)
    console.print(f"project created in {directory}")
    console.print(f"  export NURTURE_PROJECT_DIR={directory}")
    console.print('  export NURTURE_UNSUBSCRIBE_SECRET="$(openssl rand -hex 32)"  # keep it')
    console.print(f"  nurture validate && nurture contacts import {directory / 'contacts.csv'}")


def register(app: typer.Typer) -> None:
    """Add the project-level commands to ``app``."""
    app.command("init")(init)
