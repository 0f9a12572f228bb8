"""Sequence commands: ``validate``, ``enroll``, ``preview``, ``simulate``, ``sequences``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from nurture.bootstrap import bootstrap, project_tools
from nurture.cli._common import (
    console,
    err_console,
    fail,
    parse_as_of,
    print_json,
    reporting_errors,
)
from nurture.commands.enrollment import enroll as enroll_service
from nurture.commands.versions import edited_in_place, migrate_enrollments
from nurture.errors import NotFound, SpecError
from nurture.settings import PLACEHOLDER_SENDER, Settings, load_settings
from nurture.specs.project import Project, check_project
from nurture.views.preview import preview as preview_service
from nurture.views.simulate import simulate as simulate_service

app = typer.Typer(help="List sequences and migrate running enrollments.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
_AS_OF = typer.Option(None, "--as-of", help="Act as if it were this ISO date-time.")


def validate(
    paths: list[Path] = typer.Argument(
        None, help="Files or folders to report on (default: the whole project)."
    ),
) -> None:
    """Check sequences, scoring, templates and the content catalog.

    Every error names its file, line and field; the exit status is 1 if there is any.

    Example: nurture validate sequences/cold-outbound.yaml
    """
    loaded = load_settings().settings
    settings = loaded.project
    root = settings.project_dir
    check = check_project(root, tools=project_tools(), default_language=settings.default_language)
    in_use = _edited_in_place(loaded, check.project)
    wanted = [p.resolve() for p in paths or []]
    failed = False
    for report in check.files:
        path = (root / report.file).resolve()
        if wanted and not any(path == w or w in path.parents for w in wanted):
            continue
        problems = report.problems + [
            e for e in in_use if e.location and e.location.file == report.file
        ]
        if problems:
            failed = True
            for problem in problems:
                err_console.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True)
        else:
            console.print(f"{report.file}: ok — {report.summary}")
    if loaded.email.from_email == PLACEHOLDER_SENDER:
        err_console.print(
            f"warning: emails would come from {PLACEHOLDER_SENDER}: set NURTURE_FROM_EMAIL "
            "and NURTURE_FROM_NAME",
            markup=False,
        )
    if failed:
        raise typer.Exit(1)


def _edited_in_place(settings: Settings, project: Project | None) -> list[SpecError]:
    """Sequences edited while their version runs, when there is a database to ask."""
    if project is None or settings.database.missing_sqlite_file is not None:
        return []  # no database yet: nothing runs
    with reporting_errors():
        application = bootstrap(settings)
        with application.uow(read_only=True) as uow:
            return edited_in_place(uow=uow, project=project)


def enroll(
    sequence: str = typer.Argument(..., help="Sequence id."),
    contact: str | None = typer.Option(None, "--contact", help="Contact id, email or external id."),
    where: str | None = typer.Option(
        None, "--where", help="Condition on contacts, e.g. \"contact.sector == 'industry'\"."
    ),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Enroll contacts in SEQUENCE; who cannot be enrolled is listed with the reason.

    A contact is never enrolled twice in the same sequence at once; a suppressed contact or
    one outside the audience is refused.

    Example: nurture enroll cold-outbound --where "contact.sector == 'industry'"
    """
    if (contact is None) == (where is None):
        fail("give exactly one of --contact ID or --where EXPR")
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        with application.uow() as uow:
            report = enroll_service(
                uow=uow,
                project=application.project,
                sequence_id=sequence,
                now=application.now(),
                contact_ref=contact,
                where=where,
            )
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    console.print(
        f"{data['enrolled']} enrolled in {sequence} v{report.version}, {data['refused']} refused"
    )
    for reason, count in data["refused_by_reason"].items():
        console.print(f"  {count} × {reason}")
    if contact is not None and report.refused:
        raise typer.Exit(1)


