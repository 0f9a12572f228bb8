"""When a run hands its work to worker processes (NURTURE_TASK_RUNNER=auto)."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from nurture.orchestration import cores
from nurture.settings import EmailSettings, RunSettings, Settings


def _app(*, sendgrid: bool, runner: str = "auto") -> object:
    email = EmailSettings(email_driver="sendgrid", sendgrid_api_key=SecretStr("k")) if sendgrid \
        else EmailSettings(email_driver="outbox")  # fmt: skip
    run = RunSettings(batch_size=2000, max_parallel_batches=2, task_runner=runner)
    return SimpleNamespace(settings=Settings(email=email, run=run))


@pytest.fixture(autouse=True)
def four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 4)


@pytest.mark.parametrize(
    ("sendgrid", "work", "workers"),
    [
        (False, 7_999, 1),  # files only: below four batches, one process is faster
        (False, 8_000, 2),
        (True, 3_999, 1),
        (True, 4_000, 2),  # an HTTP exchange per message: two batches are enough
    ],
)
def test_auto_uses_worker_processes_from_enough_work(
    sendgrid: bool, work: int, workers: int
) -> None:
    assert cores.workers_for(_app(sendgrid=sendgrid), work, handed_over=False) == workers  # type: ignore[arg-type]


def test_threads_and_handed_over_applications_stay_in_one_process() -> None:
    assert cores.workers_for(_app(sendgrid=True, runner="threads"), 10**6, handed_over=False) == 1  # type: ignore[arg-type]
    assert cores.workers_for(_app(sendgrid=True), 10**6, handed_over=True) == 1  # type: ignore[arg-type]
    assert cores.workers_for(_app(sendgrid=False, runner="processes"), 1, handed_over=False) == 2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("work", "pool_started", "senders"),
    [
        (5_700, False, 1),  # below four batches, and no pool: the flow's process sends
        (5_700, True, 2),  # the planners' pool is up: it sends too
        (3_999, True, 1),  # not a batch for each worker
        (20_000, False, 2),  # enough work on its own
    ],
)
def test_sending_uses_the_pool_planning_started(
    monkeypatch: pytest.MonkeyPatch, work: int, pool_started: bool, senders: int
) -> None:
    monkeypatch.setattr(cores, "_pools", {2: object()} if pool_started else {})
    app = _app(sendgrid=False)
    assert cores.senders_for(app, work, handed_over=False) == senders  # type: ignore[arg-type]
    assert cores.senders_for(app, work, handed_over=True) == 1  # type: ignore[arg-type]
    threads = _app(sendgrid=False, runner="threads")
    assert cores.senders_for(threads, work, handed_over=False) == 1  # type: ignore[arg-type]


def test_a_worker_freezes_what_it_keeps_for_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The application a worker builds lives as long as the run: frozen once built (its
    project loaded), it is no longer walked by every full collection."""
    events: list[str] = []

    class _Built:
        @property
        def project(self) -> object:
            events.append("project")
            return object()

    monkeypatch.setattr(cores, "_apps", {})
    monkeypatch.setattr(cores, "bootstrap", lambda *_a, **_k: _Built())
    monkeypatch.setattr(cores.gc, "freeze", lambda: events.append("freeze"))
    monkeypatch.setattr(cores.gc, "set_threshold", lambda *t: events.append(f"threshold {t}"))
    settings = Settings(run=RunSettings(batch_size=2000))
    first = cores._worker_app(settings, "2026-03-03T09:00:00+00:00", 2)
    again = cores._worker_app(settings, "2026-03-03T09:00:00+00:00", 2)
    assert first is again
    # ... and collects its young objects in large steps (a run drops millions of them)
    assert events == ["project", "freeze", "threshold (50000, 20, 100)"]


