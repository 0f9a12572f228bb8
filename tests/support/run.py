"""Running the daily phases without Prefect (the flow tests cover Prefect itself)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nurture.bootstrap import App
from nurture.orchestration import phases

__all__ = ["a_day_of_runs", "dispatch_once", "run_once"]


def run_once(app: App, *, planning_sends: bool = True) -> dict[str, Any]:
    """ingest → score → reconcile → plan, sending what is due now → execute what is left
    → summary, at ``app``'s moment, as the daily flow does. Without ``planning_sends``,
    planning only plans, and the execute batches claim and send everything due.

    A failure marks the run failed, as the flow does, so that the next run reconciles it.
    """
    run_id = phases.start(app)
    try:
        parts = {
            "ingest": phases.ingest(app, run_id),
            "retention": phases.retention(app, run_id),
            "score": phases.score(app, run_id),
            "reconcile": phases.reconcile_unknown(app, run_id),
            "plan": phases.plan(app, run_id, sender="plan" if planning_sends else None),
        }
        executions = [parts["plan"].pop("execution")] if planning_sends else []
        executions.append(phases.execute(app, run_id, worker="test"))
        summary = phases.summarize(app, run_id, phases=parts, executions=executions)
    except BaseException:
        phases.finish(app, run_id, {}, status="failed")
        raise
    phases.finish(app, run_id, summary)
    return summary


def dispatch_once(app: App) -> dict[str, Any]:
    """The dispatch flow's work: reconcile, then release touches whose time has come."""
    run_id = phases.start(app, kind="dispatch")
    parts = {"reconcile": phases.reconcile_unknown(app, run_id)}
    execution = phases.execute(app, run_id, worker="dispatch")
    summary = phases.summarize(app, run_id, phases=parts, executions=[execution])
    phases.finish(app, run_id, summary)
    return summary


def a_day_of_runs(
    at: Callable[[datetime], App],
    day: date,
    *,
    every: timedelta = timedelta(hours=1),
    daily_at: time = time(8, 0),
    zone: str = "Europe/Paris",
) -> list[dict[str, Any]]:
    """The daily run at 08:00 (Paris), then a dispatch every ``every`` until the next day."""
    start = datetime.combine(day, daily_at, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    summaries = [run_once(at(start))]
    moment = start + every
    while moment < start + timedelta(days=1):
        summaries.append(dispatch_once(at(moment)))
        moment += every
    return summaries
