"""``nurture contacts`` and ``nurture contact``: the base of contacts."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nurture.bootstrap import bootstrap
from nurture.cli._common import console, err_console, parse_as_of, print_json, reporting_errors
from nurture.commands.contact_import import import_contacts
from nurture.commands.privacy import Eraser, apply_retention, forget_contact
from nurture.views.contact_export import audit_trail, export_contact
from nurture.views.contact_view import contact_view
from nurture.views.lists import list_contacts

app = typer.Typer(help="Import and list contacts.", no_args_is_help=True)
contact_app = typer.Typer(help="Look at one contact.", no_args_is_help=True)

_AS_OF = typer.Option(None, "--as-of", help="Evaluate at this ISO date-time instead of now.")
_JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV file (comma or semicolon separated, UTF-8)."),
    encoding: str = typer.Option(
        "utf-8", "--encoding", help="The file's text encoding (e.g. cp1252 from Excel)."
    ),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Upsert contacts from FILE, matched on external_id, else email.

    Emails are lower-cased and checked, phones written in E.164, time zones, countries and
    languages checked. Every rejected row is reported with its row number and reason; the
    other rows are imported. Importing the same file again changes nothing.

    Example: nurture contacts import contacts.csv --encoding cp1252
    """
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        total = _count_rows(file)
        with _progress(disable=as_json) as progress:
            task = progress.add_task("importing", total=total)
            report = import_contacts(
                path=file,
                uow=application.uow(),
                scoring=application.scoring,
                defaults=application.row_defaults,
                now=application.now(),
                progress=lambda n: progress.advance(task, n),
                encoding=encoding,
                max_cell_chars=application.limits.csv_cell_chars,
                erasure=application.known_erasure_keys,
            )
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"{report.rows} rows in {report.seconds:.1f} s: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{len(report.rejected)} rejected"
        )
        for rejection in report.rejected:
            err_console.print(f"{file}:{rejection.row}: rejected: {rejection.reason}", markup=False)
    if report.rejected:
        raise typer.Exit(3)


