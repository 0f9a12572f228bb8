"""``nurture webhooks``, ``nurture events`` and ``nurture calls``: what comes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from nurture.bootstrap import bootstrap
from nurture.cli._common import (
    console,
    err_console,
    fail,
    parse_as_of,
    print_json,
    reporting_errors,
)
from nurture.commands.calls import dial, log_call, task_for_contact
from nurture.domain.events import CALL_OUTCOMES
from nurture.errors import InputError, Location
from nurture.inbound import read_event_file
from nurture.limits import MAX_DB_ID
from nurture.pipeline.ingest import ApplyReport, ingest_events
from nurture.specs.text import decode_utf8

webhooks_app = typer.Typer(help="The HTTP receiver for SendGrid and Twilio.", no_args_is_help=True)
events_app = typer.Typer(help="Inbound events from files (backfills).", no_args_is_help=True)
calls_app = typer.Typer(help="The reps' call queues.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print JSON.")
_AS_OF = typer.Option(None, "--as-of", help="Act as if it were this ISO date-time.")


@webhooks_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Worker processes sharing the port, up to one per core: one checks "
        "signatures and reads posts while another applies events.",
    ),
) -> None:
    """Serve /webhooks/sendgrid, /webhooks/sendgrid/inbound (replies),
    /webhooks/twilio/status, /webhooks/twilio/inbound, one-click unsubscribe (/u/…) and
    tracked content links (/c/…).

    Set NURTURE_PUBLIC_URL to the address the providers call (Twilio signs the full URL),
    and NURTURE_INBOUND_SECRET or NURTURE_SENDGRID_INBOUND_PUBLIC_KEY to accept replies.

    Example: nurture webhooks serve --port 8765 --workers 2
    """
    import uvicorn

    from nurture.web.app import from_environment

    with reporting_errors():
        asgi = from_environment()
    if workers == 1:
        uvicorn.run(asgi, host=host, port=port, log_level="info")
        return
    # Each worker process builds its own server, as checked above.
    uvicorn.run(
        "nurture.web.app:from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )


@events_app.command("ingest")
def ingest(
    file: Path = typer.Argument(
        ...,
        help="SendGrid JSON, Twilio callback JSON lines, or "
        "generic JSON lines ({id, type, contact, occurred_at, data}).",
    ),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Store events from FILE (duplicates are recognised by provider event id) and apply them.

    Lines that cannot be read are reported with their number; the others are ingested.

    Example: nurture events ingest examples/events.jsonl
    """
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", Location(str(file))) from exc
        text = decode_utf8(data, str(file))
        events, errors = read_event_file(text, source=str(file), now=application.now())
        with application.uow() as uow:
            report = ingest_events(
                uow=uow, events=events, ctx=application.run_context(), rejected=errors
            )
    applied = report.applied or ApplyReport()
    result: dict[str, Any] = {
        "file": str(file),
        "events": len(events),
        "new": report.stored.new,
        "duplicates": report.stored.duplicates,
        "rejected": [str(e) for e in errors],
        "quarantined": report.stored.quarantined,
        **applied.as_dict(),
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{len(events)} events: {report.stored.new} new, {report.stored.duplicates} "
            f"already known; {applied.applied} applied, {applied.unmatched} without a contact, "
            f"{applied.failed} failed (see `nurture events list --failed`)",
            markup=False,
        )
        for error in report.stored.quarantined:
            err_console.print(f"rejected: {error}", markup=False)
    if report.stored.quarantined or applied.failed:
        raise typer.Exit(3)


@events_app.command("list")
def list_events(
    failed: bool = typer.Option(False, "--failed", help="Quarantined events, with their error."),
    unmatched: bool = typer.Option(False, "--unmatched", help="Events that matched no contact."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most this many."),
    as_json: bool = _JSON,
) -> None:
    """Events that need a person: quarantined (--failed) or without a contact (--unmatched).

    Example: nurture events list --failed
    """
    if failed == unmatched:
        fail("choose --failed or --unmatched")
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            rows = (uow.events.failed if failed else uow.events.unmatched)(limit=limit)
    items: list[dict[str, Any]] = [
        {
            "id": row.id,
            "received_at": row.received_at.isoformat(),
            "provider": row.provider,
            "type": row.type,
            "origin": str(
                row.payload.get("origin") or row.payload.get("from") or row.provider_event_id
            ),
            "error": row.error or "",
        }
        for row in rows
    ]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("no " + ("quarantined" if failed else "unmatched") + " events")
        return
    table = Table("event", "received", "type", "from", "why")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["received_at"][:16].replace("T", " "),
            item["type"],
            escape(str(item["origin"])),
            escape(item["error"]),
        )
    console.print(table)