def preview(
    sequence: str = typer.Argument(..., help="Sequence id."),
    contact: str = typer.Option(..., "--contact", help="Contact id, email or external id."),
    as_json: bool = _JSON,
) -> None:
    """Render every step of SEQUENCE for one contact: subject, HTML, text, SMS, call script.

    Example: nurture preview cold-outbound --contact crm-000001
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            found = uow.contacts.get(contact)
        if found is None:
            raise NotFound(f"no contact {contact!r}")
        data = preview_service(
            project=application.project,
            sender=application.sender,
            contact=found,
            sequence_id=sequence,
        )
    if as_json:
        print_json(data)
        return
    _print_preview(data)


def _print_preview(data: dict[str, Any]) -> None:
    console.print(
        f"[bold]{escape(data['sequence'])} v{data['version']}[/] "
        f"for {escape(str(data['contact']['email']))}",
        markup=True,
    )
    if data["audience_refusal"]:
        console.print(
            f"[yellow]outside the audience:[/] {escape(data['audience_refusal'])}", markup=True
        )
    for number, step in enumerate(data["steps"], start=1):
        header = (
            f"\n[bold]{number}. {escape(step['step'])}[/] "
            f"({step['channel']}, {escape(str(step['template']))})"
        )
        console.print(header, markup=True)
        if not step["applies"]:
            console.print(f"  skipped for this contact: when {step['when']}")
        if "error" in step:
            console.print(f"  [red]error:[/] {escape(step['error'])}", markup=True)
            continue
        if "subject" in step:
            console.print(f"  subject: {step['subject']}", markup=False)
            console.print(_indent(step["text"]), markup=False)
        elif "sms" in step:
            sms = step["sms"]
            console.print(_indent(step["text"]), markup=False)
            console.print(f"  ({sms['length']} {sms['encoding']} units, {sms['segments']} SMS)")
        else:
            console.print(_indent(step["script"]), markup=False)


def _indent(text: str) -> str:
    return "\n".join("  │ " + line for line in text.splitlines())


def simulate(
    sequence: str = typer.Argument(..., help="Sequence id."),
    days: int = typer.Option(30, "--days", min=1, max=800, help="Days to forecast."),
    sample: int | None = typer.Option(
        None, "--sample", min=1, help="Forecast on N generated sample contacts instead."
    ),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Forecast touches per day and channel for the current contacts. Sends nothing.

    Example: nurture simulate nurture-12-months --days 365
    """
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        with application.uow(read_only=True) as uow:
            data = simulate_service(
                uow=uow,
                project=application.project,
                sequence_id=sequence,
                days=days,
                now=application.now(),
                defaults=application.row_defaults,
                holidays=application.holidays,
                sample=sample,
            )
    if as_json:
        print_json(data)
        return
    channels = ["email", "sms", "call", "content"]
    table = Table(
        "date",
        *channels,
        "total",
        title=f"{sequence}: {data['contacts']} contacts ({data['source']}), {days} days",
    )
    for day in data["by_day"]:
        counts = [day.get(c, 0) for c in channels]
        table.add_row(day["date"], *(str(n) for n in counts), str(sum(counts)))
    totals = [data["totals"].get(c, 0) for c in channels]
    table.add_row("total", *(str(n) for n in totals), str(sum(totals)), style="bold")
    console.print(table)


@app.command("list")
def list_sequences(as_json: bool = _JSON) -> None:
    """Sequences in the project, with their version and steps.

    Example: nurture sequences list
    """
    with reporting_errors():
        application = bootstrap(upgrade_schema=False)
        project = application.project
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "version": s.version,
            "steps": len(s.steps),
            "priority": s.priority,
            "file": project.sequence_files.get(s.id),
        }
        for s in project.sequences.values()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "version", "steps", "priority", "name")
    for row in rows:
        table.add_row(*(str(row[k]) for k in ("id", "version", "steps", "priority", "name")))
    console.print(table)


@app.command("migrate")
def migrate(
    sequence: str = typer.Argument(..., help="Sequence id."),
    to: int = typer.Option(
        ..., "--to", min=1, max=1_000_000, help="Version to move running enrollments to."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say who would move."),
    as_json: bool = _JSON,
) -> None:
    """Move running enrollments to another version, matching the id of their next step.

    Example: nurture sequences migrate cold-outbound --to 2 --dry-run
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow() as uow:
            report = migrate_enrollments(
                uow=uow,
                project=application.project,
                sequence_id=sequence,
                to_version=to,
                now=application.now(),
                dry_run=dry_run,
            )
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    verb = "would move" if dry_run else "moved"
    console.print(
        f"{data['moved']} {verb} to v{to}, {data['cannot_move']} cannot move, "
        f"{data['already_there']} already there"
    )
    for move in report.moves:
        console.print(f"  contact {move['contact_id']}: {move['from']} → {move['to']}")
    for item in report.stuck:
        console.print(f"  contact {item['contact_id']}: cannot move: {item['reason']}")


def register(root: typer.Typer) -> None:
    """Add the sequence commands to the main app."""
    root.command("validate")(validate)
    root.command("enroll")(enroll)
    root.command("preview")(preview)
    root.command("simulate")(simulate)
    root.add_typer(app, name="sequences")