@app.command("list")
def list_(
    where: str | None = typer.Option(
        None, "--where", help='An expression on contact, e.g. "contact.score >= 40".'
    ),
    stage: str | None = typer.Option(None, "--stage", help="Only this lifecycle stage."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many."),
    as_json: bool = _JSON,
) -> None:
    """Contacts by id: name, company, stage, score and temperature, owner.

    Example: nurture contacts list --stage lead --where "contact.score >= 40"
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            rows = list_contacts(uow=uow, where=where, stage=stage, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "company", "stage", "score", "owner")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"] or "—",
            row["company"] or "—",
            row["stage"],
            f"{row['score']} {row['temperature']}",
            row["owner"] or "—",
        )
    console.print(table)
    console.print(f"{len(rows)} contact(s)" + (" (--limit reached)" if len(rows) == limit else ""))


def _count_rows(file: Path) -> int | None:
    try:
        with file.open("rb") as stream:
            return max(sum(1 for _ in stream) - 1, 0)
    except OSError:
        return None


def _progress(*, disable: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    )


@contact_app.command("show")
def show(
    ref: str = typer.Argument(..., help="Contact id, email or external id."),
    audit: bool = typer.Option(
        False, "--audit", help="The audit trail: who changed what, when and why."
    ),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Attributes, stage and its history, score with every rule's points, BANT.

    With --audit: every change to the contact's consent, stage, suppressions, BANT and
    enrollments, who or what made it, when and why (append-only; kept after an erasure).

    Example: nurture contact show crm-000001 --audit
    """
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        if audit:
            with application.uow(read_only=True) as uow:
                trail = audit_trail(uow=uow, ref=ref)
            _print_audit(trail, as_json=as_json)
            return
        with application.uow(read_only=True) as uow:
            view = contact_view(
                uow=uow, scoring=application.scoring, ref=ref, now=application.now()
            )
    if as_json:
        print_json(view)
    else:
        _print_contact(view)


@contact_app.command("export")
def export(
    ref: str = typer.Argument(..., help="Contact id, email or external id."),
    as_json: bool = _JSON,
) -> None:
    """Everything held about one person: attributes, consent, enrollments, touches, events,
    score and stage history, call tasks and notes, suppressions, decisions (an access
    request). Without --json, how much of each there is.

    Example: nurture contact export crm-000001 --json > crm-000001.json
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            data = export_contact(uow=uow, ref=ref, now=application.now())
    if as_json:
        print_json(data)
        return
    contact = data["contact"]
    console.print(f"contact #{contact['id']} {contact['email'] or ''}", markup=False)
    table = Table("held", "items")
    for key, value in data.items():
        if isinstance(value, list):
            table.add_row(key.replace("_", " "), str(len(value)))
    console.print(table)
    console.print("everything, as JSON: nurture contact export ID --json", markup=False)


def _print_audit(trail: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print_json(trail)
        return
    title = f"audit trail of contact #{trail['contact_id']}"
    if trail["forgotten_at"]:
        title += f" (forgotten {trail['forgotten_at'][:10]})"
    table = Table(title=title)
    for column in ("at", "by", "change", "why"):
        table.add_column(column, overflow="fold")
    for line in trail["audit"]:
        at = line["at"][:16].replace("T", " ")
        table.add_row(at, line["by"], f"{line['what']}: {line['change']}", line["why"])
    console.print(table)
    if not trail["audit"]:
        console.print("nothing changed since the contact was created", markup=False)


@contact_app.command("forget")
def forget(
    ref: str = typer.Argument(..., help="Contact id, email or external id."),
    reason: str = typer.Option(..., "--reason", help="Why (an erasure request, its date)."),
    by: str = typer.Option("ops", "--by", help="Who asked for it (kept in the audit trail)."),
    as_json: bool = _JSON,
) -> None:
    """Erase a person: attributes, message copies, notes, event payloads and replies.

    Pending touches and tasks are cancelled; counts, stages and scores stay, anonymous,
    so that reports stay true. Keyed hashes of the email, phone and external id stay on
    the suppression list: a later import or event for the person is refused. Forgetting
    the same person again changes nothing.

    Example: nurture contact forget crm-000042 --reason "erasure request of 2026-03-02"
    """
    with reporting_errors():
        application = bootstrap()
        eraser = Eraser(
            application.run_context(), application.erasure_keys, application.erase_copies
        )
        with application.uow() as uow:
            report = forget_contact(uow=uow, ref=ref, reason=reason, by=by, eraser=eraser)
    if as_json:
        print_json(report.as_dict())
    elif report.already is not None:
        console.print(
            f"contact {report.contact_id} was already forgotten on "
            f"{report.already.date().isoformat()}: nothing to do",
            markup=False,
        )
    else:
        erased = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in report.erased.items())
        text = (
            f"forgot contact {report.contact_id}: {report.enrollments_ended} enrollment(s) "
            f"ended, {report.tasks_cancelled} task(s) cancelled, {erased} cleared, "
            f"{report.files_removed} outbox file(s) removed"
        )
        console.print(textwrap.fill(text, width=78, subsequent_indent="  "), markup=False)


@app.command("retention")
def retention(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List who would be forgotten; change nothing."
    ),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Forget contacts idle past the retention period (--dry-run: who would go).

    The rule: no interaction for NURTURE_RETENTION_MONTHS (36) and nothing open: not a
    customer, in no running sequence, no open call task. The daily run applies it too.

    Example: nurture contacts retention --dry-run
    """
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        months = application.settings.privacy.retention_months
        ctx = application.run_context()
        keys = None if dry_run else application.erasure_keys
        with application.uow() as uow:
            report = apply_retention(
                uow=uow, months=months, ctx=ctx, keys=keys,
                erase_copies=application.erase_copies, dry_run=dry_run,
            )  # fmt: skip
    if as_json:
        print_json(report.as_dict())
        return
    if report.cutoff is None:
        console.print("retention is off (NURTURE_RETENTION_MONTHS=0)", markup=False)
        return
    since = report.cutoff.date().isoformat()
    verb = "would be forgotten" if dry_run else "forgotten"
    console.print(f"{len(report.contact_ids)} contact(s) {verb}", markup=False)
    console.print(f"  no interaction since {since} ({months} months), nothing open", markup=False)
    if report.contact_ids:
        shown = ", ".join(str(i) for i in report.contact_ids[:50])
        more = len(report.contact_ids) - 50
        text = f"ids: {shown}" + (f" and {more} more (--json lists 200)" if more > 0 else "")
        console.print(textwrap.fill(text, width=78, subsequent_indent="  "), markup=False)


def _print_contact(view: dict[str, Any]) -> None:
    contact = view["contact"]
    name = " ".join(p for p in (contact["first_name"], contact["last_name"]) if p)
    console.print(f"[bold]{escape(name or contact['email'])}[/] (#{contact['id']})", markup=True)
    attributes = Table(show_header=False, box=None)
    for key, value in contact.items():
        if value not in (None, "") and key != "id":
            attributes.add_row(key, str(value))
    for key, value in view["custom"].items():
        attributes.add_row(f"custom.{key}", str(value))
    attributes.add_row("consent", f"email {view['consent']['email']}, sms {view['consent']['sms']}")
    console.print(attributes)
    score = view["score"]
    console.print(
        f"\nstage [bold]{view['stage']}[/] · score [bold]{score['score']}[/] "
        f"(fit {score['fit']:g} + interest {score['interest']:g}) · "
        f"{view['temperature']} · deal band {view['deal_band']}",
        markup=True,  # stage, score and bands are nurture's own words and numbers
    )
    breakdown = Table("part", "rule", "points", "why", title=f"why {score['score']}?")
    for item in score["contributions"]:
        breakdown.add_row(item["part"], item["rule"], f"{item['points']:+g}", item["detail"])
    console.print(breakdown)
    bant = ", ".join(f"{k}: {v or '—'}" for k, v in view["bant"].items())
    console.print(f"BANT: {bant}")
    if view["bant_missing_for_prospect"]:
        missing = ", ".join(view["bant_missing_for_prospect"])
        console.print(f"  missing to become a prospect: {missing}")
    history = Table("at", "from", "to", "reason", title="stage history")
    for change in view["stage_history"]:
        history.add_row(change["at"], change["from"], change["to"], change["reason"])
    console.print(history)
    if view["enrollments"]:
        enrolled = Table("sequence", "version", "status", "next step", "due", title="sequences")
        for e in view["enrollments"]:
            enrolled.add_row(
                e["sequence"],
                str(e["version"]),
                e["status"],
                str(e["step"] + 1),
                e["next_due_at"] or "—",
            )
        console.print(enrolled)
    timeline = Table("at", "kind", "what", "detail", title="timeline (newest first)")
    for item in view["timeline"][:40]:
        timeline.add_row(item["at"] or "", item["kind"], item["what"], item["detail"])
    console.print(timeline)
