"""``nurture demo``: the product end to end on embedded defaults."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nurture.cli._common import console, err_console, reporting_errors
from nurture.cli.report import print_report


def demo(
    directory: Path = typer.Option(
        Path("nurture-demo"), "--dir", help="Folder for the demo project (recreated each run)."
    ),
    contacts: int = typer.Option(1000, "--contacts", min=10, help="Sample contacts."),
    days: int = typer.Option(60, "--days", min=1, max=400, help="Days to simulate."),
    seed: int = typer.Option(7, "--seed", help="Seed of the sample base and of the simulation."),
) -> None:
    """Simulate a team's first weeks: sample contacts, daily runs, engagement, the report.

    Creates DIR with a project (sequences, scoring, templates), imports sample French and
    English B2B contacts, runs the daily flow for each simulated day against local stand-ins
    of SendGrid and Twilio (no account needed) while simulated contacts open, click, reply,
    answer calls and sign, then prints the report and writes DIR/report.html.

    Example: nurture demo
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from nurture.demo.runner import DemoOptions, run_demo

    started = time.perf_counter()
    with (
        reporting_errors(),
        Progress(
            TextColumn("[bold]simulating[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress,
    ):
        task = progress.add_task("setting up", total=days)
        data = run_demo(
            DemoOptions(directory=directory.resolve(), contacts=contacts, days=days, seed=seed),
            progress=lambda n, what: progress.update(task, advance=n, description=what),
        )
    print_report(data)
    stats = data["demo"]
    console.print(
        f"\n{days} days in {time.perf_counter() - started:.0f} s: {stats.get('emails', 0)} emails, "
        f"{stats.get('sms', 0)} SMS, {stats.get('calls', 0)} calls logged, "
        f"{stats.get('purchases', 0)} purchases."
    )
    console.print(f"HTML report: {directory / 'report.html'}")
    console.print(  # the demo is a project: nurture finds it, and its database, from inside
        f"Look around: . .venv/bin/activate && cd {directory} && nurture contact show crm-000001"
    )
