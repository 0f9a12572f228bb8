"""``nurture demo``: the product end to end on embedded defaults."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.table import Table

from nurture.bootstrap import bootstrap
from nurture.cli._common import console, reporting_errors
from nurture.cli.project import copy_project_template
from nurture.domain.contacts import Temperature
from nurture.samples import write_contacts_csv
from nurture.services.contact_import import import_contacts
from nurture.services.reports import funnel
from nurture.settings import DatabaseSettings, ProjectSettings, Settings


def demo(
    directory: Path = typer.Option(
        Path("nurture-demo"), "--dir", help="Folder for the demo project (recreated each run)."
    ),
    contacts: int = typer.Option(1000, "--contacts", min=10, help="Sample contacts."),
) -> None:
    """Create a demo project, import sample contacts, score them and show the funnel."""
    with reporting_errors():
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        copy_project_template(directory)
        csv_path = write_contacts_csv(directory / "contacts.csv", contacts)
        settings = Settings(
            database=DatabaseSettings(database_url=f"sqlite:///{directory / 'nurture.db'}"),
            project=ProjectSettings(project_dir=directory),
        )
        application = bootstrap(settings)
        report = import_contacts(
            path=csv_path,
            uow=application.uow(),
            scoring=application.scoring,
            defaults=application.row_defaults,
            now=application.now(),
        )
        console.print(
            f"imported {report.created} sample contacts into {directory / 'nurture.db'} "
            f"({len(report.rejected)} rejected)"
        )
        with application.engine.connect() as connection:
            result = funnel(connection)
    table = Table("stage", *(t.value for t in Temperature), "total", title="funnel")
    for row in result["rows"]:
        table.add_row(row["stage"], *(str(row[t.value]) for t in Temperature), str(row["total"]))
    console.print(table)
