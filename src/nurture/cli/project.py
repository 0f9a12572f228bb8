"""Project-level commands: ``init`` and ``demo``."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import typer

from nurture.cli._common import console, fail, reporting_errors
from nurture.samples import copy_project_template, write_contacts_csv, write_examples
from nurture.settings import example_env

__all__ = ["register"]


def write_settings_files(directory: Path) -> None:
    """``.env`` with a fresh link secret (no two projects share one), ``.env.example``
    listing every setting, and a ``.gitignore`` that keeps secrets and data out of git."""
    secret = secrets.token_hex(32)
    (directory / ".env").write_text(
        "# This project's settings (the environment wins). Keep this file out of git.\n"
        "# NURTURE_UNSUBSCRIBE_SECRET signs unsubscribe, content and reply links: keep it;\n"
        "# changing it breaks the links already sent (see NURTURE_UNSUBSCRIBE_SECRET_PREVIOUS).\n"
        f"NURTURE_UNSUBSCRIBE_SECRET={secret}\n",
        encoding="utf-8",
    )
    (directory / ".env").chmod(0o600)
    (directory / ".env.example").write_text(example_env(), encoding="utf-8")
    (directory / ".gitignore").write_text(
        ".env\nnurture.db\nnurture.db-*\noutbox/\n", encoding="utf-8"
    )


def init(
    directory: Path = typer.Argument(..., help="Folder to create (must be empty or absent)."),
    sample_contacts: int = typer.Option(
        50, "--sample-contacts", min=0, help="Sample contacts to write to contacts.csv."
    ),
) -> None:
    """Scaffold a working project folder: sequences, scoring, templates, deployments.

    Example: nurture init my-project
    """
    with reporting_errors():
        if directory.exists() and any(directory.iterdir()):
            fail(f"{directory} is not empty; pick a new folder")
        directory.mkdir(parents=True, exist_ok=True)
        copy_project_template(directory)
        if sample_contacts:
            write_contacts_csv(directory / "contacts.csv", sample_contacts)
            write_examples(directory / "examples", sample_contacts, today=datetime.now(UTC).date())
        write_settings_files(directory)
    console.print(f"project created in {directory}, with its own link secret in .env")
    console.print("next, from inside it (nurture finds the project from any folder below):")
    console.print(f"  cd {directory}")
    console.print("  nurture doctor && nurture validate && nurture contacts import contacts.csv")


def register(app: typer.Typer) -> None:
    """Add the project-level commands to ``app``."""
    app.command("init")(init)
