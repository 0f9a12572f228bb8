"""Prefect flows: ``daily-run`` (the morning schedule) and ``dispatch`` (every few minutes).

Flows are thin: each task calls one phase over a batch of contacts or touches; retries
live on the decorators and only cover a database that is briefly unavailable. One task per
batch of touches (``NURTURE_BATCH_SIZE``, hundreds to thousands), never one per contact.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run as flow_run_runtime
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    get_current_settings,
    temporary_settings,
)
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from nurture.bootstrap import App, bootstrap
from nurture.orchestration import cores, phases, shards
from nurture.orchestration.artifacts import publish
from nurture.orchestration.retrying import RETRYING
from nurture.settings import RunSettings, load_settings
from nurture.views.wording import words

__all__ = [
    "configured_daily_run",
    "daily_run",
    "dispatch",
    "running_with",
    "start_workers_early",
]

_apps: dict[str, App] = {}
_apps_lock = threading.Lock()


def _from_environment(moment: datetime) -> App:
    return bootstrap(as_of=moment)


#: How the flows of this process get their application: from the environment (a
#: deployment's worker, `nurture run`), or from the caller (:func:`running_with`).
_factory: list[Callable[[datetime], App]] = [_from_environment]


@contextmanager
def running_with(factory: Callable[[datetime], App]) -> Iterator[None]:
    """Run this process's flows on applications built by ``factory`` (given the run's
    moment) instead of from the environment: the demo and tests hand their settings and
    adapters over this way. Tasks in threads share it; worker processes do not."""
    _factory.insert(0, factory)
    try:
        yield
    finally:
        _factory.remove(factory)


@contextmanager
def without_idle_heartbeats() -> Iterator[None]:
    """Flow runs on Prefect's ephemeral API send no heartbeats: nothing watches them, and
    stopping Prefect's heartbeat thread costs each run up to a second (it sleeps in
    one-second slices and is joined at the end: 1.10 s against 0.35 s for a run with
    nothing to do). With a server (PREFECT_API_URL), heartbeats tell it a run is alive."""
    if get_current_settings().api.url:
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


#: The application :func:`start_workers_early` built for a run's moment, and the thread
#: reading its project while Prefect's API starts: the run at that moment takes it.
_early: dict[str, tuple[App, threading.Thread]] = {}


def _app(as_of: str) -> App:
    """One application per process and moment (tasks in threads share it)."""
    with _apps_lock:
        if as_of not in _apps:
            early = _early.pop(as_of, None)
            _forget_early()  # built for another moment: not this run's
            if early is None:
                app = _factory[0](datetime.fromisoformat(as_of))
            else:
                app, reading = early
                reading.join()
            _ = app.project  # loaded now, so that it is frozen with the rest
            # Everything alive now (Prefect, SQLAlchemy, the project) lives as long as the
            # run: frozen, it is no longer walked by every full collection, which cost
            # ~0.3 s each at 100k contacts and landed in whichever phase was allocating.
            gc.freeze()
            _apps[as_of] = app
        return _apps[as_of]


#: Touches claimed so far by the batches of each progress artifact (by its id).
_claimed: Counter[str] = Counter()

#: Who hears each batch's progress in this process (``nurture run`` draws a bar).
_listeners: list[Callable[[float], None]] = []


@contextmanager
def on_progress(listener: Callable[[float], None]) -> Iterator[None]:
    """Call ``listener`` with the share of due touches done after each batch (0 to 1)."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _tell(progress: dict[str, Any], share: float) -> None:
    """Tell the listeners and the run's progress artifact how far the run is, given the
    ``share`` done of the part ``progress`` describes (its ``offset`` and ``weight`` in
    the run: planning, then sending what earlier runs planned)."""
    weight = progress.get("weight", 1.0)
    if weight <= 0:
        return  # the run's earlier parts took it all: it is told already
    whole = min(1.0, progress.get("offset", 0.0) + weight * share)
    for listener in list(_listeners):
        listener(whole)
    update_progress_artifact(progress["artifact"], progress=round(100 * whole, 1))


