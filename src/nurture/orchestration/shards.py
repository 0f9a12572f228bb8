"""Scale-out: a daily run's planning and sending split across Prefect workers.

With ``NURTURE_SHARDS=N`` and a Prefect server, the daily run starts N flow runs of the
``shard`` deployment (``nurture deploy`` registers it on the ``nurture`` work pool; ``nurture
serve`` serves it). Shard i plans the due contacts whose id is i modulo N (a contact's
pressure budget is never split), sending what is due now as it plans them, then sends
whatever else is due, claiming batches with ``FOR UPDATE SKIP LOCKED``: any number of
workers, on any machines, share one run and each touch is sent once. Each shard records
its report as a part of the run (``RUN/shard-i``) in the database, which every machine
shares; the daily run merges them into its summary.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run as flow_run_runtime
from prefect.states import Cancelled

from nurture.bootstrap import App, bootstrap
from nurture.orchestration import cores, phases
from nurture.orchestration.retrying import RETRYING
from nurture.settings import load_settings

__all__ = ["SHARD_DEPLOYMENT", "across_workers", "run_shard"]

#: The deployment the daily run starts its shards from (flow name / deployment name).
SHARD_DEPLOYMENT = "run-shard/shard"

#: How long the shards left may wait for a worker while none is being run, before the
#: daily run gives up on them (fewer workers than shards take them one after another).
PICKUP_SECONDS = 600.0
_POLL_SECONDS = 0.5


#: Retries as every task's; the application is an argument here: nothing to hash or cache.
_RETRYING: dict[str, Any] = {**RETRYING, "cache_policy": NO_CACHE}


def _shard_app(as_of: str, shards: int) -> App:
    """This worker's application, from its environment, paced to its share of the
    providers' rate limits."""
    settings = cores.paced(load_settings().settings, shards)
    return bootstrap(settings, as_of=datetime.fromisoformat(as_of))


@task(name="plan-shard", **_RETRYING)
def _plan(app: App, run_id: str, shard: int, shards: int) -> dict[str, Any]:
    return phases.plan(app, run_id, shard=(shard, shards), sender=f"shard-{shard}/plan")


@task(name="send-due", **_RETRYING)
def _send(app: App, run_id: str, shard: int) -> dict[str, Any]:
    return phases.execute(app, run_id, worker=f"shard-{shard}")


@flow(name="run-shard", log_prints=False)
def run_shard(run_id: str, as_of: str, shard: int, shards: int) -> dict[str, Any]:
    """Plan shard ``shard`` of ``shards`` of the run's due contacts, sending what is due
    now as it goes, then send whatever else is due."""
    app = _shard_app(as_of, shards)
    part = phases.start(app, kind="shard", run_id=f"{run_id}/shard-{shard}")
    try:
        planned = _plan(app, run_id, shard, shards)
        sent = phases.merged([planned.pop("execution"), _send(app, run_id, shard)])
        report = {"plan": planned, "execute": sent}
        phases.finish(app, part, report)
    except BaseException:
        phases.finish(app, part, {}, status="failed")
        raise
    finally:
        app.engine.dispose()
    get_run_logger().info(
        "run %s shard %s/%s: planned %s, sent %s",
        run_id, shard + 1, shards, sum(planned["planned"].values()), sum(sent["sent"].values()),
    )  # fmt: skip
    return {"planned": planned["planned"], "sent": sent["sent"]}


def across_workers(
    app: App, run_id: str, as_of: str, shards: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start the run's shards on the work pool, wait for every one, and return the merged
    plan and the shards' executions. Raises when a shard fails or finds no worker."""
    resumed = phases.resume(app, run_id)  # before the planners, once
    parent = flow_run_runtime.name or run_id
    try:
        started = [
            run_deployment(
                SHARD_DEPLOYMENT,
                parameters={"run_id": run_id, "as_of": as_of, "shard": i, "shards": shards},
                flow_run_name=f"{parent}/shard-{i + 1}-of-{shards}",
                idempotency_key=f"{run_id}/shard-{i}",
                timeout=0,
            )
            for i in range(shards)
        ]
    except ObjectNotFound:
        raise RuntimeError(
            f"NURTURE_SHARDS={shards} but the Prefect server has no {SHARD_DEPLOYMENT!r} "
            "deployment: register it with `nurture deploy` (or serve it with `nurture serve`)"
        ) from None
    _wait([cast("FlowRun", run).id for run in started])  # sync: a FlowRun, not a coroutine
    with app.uow(read_only=True) as uow:
        reports = [part["summary"] for part in uow.runs.parts(run_id)]
    plan = phases.merged([report["plan"] for report in reports])
    plan["resumed"] = resumed
    return plan, [report["execute"] for report in reports]


def _wait(ids: list[UUID]) -> None:
    logger = get_run_logger()
    deadline = time.monotonic() + PICKUP_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            wanted = FlowRunFilter(id=FlowRunFilterId(any_=ids))
            runs = client.read_flow_runs(flow_run_filter=wanted)
            waiting = [r for r in runs if r.state is None or not r.state.is_final()]
            failed = [r for r in runs if r.state is not None and r.state.is_final()
                      and not r.state.is_completed()]  # fmt: skip
            if failed:
                raise RuntimeError(
                    f"shard {failed[0].name} ended {failed[0].state_name}: see its logs"
                )
            if not waiting:
                return
            unclaimed = [r for r in waiting if r.state is not None and r.state.is_scheduled()]
            if len(unclaimed) < len(waiting):  # a worker is busy with a shard: more may come
                deadline = time.monotonic() + PICKUP_SECONDS
            elif time.monotonic() > deadline:
                for run in unclaimed:
                    client.set_flow_run_state(run.id, Cancelled(message="no worker took it"))
                logger.error("no worker took %s", ", ".join(r.name for r in unclaimed))
                raise RuntimeError(
                    f"no Prefect worker took {len(unclaimed)} shards in {PICKUP_SECONDS:.0f} s: "
                    "start one with `prefect worker start --pool nurture`"
                )
            time.sleep(_POLL_SECONDS)
