"""Project-level commands: ``init`` and ``demo``."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import typer

from nurture.cli._common import console, fail, reporting_errors
from nurture.samples import write_contacts_csv

__all__ = ["copy_project_template", "register"]


def copy_project_template(target: Path) -> None:
    """Copy the sample project (scoring, sequences, templates, content, deployments)."""
    source = Path(str(resources.files("nurture").joinpath("project_template")))
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if entry.is_dir():
            shutil.copytree(
                entry,
                destination,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            shutil.copyfile(entry, destination)


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
    console.print("  nurture validate && nurture contacts import contacts.csv")


def register(app: typer.Typer) -> None:
    """Add the project-level commands to ``app``."""
    app.command("init")(init)