class _Told:
    """A part's share done, told (:func:`_tell`) at most every ``_TELL_SECONDS``: each
    update of the artifact is a call to Prefect's API."""

    def __init__(self, progress: dict[str, Any] | None) -> None:
        self._progress = progress
        self._told, self._at = 0.0, 0.0

    def __call__(self, share: float) -> None:
        now = time.monotonic()
        if self._progress is None or share <= self._told:
            return
        if share < 1.0 and now - self._at < _TELL_SECONDS:
            return
        self._told, self._at = share, now
        _tell(self._progress, share)


#: The least time between two updates of a part's progress.
_TELL_SECONDS = 1.0


def _sweep_progress(app: App) -> Callable[[Any], None]:
    """Tell the listeners how far a sweep (dispatch) is, batch after batch."""
    due = max(phases.count_due_now(app), 1)
    done = [0]

    def heard(batch: Any) -> None:
        done[0] += batch.claimed
        for listener in list(_listeners):
            listener(min(1.0, done[0] / due))

    return heard


def _pin(as_of: str | None) -> str:
    moment = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


@task(name="ingest-events", **RETRYING)
def ingest_events(run_id: str, as_of: str) -> dict[str, Any]:
    """Apply pending inbound events: interest, BANT, opt-outs, exits."""
    result = phases.ingest(_app(as_of), run_id)
    get_run_logger().info(
        "run %s: applied %s events (%s unmatched)", run_id, result["applied"], result["unmatched"]
    )
    return result


@task(name="retention", **RETRYING)
def apply_retention(run_id: str, as_of: str) -> dict[str, Any]:
    """Forget contacts with no interaction for the retention period and nothing open."""
    result = phases.retention(_app(as_of), run_id)
    get_run_logger().info("run %s: %s contacts forgotten (retention)", run_id, result["forgotten"])
    return result


@task(name="score-and-stage-rules", **RETRYING)
def score_contacts(run_id: str, as_of: str) -> dict[str, Any]:
    """Re-score changed contacts, let interest fade, promote, recycle."""
    result = phases.score(_app(as_of), run_id)
    stages = result["effects"]["stage_changes"]
    get_run_logger().info(
        "run %s: %s contacts evaluated, stage changes %s",
        run_id,
        result["evaluated"],
        stages or "none",
    )
    return result


@task(name="plan-touches", **RETRYING)
def plan_touches(
    run_id: str, as_of: str, due_steps: int, progress: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Give every due step a delivery time, within each contact's budget, and send what
    is due now as each chunk of contacts is planned; ``due_steps`` (counted as the run
    began) chooses between the worker processes and this one. ``progress``: where the
    share of due contacts done is told (:func:`_tell`)."""
    app = _app(as_of)
    workers = _workers(app, due_steps)
    told = _Told(progress)
    if workers > 1:
        result = cores.plan(app, as_of, run_id, workers=workers, sending=True, on_progress=told)
    else:
        result = phases.plan(
            app, run_id, sender="plan", progress=lambda done, of: told(done / of if of else 1.0)
        )
    told(1.0)
    get_run_logger().info(
        "run %s: planned %s, %s to deliver now, deferred %s, held %s",
        run_id,
        words(result["planned"]),
        result["deliver_now"],
        words(result["deferred"]),
        result["held_for_later_run"],
    )
    return result


@task(name="reconcile-unknown", **RETRYING)
def reconcile_unknown(run_id: str, as_of: str) -> dict[str, Any]:
    """Ask providers about touches whose outcome is unknown."""
    result = phases.reconcile_unknown(_app(as_of), run_id)
    if result["still_unknown"]:
        get_run_logger().warning(
            "run %s: %s touches still unknown, to check by hand: %s",
            run_id,
            result["still_unknown"],
            [t["touch_id"] for t in result["unknown_touches"]],
        )
    return result


@task(name="execute-batch", **RETRYING)
def execute_batch(run_id: str, as_of: str, worker: str, progress: dict[str, Any]) -> dict[str, Any]:
    """Send ``progress["batches"]`` batches of due touches (one by default; with
    ``sweep``, every batch left)."""
    app = _app(as_of)
    logger = get_run_logger()
    max_batches = None if progress.get("sweep") else progress.get("batches", 1)
    workers = progress.get("workers", 1)
    if workers > 1:
        result = cores.execute(app, as_of, run_id, worker=worker, workers=workers,
                               max_batches=max_batches,
                               batch_size=progress.get("batch_size"))  # fmt: skip
    else:
        with _batch_slot(app.settings.run.max_parallel_batches):
            result = phases.execute(
                app,
                run_id,
                worker=worker,
                max_batches=max_batches,
                on_batch=_sweep_progress(app) if progress.get("sweep") and _listeners else None,
            )
    for failure in result["failures"]:
        logger.warning(
            "touch %s contact %s %s/%s failed: %s",
            failure["touch_id"],
            failure["contact_id"],
            failure["sequence"],
            failure["step"],
            failure["reason"],
        )
    if progress.get("artifact") and progress.get("total"):
        # Counted from the batches' claims, not the database: counting the touches still
        # due after every batch cost PostgreSQL 15 ms a batch (0.5 s of its time at 1M).
        key = str(progress["artifact"])
        with _apps_lock:  # batches finish in parallel: listeners hear the shares in order
            _claimed[key] += result["claimed"]
            _tell(progress, min(1.0, _claimed[key] / progress["total"]))
    logger.info(
        "run %s %s: sent %s, failed %s, cancelled %s",
        run_id,
        worker,
        words(result["sent"]),
        words(result["failed"]),
        words(result["cancelled"]),
    )
    return result


@task(name="report")
def report(
    run_id: str, as_of: str, parts: dict[str, dict[str, Any]], executions: list[dict[str, Any]]
) -> dict[str, Any]:
    """Summarise the run, publish the artifacts ops read, and record the run."""
    app = _app(as_of)
    summary = phases.summarize(app, run_id, phases=parts, executions=executions)
    publish(summary)
    phases.finish(app, run_id, summary)
    return summary


def _run_name(kind: str, moment_format: str) -> Callable[[], str]:
    """Flow runs named by kind and moment in the project's time zone (``daily-2026-11-24``,
    ``dispatch-2026-11-24T10:30``) instead of Prefect's random adjectives."""

    def name() -> str:
        as_of = flow_run_runtime.parameters.get("as_of")
        moment = datetime.fromisoformat(_pin(as_of))
        zone = ZoneInfo(load_settings().settings.project.default_timezone)
        return f"{kind}-{moment.astimezone(zone).strftime(moment_format)}"

    return name