@calls_app.command("list")
def list_calls(
    owner: str | None = typer.Option(None, "--owner", help="Only this rep's queue."),
    show_all: bool = typer.Option(False, "--all", help="Include done and cancelled tasks."),
    as_json: bool = _JSON,
) -> None:
    """The call queue: due time, contact, why, and the script to read.

    Example: nurture calls list --owner camille.martin@vigie-cyber.example
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            tasks = uow.tasks.queue(owner=owner, status=None if show_all else "open")
    if as_json:
        print_json([call.as_row() for call in tasks])
        return
    table = Table("task", "due", "owner", "contact", "phone", "score", "title", "status")
    for call in tasks:
        task = call.task
        table.add_row(
            str(task.id),
            task.due_at.strftime("%Y-%m-%d %H:%M"),
            task.owner or "—",
            call.name or "—",
            call.phone or "—",
            f"{call.score} {call.temperature}",
            task.title,
            task.status,
        )
    console.print(table)


def _bant(values: list[str]) -> dict[str, str]:
    facts: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            key, sep, fact = part.partition("=")
            if not sep or key.strip() not in {"need", "authority", "budget", "timing"}:
                fail(f"--bant {part!r}: expected need=…, authority=…, budget=… or timing=…")
            facts[key.strip()] = fact.strip()
    return facts


@calls_app.command("log")
def log(
    task: int | None = typer.Argument(
        None, min=1, max=MAX_DB_ID, help="Task id (see `nurture calls list`)."
    ),
    contact: str | None = typer.Option(
        None, "--contact", help="Or the contact called (its open task, else a new one)."
    ),
    outcome: str = typer.Option(..., "--outcome", help=" | ".join(CALL_OUTCOMES)),
    bant: list[str] = typer.Option(
        [], "--bant", help="Facts learnt: need=…,authority=…,budget=…,timing=… (repeatable)."
    ),
    note: str | None = typer.Option(None, "--note", help="What was said."),
    as_json: bool = _JSON,
    as_of: str | None = _AS_OF,
) -> None:
    """Record a call's outcome: it is scored, may end sequences (meeting booked), and sets
    BANT facts.

    Example: nurture calls log --contact crm-000001 --outcome meeting_booked
    """
    if (task is None) == (contact is None):
        fail("give a task id, or --contact ID (one of them)")
    if outcome not in CALL_OUTCOMES:
        fail(f"--outcome {outcome!r}: expected one of {', '.join(CALL_OUTCOMES)}")
    facts = _bant(bant)
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        with application.uow() as uow:
            if task is None:
                task = task_for_contact(
                    uow=uow, ref=contact or "", owner=None, now=application.now()
                )
            result = log_call(
                uow=uow,
                ctx=application.run_context(),
                task_id=task,
                outcome=outcome,
                bant=facts,
                note=note,
            )
    if as_json:
        print_json(result)
    else:
        console.print(
            f"task {task}: {outcome} logged for contact {result['contact_id']}; "
            f"score {result['score']} ({result['temperature']}), "
            f"stage {result['stage']}"
        )
        for reason, count in result["exits"].items():
            console.print(f"  left {count} sequence(s): {reason}")


@calls_app.command("dial")
def dial_command(
    task: int = typer.Argument(..., min=1, max=MAX_DB_ID, help="Task id."),
    rep_phone: str = typer.Option(..., "--rep-phone", help="The rep's phone (E.164)."),
) -> None:
    """Click-to-call: Twilio rings the rep, then bridges them to the contact.

    Example: nurture calls dial 12 --rep-phone +33612345678
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            sid = dial(uow=uow, dialer=application.dialer, task_id=task, rep_phone=rep_phone)
    console.print(f"calling {rep_phone}, then the contact (Twilio call {sid})")


def register(app: typer.Typer) -> None:
    """Add the channel commands to the main app."""
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(events_app, name="events")
    app.add_typer(calls_app, name="calls")
