"""Running the daily phases without Prefect (the flow tests cover Prefect itself)."""

from __future__ import annotations

from typing import Any

from nurture.bootstrap import App
from nurture.orchestration import phases

__all__ = ["run_once"]


def run_once(app: App) -> dict[str, Any]:
    """ingest → score → plan → reconcile → execute → summary, at ``app``'s moment.

    A failure marks the run failed, as the flow does, so that the next run reconciles it.
    """
    run_id = phases.start(app)
    try:
        parts = {
            "ingest": phases.ingest(app, run_id),
            "score": phases.score(app, run_id),
            "plan": phases.plan(app, run_id),
            "reconcile": phases.reconcile_unknown(app, run_id),
        }
        execution = phases.execute(app, run_id, worker="test")
        summary = phases.summarize(app, run_id, phases=parts, executions=[execution])
    except BaseException:
        phases.finish(app, run_id, {}, status="failed")
        raise
    phases.finish(app, run_id, summary)
    return summary