@flow(
    name="daily-run",
    flow_run_name=_run_name("daily", "%Y-%m-%d"),
    # Two threads unless `configured_daily_run` applies NURTURE_MAX_PARALLEL_BATCHES:
    # nothing here reads settings when the module is imported.
    task_runner=cast("TaskRunner[Any]", ThreadPoolTaskRunner(max_workers=2)),
    log_prints=False,
)
def daily_run(as_of: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """ingest → retention → score and stage rules → plan → execute in batches → report."""
    pinned = _pin(as_of)
    app = _app(pinned)
    try:
        if dry_run:
            return phases.dry_run(app)
        app.require_link_secret()
        split = _shards(app)
        due_steps = 0 if split else phases.count_due_steps(app)
        if not split:
            _warm_for(app, pinned, due_steps)  # while ingest and score run
        run_id = phases.start(app)
        try:
            parts: dict[str, dict[str, Any]] = {}
            parts["ingest"] = ingest_events(run_id, pinned)
            parts["retention"] = apply_retention(run_id, pinned)
            parts["score"] = score_contacts(run_id, pinned)
            if split:
                parts["reconcile"] = reconcile_unknown(run_id, pinned)
                started = time.perf_counter()
                parts["plan"], executions = shards.across_workers(app, run_id, pinned, split)
                executions += _execute_all(app, run_id, pinned)  # what is left, if anything
            else:
                # Settled before anything new leaves: planning sends what is due now.
                parts["reconcile"] = reconcile_unknown(run_id, pinned)
                planning, sending = _run_progress(app, run_id, due_steps)
                with app.checkpointing():  # copies the log of the planners' commits
                    parts["plan"] = plan_touches(run_id, pinned, due_steps, planning)
                started = time.perf_counter()
                executions = [parts["plan"].pop("execution")]
                executions += _execute_all(app, run_id, pinned, sending)
            executed = time.perf_counter()
            summary = report(run_id, pinned, parts, executions)
            summary["timings"]["execute_wall"] = round(executed - started, 3)
            summary["timings"]["report"] = round(time.perf_counter() - executed, 3)
            return summary
        except BaseException:
            phases.finish(app, run_id, {}, status="failed")
            raise
    finally:
        _release(pinned)


def start_workers_early(as_of: datetime | None = None) -> None:
    """Start the worker processes now if the daily run at ``as_of`` will use them. A
    command about to start Prefect's ephemeral API (seconds) calls it first (``nurture
    run``): the pool is up when planning begins, instead of a second and a half into the
    run. A run with little or nothing due starts nothing. The application built here,
    its project read on a thread meanwhile, is the one the run at ``as_of`` uses."""
    if _factory[0] is not _from_environment:
        return  # a handed-over application (tests, the demo) keeps its work here
    pinned = _pin(as_of.isoformat() if as_of else None)
    app = _from_environment(datetime.fromisoformat(pinned))
    try:
        if not app.settings.run.shards:
            _warm_for(app, pinned, phases.count_due_steps(app))
    except BaseException:
        app.engine.dispose()
        raise
    # The run at this moment takes this application, its project read meanwhile: the
    # flow spent 0.17 s building its own before its first task.
    reading = threading.Thread(
        target=_read_project, args=(app,), name="nurture-read-project", daemon=True
    )
    reading.start()
    with _apps_lock:
        _forget_early()
        _early[pinned] = (app, reading)


def _forget_early() -> None:
    """Let go of the applications built early that no run took (under ``_apps_lock``)."""
    for stale, _ in _early.values():
        stale.engine.dispose()
    _early.clear()


def _read_project(app: App) -> None:
    """Read the project ahead of the run; a project that does not load is reported by
    the run itself, where its errors are shown (the run reads it again)."""
    with contextlib.suppress(Exception):
        _ = app.project


def _warm_for(app: App, as_of: str, due_steps: int) -> None:
    """Start the worker pool, each process with its application for the run at
    ``as_of``, if a run with ``due_steps`` plans in worker processes."""
    workers = _workers(app, due_steps)
    if workers > 1:
        cores.warm(workers, app.settings, as_of)


def _release(as_of: str) -> None:
    with _apps_lock:
        app = _apps.pop(as_of, None)
        if not _apps:
            gc.unfreeze()  # a long-lived process (nurture serve) lets it all be collected again
    if app is not None:
        app.engine.dispose()


def _shards(app: App) -> int:
    """How many shard flow runs plan and send (0: this process and its workers do)."""
    wanted = app.settings.run.shards
    if wanted and not get_current_settings().api.url:
        get_run_logger().warning(
            "NURTURE_SHARDS=%s needs a Prefect server (PREFECT_API_URL) and workers of the "
            "nurture pool: this run plans and sends here", wanted
        )  # fmt: skip
        return 0
    return wanted


#: Prefect tasks per sending worker (more when the batches are few): each reports its
#: progress, and each costs the flow and Prefect's API about 60 ms of CPU (its states and
#: their events), which a task of one batch paid every 2,000 touches.
TASKS_PER_WORKER = 4


def split_sending(due: int, batch_size: int, workers: int) -> tuple[int, int, int]:
    """``(tasks, batches per task, touches per batch)`` for sending ``due`` touches in
    batches of at most ``batch_size``. Each of the ``workers`` gets as many tasks, so none
    waits alone for the last one; a task sends two batches at least when a worker has
    that many (a small run's tasks cost more than their progress tells)."""
    batches = math.ceil(due / batch_size)
    per_worker = math.ceil(batches / workers)
    per_task = min(per_worker, max(2, batches // (workers * TASKS_PER_WORKER)))
    tasks = math.ceil(batches / per_task)
    if workers > 1:
        tasks = math.ceil(tasks / workers) * workers
    return tasks, per_task, math.ceil(due / (tasks * per_task))


def tapered(tasks: int, per_task: int, workers: int) -> list[int]:
    """How many batches each of ``tasks`` sends, in the order they start: the last task
    of each worker sends one batch, and the batches this takes from them go to the
    first tasks. Workers never finish together: the first to finish its last task waits
    for the other's, which is one batch now instead of ``per_task`` (a worker alone for
    0.3-0.4 s at the end of the 1M bench's sending)."""
    if tasks <= workers or per_task <= 1:
        return [per_task] * tasks
    first = tasks - workers
    extra, rest = divmod(workers * (per_task - 1), first)
    return [per_task + extra + (index < rest) for index in range(first)] + [1] * workers


def _run_progress(
    app: App, run_id: str, due_steps: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The run's progress artifact, and the parts of it planning and then sending what
    earlier runs planned take: as many as each has to do (due steps, due touches). A run
    with nothing to do has none (two calls to Prefect's API, some 70 ms)."""
    waiting = phases.count_due_now(app)  # planned by earlier runs, due now
    if not due_steps + waiting:
        return None, None
    artifact = cast(
        "UUID",
        create_progress_artifact(
            progress=0.0, description=f"Due steps planned and touches sent by {run_id}"
        ),
    )
    first = due_steps / (due_steps + waiting)
    return (
        {"artifact": artifact, "offset": 0.0, "weight": first},
        {"artifact": artifact, "offset": first, "weight": 1.0 - first},
    )


def _execute_all(
    app: App, run_id: str, as_of: str, progress: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Send every touch due now, in batches across the senders; ``progress``: the part of
    the run's progress this is (else an artifact of its own)."""
    due = phases.count_due_now(app)
    if not due:
        if progress is not None:
            _tell(progress, 1.0)
        return []
    workers = cores.senders_for(app, due, handed_over=_factory[0] is not _from_environment)
    tasks, per_task, batch_size = split_sending(due, app.settings.run.batch_size, workers)
    if progress is None:
        made = create_progress_artifact(progress=0.0, description=f"Touches sent by {run_id}")
        progress = {"artifact": cast("UUID", made)}
    artifact = progress["artifact"]
    progress = {**progress, "total": due, "workers": workers, "batch_size": batch_size}
    with app.checkpointing():  # the senders' commits, and the planners' before them
        futures = [
            execute_batch.submit(run_id, as_of, f"b{i}", {**progress, "batches": batches})
            for i, batches in enumerate(tapered(tasks, per_task, workers))
        ]
        executions = [future.result() for future in futures]
        if phases.count_due_now(app):  # left over: planned meanwhile, or released late
            executions.append(execute_batch(run_id, as_of, "sweep", {**progress, "sweep": True}))
    update_progress_artifact(artifact, progress=100.0)  # the listeners heard every batch
    with _apps_lock:
        _claimed.pop(str(artifact), None)
    return executions


@flow(
    name="dispatch",
    flow_run_name=_run_name("dispatch", "%Y-%m-%dT%H:%M"),
    log_prints=False,
)
def dispatch(as_of: str | None = None) -> dict[str, Any]:
    """Release touches whose delivery time has come (runs every few minutes)."""
    pinned = _pin(as_of)
    app = _app(pinned)
    try:
        app.require_link_secret()
        run_id = phases.start(app, kind="dispatch")
        parts = {"reconcile": reconcile_unknown(run_id, pinned)}
        executions = [execute_batch(run_id, pinned, "dispatch", {"sweep": True})]
        summary = phases.summarize(app, run_id, phases=parts, executions=executions)
        publish(summary, still_scheduled=phases.still_scheduled(app))
        phases.finish(app, run_id, summary)
        return summary
    finally:
        _release(pinned)


def configured_daily_run(settings: RunSettings | None = None) -> Any:
    """``daily_run`` with two task threads per parallel batch: each task hands its work
    to a worker process when the run is big enough (:func:`_workers`), and the second
    thread has the next batch queued when a worker finishes one. Between two batches a
    worker otherwise waited about 20 ms while Prefect finished one task and started the
    next (0.33 s per worker at 1M contacts). Batches run in this process keep to
    NURTURE_MAX_PARALLEL_BATCHES (:func:`_batch_slot`)."""
    run = settings or load_settings().settings.run
    runner: Any = ThreadPoolTaskRunner(max_workers=run.max_parallel_batches * 2)
    return daily_run.with_options(task_runner=runner)


_slots: dict[int, threading.BoundedSemaphore] = {}


def _batch_slot(parallel: int) -> threading.BoundedSemaphore:
    """One of the ``parallel`` slots for sending a batch in this process (the task runner
    may have more threads than that)."""
    with _apps_lock:
        return _slots.setdefault(parallel, threading.BoundedSemaphore(parallel))


def _workers(app: App, work: int) -> int:
    # Applications handed over by running_with (tests, the demo) hold adapters no other
    # process has: their work stays here.
    return cores.workers_for(app, work, handed_over=_factory[0] is not _from_environment)
