"""``nurture run``, ``nurture dispatch`` and ``nurture serve``: the flows, from the shell."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from nurture.cli._common import (
    console,
    err_console,
    parse_as_of,
    print_json,
    reporting_errors,
    require_link_secret,
)
from nurture.views.wording import words

_JSON = typer.Option(False, "--json", help="Print the run summary as JSON.")
_AS_OF = typer.Option(
    None, "--as-of", help="Run as if it were this ISO date-time (reproducible runs)."
)


def _quiet_prefect(as_json: bool) -> None:
    # Prefect logs to the console; with --json, stdout carries the summary only.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if as_json:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def run(
    as_of: str | None = _AS_OF,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Plan and render what is due; send nothing, change nothing."
    ),
    listed: bool = typer.Option(
        False, "--list", help="With --dry-run: who would get what, and when."
    ),
    as_json: bool = _JSON,
) -> None:
    """Run the daily flow once: ingest, score, plan, execute in batches, report.

    It is the same flow the deployment schedules; without a Prefect server it runs on
    Prefect's ephemeral API.

    Example: nurture run --dry-run --list
    """
    _quiet_prefect(as_json)
    moment = parse_as_of(as_of)
    if not dry_run:
        require_link_secret()
    with reporting_errors():
        from nurture.orchestration.flows import (
            configured_daily_run,
            on_progress,
            start_workers_early,
            without_idle_heartbeats,
        )

        if not dry_run:
            # One moment for the early start and the run, so the run takes what was built.
            moment = moment or datetime.now(UTC)
            start_workers_early(moment)  # while Prefect's API starts
        daily_run = configured_daily_run()
        with (
            _bar("planning and sending", shown=not as_json and not dry_run) as advance,
            on_progress(advance),
            without_idle_heartbeats(),
        ):
            summary = daily_run(as_of=moment.isoformat() if moment else None, dry_run=dry_run)
    if as_json:
        print_json(summary)
    elif dry_run:
        _print_dry_run(summary, listed=listed)
    else:
        print_summary(summary)


@contextmanager
def _bar(label: str, *, shown: bool) -> Iterator[Callable[[float], None]]:
    """A progress bar of the run on a terminal (never in --json or a pipe)."""
    if not shown or not err_console.is_terminal:
        yield lambda _done: None
        return
    with Progress(
        TextColumn(label), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(label, total=1.0)
        yield lambda done: progress.update(task, completed=done)


def dispatch(as_of: str | None = _AS_OF, as_json: bool = _JSON) -> None:
    """Release touches whose delivery time has come (the flow a schedule runs every few
    minutes).

    Example: nurture dispatch --json
    """
    _quiet_prefect(as_json)
    moment = parse_as_of(as_of)
    require_link_secret()
    with reporting_errors():
        from nurture.orchestration.flows import dispatch as dispatch_flow
        from nurture.orchestration.flows import on_progress, without_idle_heartbeats

        with (
            _bar("sending", shown=not as_json) as advance,
            on_progress(advance),
            without_idle_heartbeats(),
        ):
            summary = dispatch_flow(as_of=moment.isoformat() if moment else None)
    if as_json:
        print_json(summary)
    else:
        print_summary(summary)


def print_summary(summary: dict[str, Any]) -> None:
    """The run summary as tables."""
    executed, delivery, effects = summary["execute"], summary["delivery"], summary["effects"]
    console.print(f"[bold]{summary['run_id']}[/] as of {summary['as_of']}", markup=True)
    table = Table("what", "count", title="touches")
    for channel, count in sorted(executed["sent"].items()):
        table.add_row(f"sent: {channel}", str(count))
    for reason, count in sorted(executed["failed"].items()):
        table.add_row(f"failed: {reason}", str(count))
    for reason, count in sorted(delivery.get("cancelled_by_reason", {}).items()):
        table.add_row(f"cancelled: {reason}", str(count))
    for reason, count in sorted(delivery["deferred"].items()):
        table.add_row(f"deferred: {reason}", str(count))
    for hour, count in delivery["scheduled_later_today_by_hour"].items():
        table.add_row(f"scheduled for {hour}", str(count))
    for reason, count in sorted((summary.get("plan") or {}).get("skipped", {}).items()):
        table.add_row(f"skipped: {reason}", str(count))
    table.add_row("held for a later run", str(delivery["held_for_later_run"]))
    table.add_row("unknown outcome (reconciling)", str(executed["unknown_outcome"]))
    ingest = summary.get("ingest") or {}
    if ingest:
        table.add_row("events applied", str(ingest.get("applied", 0)))
        table.add_row("events quarantined (events list --failed)", str(ingest.get("failed", 0)))
    retention = summary.get("retention") or {}
    if retention.get("forgotten"):
        table.add_row("contacts forgotten (retention)", str(retention["forgotten"]))
    console.print(table)
    console.print(
        f"stage changes {words(effects['stage_changes'])} · exits {words(effects['exits'])} · "
        f"hand-off tasks {effects['handoff_tasks']} · call tasks {executed['call_tasks']}"
    )
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in summary["timings"].items() if v is not None)
    console.print(f"timings: {timings}")


def _print_dry_run(summary: dict[str, Any], *, listed: bool) -> None:
    console.print("[bold]dry run[/]: nothing sent, nothing changed", markup=True)
    plan = summary["plan"]
    channels = Table("channel", "now", "planned in all", title="by channel")
    for channel in sorted(set(plan["planned"]) | set(summary["would_send"])):
        channels.add_row(
            channel,
            str(summary["would_send"].get(channel, 0)),
            str(plan["planned"].get(channel, 0)),
        )
    console.print(channels)
    steps = Table("sequence", "step", "channel", "touches", title="next 24 hours, by step")
    for row in summary["by_step"]:
        steps.add_row(row["sequence"], row["step"], row["channel"], str(row["touches"]))
    console.print(steps)
    console.print(f"would send now: {words(dict(summary['would_send']))}")
    console.print(
        f"deferred: {words(plan['deferred'])} · skipped: {words(plan['skipped'])} · "
        f"held for a later run: {plan['held_for_later_run']}"
    )
    if listed:
        who = Table("at", "contact", "to", "sequence/step", "channel", title="who gets what")
        for t in summary["touches"]:
            who.add_row(
                t["at"].replace("T", " "), str(t["contact_id"]), t["to"] or "—",
                f"{t['sequence']}/{t['step']}", t["channel"],
            )  # fmt: skip
        console.print(who)
    for failure in summary["would_fail"]:
        console.print(
            f"  would not go: {failure['touch']} contact {failure['contact_id']}: "
            f"{failure['reason']}"
        )
    forget = summary.get("would_forget") or {}
    if forget.get("forgotten"):
        console.print(
            f"retention would forget {forget['forgotten']} contact(s)\n"
            "  (nurture contacts retention --dry-run lists them)"
        )
    if summary["sandbox_checked"]:
        console.print(f"{summary['sandbox_checked']} emails checked by SendGrid in sandbox mode")


def register(app: typer.Typer) -> None:
    """Add the run commands to the main app."""
    app.command("run")(run)
    app.command("dispatch")(dispatch)