def test_warming_the_pool_does_not_hold_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fork server takes about a second to start: the flow ingests and scores
    meanwhile instead of waiting for it."""
    release = threading.Event()
    submitted: list[object] = []

    class _SlowPool:
        def submit(self, work: object, *args: object) -> None:
            submitted.append((work, *args))

    def slow_pool(workers: int) -> _SlowPool:
        assert release.wait(5)
        return _SlowPool()

    monkeypatch.setattr(cores, "worker_pool", slow_pool)
    starting = cores.warm(2)
    assert starting.is_alive()  # returned while the pool was still starting
    release.set()
    starting.join(5)
    assert submitted == [(int,), (int,)]


def test_warming_for_a_run_builds_each_workers_application(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given the run's settings and moment, each process builds the application it will
    plan with, under the key planning and sending look it up by."""
    submitted: list[tuple[object, ...]] = []

    class _Pool:
        def submit(self, work: Any, *args: object) -> None:
            submitted.append(args)
            work(*args)

    built: list[str] = []
    monkeypatch.setattr(cores, "worker_pool", lambda workers: _Pool())
    monkeypatch.setattr(cores, "_apps", {})
    monkeypatch.setattr(
        cores, "bootstrap", lambda *_a, **_k: built.append("app") or SimpleNamespace(project=None)
    )
    monkeypatch.setattr(cores.gc, "freeze", lambda: None)
    monkeypatch.setattr(cores.gc, "set_threshold", lambda *_t: None)
    settings = Settings(run=RunSettings(batch_size=2000))
    cores.warm(2, settings, "2026-03-03T09:00:00+00:00").join(5)
    assert submitted == [(settings, "2026-03-03T09:00:00+00:00", 2)] * 2
    assert built == ["app"]  # the second finds the first's (one process here)
    planning = cores._worker_app(settings, "2026-03-03T09:00:00+00:00", 2)
    assert built == ["app"]
    assert planning is next(iter(cores._apps.values()))


@pytest.mark.parametrize(
    ("due", "shards", "warmed"),
    [
        (9_774, 0, [2]),  # 1% of a million: the pool starts while Prefect does
        (7_999, 0, []),  # below four batches the run stays in one process
        (99_919, 2, []),  # shards plan and send on Prefect workers, not here
    ],
)
def test_nurture_run_starts_the_workers_before_prefect(
    monkeypatch: pytest.MonkeyPatch, due: int, shards: int, warmed: list[int]
) -> None:
    from nurture.orchestration import flows

    disposed: list[bool] = []
    run = RunSettings(batch_size=2000, max_parallel_batches=2, task_runner="auto", shards=shards)
    app = SimpleNamespace(
        settings=Settings(run=run), engine=SimpleNamespace(dispose=lambda: disposed.append(True))
    )

    def environment(_moment: object) -> object:
        return app

    monkeypatch.setattr(flows, "_from_environment", environment)
    monkeypatch.setattr(flows, "_factory", [environment])
    monkeypatch.setattr(flows, "_early", {})
    monkeypatch.setattr(flows.phases, "count_due_steps", lambda _app: due)
    calls: list[tuple[int, object, str]] = []
    monkeypatch.setattr(flows.cores, "warm", lambda *args: calls.append(args))
    moment = datetime(2026, 3, 3, 9, tzinfo=UTC)
    flows.start_workers_early(moment)
    assert calls == [(w, app.settings, moment.isoformat()) for w in warmed]
    assert flows._early[moment.isoformat()][0] is app  # kept for the run at that moment
    assert disposed == []


def test_the_run_takes_the_application_built_before_prefect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run at the moment `nurture run` started its workers for uses the application
    built then (its project read meanwhile); one built for another moment is let go."""
    from nurture.orchestration import flows

    built: list[datetime] = []
    disposed: list[datetime] = []

    def environment(moment: datetime) -> object:
        built.append(moment)
        return SimpleNamespace(
            settings=Settings(run=RunSettings(task_runner="threads")),
            project="the project",
            engine=SimpleNamespace(dispose=lambda: disposed.append(moment)),
        )

    monkeypatch.setattr(flows, "_from_environment", environment)
    monkeypatch.setattr(flows, "_factory", [environment])
    monkeypatch.setattr(flows, "_early", {})
    monkeypatch.setattr(flows, "_apps", {})
    monkeypatch.setattr(flows.phases, "count_due_steps", lambda _app: 0)
    moment = datetime(2026, 3, 3, 9, tzinfo=UTC)
    flows.start_workers_early(moment)
    try:
        assert flows._app(moment.isoformat()) is flows._apps[moment.isoformat()]
        assert built == [moment]  # not built again for the run
    finally:
        flows._release(moment.isoformat())
    assert disposed == [moment]

    flows.start_workers_early(moment)
    later = moment + timedelta(hours=1)
    try:
        flows._app(later.isoformat())
        assert built == [moment, moment, later]
        assert disposed == [moment, moment]  # the early one, for another moment
        assert flows._early == {}
    finally:
        flows._release(later.isoformat())


def test_a_handed_over_application_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and the demo hand the flows their application: nothing is started for
    them, and their engine is not touched."""
    from nurture.orchestration import flows

    built: list[object] = []
    monkeypatch.setattr(flows, "_factory", [built.append])
    monkeypatch.setattr(flows.cores, "warm", lambda *args: pytest.fail("warmed"))
    flows.start_workers_early()
    assert built == []


