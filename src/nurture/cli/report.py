"""``nurture report``: the pipeline and how each sequence performs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nurture.bootstrap import bootstrap
from nurture.cli._common import console, fail, print_json, reporting_errors
from nurture.domain.contacts import Temperature
from nurture.views.report_html import render_html
from nurture.views.reports import report as build_report

__all__ = ["print_report", "register"]


def report(
    since: str | None = typer.Option(None, "--since", help="Only activity since this ISO date."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML page."),
) -> None:
    """Funnel by stage × temperature, conversions with median days per stage, and per
    sequence and step: sent, delivered, opened, clicked, replied, meetings, exits,
    unsubscribes, deferrals.

    Example: nurture report --since 2026-03-01 --html report.html
    """
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not an ISO date (e.g. 2026-03-01)")
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    with reporting_errors():
        application = bootstrap()
        with application.uow(read_only=True) as uow:
            data = build_report(uow.reports, since=start)
    if html is not None:
        html.write_text(render_html(data), encoding="utf-8")
    if as_json:
        print_json(data)
    else:
        print_report(data)
        if html is not None:
            console.print(f"HTML report written to {html}")


def print_report(data: dict[str, Any]) -> None:
    """The report as tables."""
    temperatures = [t.value for t in Temperature]
    funnel = Table("stage", *temperatures, "total", title="funnel")
    for row in data["funnel"]["rows"]:
        funnel.add_row(row["stage"], *(str(row[t]) for t in temperatures), str(row["total"]))
    console.print(funnel)
    if data.get("forgotten"):
        console.print(
            f"{data['forgotten']} of them forgotten (erasure or retention): counted, anonymous"
        )
    conversion = Table("step", "reached", "rate", "median days before", title="conversion")
    for step in data["conversion"]["steps"]:
        rate = "—" if step["rate"] is None else f"{step['rate']:.1%}"
        days = "—" if step["median_days_in_from"] is None else str(step["median_days_in_from"])
        conversion.add_row(f"{step['from']} → {step['to']}", str(step["reached"]), rate, days)
    console.print(conversion)
    for sequence in data["sequences"]:
        exits = ", ".join(f"{k} {v}" for k, v in sequence["exits"].items()) or "none"
        table = Table(
            "step",
            "sent",
            "open",
            "click",
            "reply",
            "meet",
            "unsub",
            "fail",
            title=f"{sequence['sequence']} — active {sequence['active']}, "
            f"completed {sequence['completed']}, exits: {exits}",
        )
        table.columns[0].overflow = "fold"  # a long step id wraps; it is never cut
        for step in sequence["steps"]:
            sent = step["sent"]
            table.add_row(
                step["step"],
                str(sent),
                *(_rate(step[key], sent) for key in ("opened", "clicked", "replied", "meetings")),
                str(step["unsubscribed"]),
                str(step["failed"]),
            )
        console.print(table)
    console.print(
        "open, click, reply, meet: share of the step's sent touches that were opened, "
        "clicked, answered or led to a meeting (counts, deliveries and deferrals: --json)",
        markup=False,
        soft_wrap=False,  # a legend wraps at the terminal's width
    )
    if data["unattributed"]:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(data["unattributed"].items()))
        console.print(
            f"not credited to a step: {counts} (no touch id, and no email in the 7 days before)",
            markup=False,
            soft_wrap=False,
        )


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def register(app: typer.Typer) -> None:
    """Add ``report`` to the main app."""
    app.command("report")(report)
