"""The naive design, for comparison: one Prefect task per touch.

The same services do the same work, one touch at a time, each in its own task run.
Usage (in a subprocess, settings in the environment): python bench/naive.py AS_OF LIMIT
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from nurture.bootstrap import bootstrap
from nurture.orchestration import phases
from nurture.pipeline.execute import execute_batch


@task(name="one-touch")
def one_touch(as_of: str, run_id: str) -> int:
    app = _app(as_of)
    with app.uow() as uow:
        report = execute_batch(
            uow=uow,
            ctx=app.run_context(run_id=run_id),
            delivery=app.delivery,
            worker=f"{run_id}/naive",
            batch_size=1,
        )
    return report.claimed


_apps: dict[str, object] = {}


def _app(as_of: str):  # type: ignore[no-untyped-def]
    if as_of not in _apps:
        _apps[as_of] = bootstrap(as_of=datetime.fromisoformat(as_of))
    return _apps[as_of]


@flow(name="naive-one-task-per-touch", task_runner=ThreadPoolTaskRunner(max_workers=2))
def naive(as_of: str, limit: int) -> dict[str, float]:
    """Plan the base, then send what is due now one task per touch. Timed like the
    flow: plan and execute, per due step."""
    app = _app(as_of)
    due_steps = phases.count_due_steps(app)  # type: ignore[arg-type]
    started = time.perf_counter()
    run_id = phases.start(app)  # type: ignore[arg-type]
    phases.plan(app, run_id)  # type: ignore[arg-type]
    due = min(phases.count_due_now(app), limit)  # type: ignore[arg-type]
    futures = [one_touch.submit(as_of, run_id) for _ in range(due)]
    sent = sum(f.result() for f in futures)
    return {"due_steps": due_steps, "touches": sent, "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    from prefect import flow as warm

    @warm(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()
    sys.stdout.write(json.dumps(naive(sys.argv[1], int(sys.argv[2]))) + "\n")
