"""A rep's hand: ``nurture enrollments list|pause|resume|stop`` and ``nurture send-test``."""

from __future__ import annotations

import getpass

import typer
from rich.table import Table

from nurture.bootstrap import bootstrap
from nurture.cli._common import console, parse_as_of, print_json, reporting_errors
from nurture.commands.control import change_enrollments, select_enrollments
from nurture.commands.lookup import require_contact
from nurture.commands.send_test import sample_contact, send_test
from nurture.views.lists import list_enrollments

app = typer.Typer(help="Where contacts stand in their sequences; pause, resume, stop.")

_JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
_CONTACT = typer.Option(None, "--contact", help="Contact id, email or external id.")
_SEQUENCE = typer.Option(None, "--sequence", help="Only this sequence.")
_WHERE = typer.Option(None, "--where", help="Every contact matching this expression.")
_REASON = typer.Option(..., "--reason", help="Why (kept in the contact's history).")
_BY = typer.Option(None, "--by", help="Who makes the change (default: your login name).")
_AS_OF = typer.Option(None, "--as-of", help="Act at this ISO date-time instead of now.")


@app.command("list")
def list_(
    contact: str | None = _CONTACT,
    sequence: str | None = _SEQUENCE,
    status: str | None = typer.Option(
        None, "--status", help="active, paused, running, completed or exited."
    ),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many."),
    as_json: bool = _JSON,
) -> None:
    """Enrollments, newest first: contact, sequence, status, next step and when.

    Example: nurture enrollments list --status paused
    """
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            rows = list_enrollments(
                uow=uow, contact_ref=contact, sequence_id=sequence, status=status, limit=limit
            )
    if as_json:
        print_json(rows)
        return
    table = Table("id", "contact", "sequence", "status", "step", "next due")
    for row in rows:
        due = row["paused_until"] and f"paused until {row['paused_until'][:16]}"
        table.add_row(
            str(row["id"]),
            row["email"] or str(row["contact_id"]),
            f"{row['sequence']} v{row['version']}",
            row["status"],
            str(row["step"]),
            due or (row["next_due_at"] or "—")[:16],
        )
    console.print(table)
    console.print(f"{len(rows)} enrollment(s)")


def _change(
    action: str,
    contact: str | None,
    sequence: str | None,
    where: str | None,
    reason: str,
    by: str | None,
    as_of: str | None,
    as_json: bool,
) -> None:
    with reporting_errors():
        application = bootstrap(as_of=parse_as_of(as_of))
        with application.uow() as uow:
            chosen = select_enrollments(
                uow=uow, contact_ref=contact, sequence_id=sequence, where=where
            )
            report = change_enrollments(
                uow=uow,
                enrollments=chosen,
                action=action,
                reason=reason,
                by=by or _login(),
                ctx=application.run_context(),
            )
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"{len(report.changed)} enrollment(s): {action}", markup=False)
    for enrollment, why in report.unchanged:
        console.print(f"  enrollment {enrollment}: unchanged ({why})", markup=False)


def _action(action: str, doc: str) -> None:
    """Register ``nurture enrollments ACTION`` (pause, resume and stop share options)."""

    def command(
        contact: str | None = _CONTACT,
        sequence: str | None = _SEQUENCE,
        where: str | None = _WHERE,
        reason: str = _REASON,
        by: str | None = _BY,
        as_of: str | None = _AS_OF,
        as_json: bool = _JSON,
    ) -> None:
        _change(action, contact, sequence, where, reason, by, as_of, as_json)

    command.__doc__ = (
        f'{doc}\n\nExample: nurture enrollments {action} --contact crm-000001 --reason "on leave"'
    )
    app.command(action)(command)


_action("pause", "Pause running enrollments where they are; what was planned and not sent waits.")
_action(
    "resume", "Resume paused enrollments; their due dates move later by the length of the pause."
)
_action("stop", "End running enrollments (exited:manual) and cancel what they had planned.")


def send_test_command(
    sequence: str = typer.Argument(..., help="Sequence id."),
    step: str = typer.Argument(..., help="Step id, as in the sequence file."),
    to: str = typer.Option(..., "--to", help="Your own email address or phone number."),
    contact: str | None = typer.Option(
        None, "--contact", help="Render for this contact (default: a sample one)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Send one step to yourself, rendered for a contact, with [TEST] in front.

    It goes through the configured driver (SendGrid, Twilio or the outbox) and is recorded
    nowhere: no touch, no budget, no statistics.

    Example: nurture send-test cold-outbound email-1 --to me@example.com
    """
    with reporting_errors():
        application = bootstrap()
        if contact is None:
            person = sample_contact(application.settings.project.default_language)
        else:
            with application.uow(read_only=True) as uow:
                person = require_contact(uow, contact)
        sent = send_test(
            project=application.project,
            sender=application.sender,
            delivery=application.delivery,
            contact=person,
            sequence_id=sequence,
            step_id=step,
            to=to,
            region=application.settings.project.default_region,
        )
    if as_json:
        print_json(sent)
        return
    what = f"“{sent['subject']}”" if sent["subject"] else "the SMS"
    console.print(f"sent {what} to {sent['to']} through {sent['provider']}", markup=False)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (a container)
        return "unknown"


def register(root: typer.Typer) -> None:
    """Add the enrollment commands and send-test to the main app."""
    root.add_typer(app, name="enrollments", no_args_is_help=True)
    root.command("send-test")(send_test_command)