def test_the_runner_queues_a_batch_ahead_but_this_process_sends_within_the_setting() -> None:
    """Two task threads per parallel batch, so a worker process finds its next batch
    waiting; batches sent in the flow's own process still run at most
    NURTURE_MAX_PARALLEL_BATCHES at a time."""
    from nurture.orchestration import flows

    runner = flows.configured_daily_run(RunSettings(max_parallel_batches=3)).task_runner
    assert runner._max_workers == 6
    running, most = [0], [0]
    lock = threading.Lock()
    go = threading.Barrier(6)

    def batch() -> None:
        go.wait(5)
        with flows._batch_slot(3):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            threading.Event().wait(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=batch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert most == [3]


def test_a_prefect_task_sends_several_batches_when_there_are_many() -> None:
    from nurture.orchestration import flows

    # The 1M bench: 58,458 touches due now, two worker processes. One task a batch made
    # 30 tasks; 10 tasks of 3 batches now, 5 for each worker.
    assert flows.split_sending(58_458, 2000, 2) == (10, 3, 1949)
    # 1% of 1M: three batches for two workers made four tasks of one; two of two now.
    assert flows.split_sending(5_700, 2000, 2) == (2, 2, 1425)
    assert flows.split_sending(2, 1, 2) == (2, 1, 1)  # a batch for each worker
    assert flows.split_sending(3, 2000, 2) == (2, 1, 2)


#: Any run's sending: touches due now, the batch size, the worker processes.
_SENDING = given(
    due=st.integers(1, 3_000_000),
    batch_size=st.integers(1, 10_000),
    workers=st.integers(1, 8),
)


@_SENDING
def test_the_sending_split_covers_every_touch_in_batches_within_the_size(
    due: int, batch_size: int, workers: int
) -> None:
    from nurture.orchestration import flows

    tasks, per_task, batch = flows.split_sending(due, batch_size, workers)
    assert 1 <= batch <= batch_size
    assert tasks * per_task * batch >= due  # every touch due has a batch
    batches = -(-due // batch_size)
    assert tasks <= -(-batches // workers) * workers  # never more tasks than batches were
    assert tasks % workers == 0 or workers == 1  # as many tasks for each worker
    assert per_task <= max(2, batches // (workers * flows.TASKS_PER_WORKER))  # progress heard
    assert per_task >= min(2, -(-batches // workers))  # two batches a task when there are


def test_the_last_task_of_each_worker_sends_one_batch() -> None:
    from nurture.orchestration import flows

    # The 1M bench: 10 tasks of 3 batches; the two that start last send one batch each,
    # so that the worker that finishes first waits for one batch of the other's at most.
    assert flows.tapered(10, 3, 2) == [4, 4, 4, 4, 3, 3, 3, 3, 1, 1]
    assert flows.tapered(2, 2, 2) == [2, 2]  # one task each: nothing to move
    assert flows.tapered(4, 1, 2) == [1, 1, 1, 1]
    assert flows.tapered(3, 5, 1) == [7, 7, 1]


@_SENDING
def test_tapering_keeps_every_batch_and_ends_each_worker_on_one(
    due: int, batch_size: int, workers: int
) -> None:
    from nurture.orchestration import flows

    tasks, per_task, _ = flows.split_sending(due, batch_size, workers)
    counts = flows.tapered(tasks, per_task, workers)
    assert len(counts) == tasks
    assert sum(counts) == tasks * per_task  # as many batches: every touch still has one
    assert min(counts) >= 1
    if tasks > workers:
        assert counts[-workers:] == [1] * workers
        assert max(counts) <= per_task + math.ceil(workers * (per_task - 1) / (tasks - workers))
