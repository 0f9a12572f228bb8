"""Every core: the heavy phases' work in worker processes, with Prefect left out of them.

Prefect's task runs stay in the flow's process (threads: states, logs, artifacts); each
task hands its work to a process of this pool and waits. The pool's processes come from a
fork server started with nurture's modules loaded and nothing else (no Prefect, no
threads): they start in milliseconds and each builds its own application, with its own
database connections, from the flow's settings. Rendering, planning and recording then
run on every core instead of behind one interpreter lock.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import hashlib
import multiprocessing
import os
import pickle
import struct
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from datetime import datetime
from multiprocessing import shared_memory
from typing import Any

from nurture.bootstrap import App, bootstrap
from nurture.orchestration import phases
from nurture.settings import Settings

__all__ = [
    "ProgressBoard",
    "execute",
    "paced",
    "plan",
    "senders_for",
    "started",
    "warm",
    "worker_pool",
    "workers_for",
]

#: What the fork server imports once for every worker. ``holidays.countries``: the
#: ``holidays`` package imports a country's module, and the calendars they share, at the
#: first contact of that country; each worker paid 0.06 s of it while planning (0.05 s
#: for every country at once here, and 9 MB shared by the workers).
_PRELOAD = [
    "nurture.bootstrap",
    "nurture.orchestration.phases",
    "nurture.adapters.templates",
    "holidays.countries",
]
_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """This process's pool of ``workers`` processes (started once, shut down at exit)."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            pool = _pools[workers] = ProcessPoolExecutor(workers, mp_context=context)
            atexit.register(pool.shutdown, cancel_futures=True)
        return pool


#: ``auto`` uses worker processes from this many batches of work: below it, starting the
#: pool (about a second) costs more than the second core gains. Measured again once the
#: workers got faster: 1% of 1,000,000 contacts due (9,774 steps, five batches) ran in
#: 4.2-4.6 s with threads and 3.8-4.1 s with processes (it was 8 batches when 9,981 due
#: steps took 4.4 s with threads and 5.6 s with processes).
_AUTO_BATCHES = 4
#: ... and from this many when messages go to SendGrid or Twilio: each one then costs the
#: flow's process an HTTP exchange as well, and the second core pays off sooner (against
#: the stand-ins, execute at 40,000 contacts: 3.0 s with threads, 2.4 s with processes;
#: at 100,000: 6.5 s and 4.7 s).
_AUTO_BATCHES_PROVIDERS = 2


def workers_for(app: App, work: int, *, handed_over: bool) -> int:
    """How many worker processes a phase with ``work`` items uses (1: the flow's own
    process). ``handed_over`` applications (tests, the demo) always stay in it."""
    run = app.settings.run
    if handed_over or run.task_runner == "threads":
        return 1
    networked = app.settings.email.driver != "outbox" or app.settings.sms.driver != "outbox"
    least = _AUTO_BATCHES_PROVIDERS if networked else _AUTO_BATCHES
    if run.task_runner == "auto" and work < least * run.batch_size:
        return 1
    return _pool_size(app)


def _pool_size(app: App) -> int:
    """Processes of the pool: one per parallel batch, at most one per core."""
    return max(1, min(app.settings.run.max_parallel_batches, os.cpu_count() or 1))


def started() -> bool:
    """Whether this process has started a pool of worker processes (for this run or an
    earlier one): using it costs nothing more."""
    with _lock:
        return bool(_pools)


def senders_for(app: App, work: int, *, handed_over: bool) -> int:
    """How many processes send ``work`` due touches: those of :func:`workers_for`, or
    the pool's when it has been started for planning and every worker gets a batch. Its
    start is paid by then: at 1% of 1,000,000 contacts, 5,700 touches to send sat below
    the threshold of four batches while the planners' pool stood idle."""
    workers = workers_for(app, work, handed_over=handed_over)
    run = app.settings.run
    pool = _pool_size(app)
    idle = started() and run.task_runner == "auto" and not handed_over
    if workers == 1 and idle and pool > 1 and work >= pool * run.batch_size:
        return pool
    return workers


def warm(workers: int, settings: Settings | None = None, as_of: str = "") -> threading.Thread:
    """Start the pool's processes in the background (the fork server imports nurture:
    about a second, which the flow waited for before ingesting), so that they are ready
    when planning needs them; returns the thread that starts them. Given the run's
    ``settings`` and moment, each process also builds the application it will plan and
    send with (reading the project: 0.3 s a worker at the start of planning before)."""

    def start() -> None:
        pool = worker_pool(workers)
        for _ in range(workers):
            if settings is None:
                pool.submit(int)
            else:
                pool.submit(_prepare, settings, as_of, workers)

    starting = threading.Thread(target=start, name="nurture-warm-pool", daemon=True)
    starting.start()
    return starting


#: The applications of this worker process, by settings and run moment (the latest few:
#: a long-lived flow process, ``nurture serve``, runs every day).
_apps: dict[str, App] = {}
_KEPT = 2


#: Garbage collection thresholds of a worker process (young, middle, full).
_GC_THRESHOLDS = (50_000, 20, 100)


def _worker_app(settings: Settings, as_of: str, share: int) -> App:
    key = hashlib.sha256(pickle.dumps((settings, as_of, share))).hexdigest()
    app = _apps.get(key)
    if app is None:
        while len(_apps) >= _KEPT:
            _apps.pop(next(iter(_apps))).engine.dispose()
        mine = paced(settings, share)
        app = _apps[key] = bootstrap(mine, as_of=datetime.fromisoformat(as_of))
        _ = app.project
        # As in the flow's process (flows._app): what the worker keeps for the run is
        # frozen, out of every full collection. At 1M contacts each worker's twelve full
        # collections while planning took 0.59 s before, 0.06 s after.
        gc.freeze()
        # A worker makes and drops millions of small objects per run (rows, contacts,
        # touches): at Python's threshold of 700 it ran about 2,400 young, 220 middle and
        # 19 full collections per run at 1M contacts, 0.7 s of each worker's time
        # (gc.callbacks). Almost nothing it makes outlives a batch, so the young
        # generation is collected after 50,000 more objects than were freed: 4 passes.
        gc.set_threshold(*_GC_THRESHOLDS)
    return app


def _prepare(settings: Settings, as_of: str, share: int) -> None:
    """Build this worker's application for the run ahead of its first task."""
    _worker_app(settings, as_of, share)


def paced(settings: Settings, share: int) -> Settings:
    """``settings`` for one of ``share`` processes sending side by side: the providers'
    rate limits are the run's, and each process paces itself to its part of them."""
    run = settings.run
    mine = run.model_copy(
        update={
            "email_rate_per_second": run.email_rate_per_second / share,
            "sms_rate_per_second": run.sms_rate_per_second / share,
        }
    )
    return settings.model_copy(update={"run": mine})


def execute_in_worker(
    settings: Settings,
    as_of: str,
    run_id: str,
    *,
    worker: str,
    share: int,
    max_batches: int | None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """``phases.execute`` in this worker process."""
    app = _worker_app(settings, as_of, share)
    return phases.execute(
        app, run_id, worker=worker, max_batches=max_batches, batch_size=batch_size
    )


def plan_in_worker(
    settings: Settings,
    as_of: str,
    run_id: str,
    *,
    shard: tuple[int, int],
    sending: bool = False,
    board: str | None = None,
) -> dict[str, Any]:
    """``phases.plan`` of one shard of the due contacts, in this worker process (sending
    what is due now as it plans, with ``sending``); its progress is written on the
    ``board`` (:class:`ProgressBoard`) when one is named."""
    app = _worker_app(settings, as_of, shard[1])
    sender = f"p{shard[0]}" if sending else None
    attached = ProgressBoard.attach(board) if board else contextlib.nullcontext()
    with attached as on, app.checkpoints_deferred():  # the flow's checkpoints copy the log
        progress = functools.partial(on.write, shard[0]) if on is not None else None
        return phases.plan(app, run_id, shard=shard, sender=sender, progress=progress)


def plan(
    app: App,
    as_of: str,
    run_id: str,
    *,
    workers: int,
    sending: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Planning in ``workers`` processes, each with its shard of the contacts (and
    sending what is due now as it plans, with ``sending``); paused sequences that are
    due back are resumed here first. ``on_progress`` hears the share of the due contacts
    done, read from the workers' board every ``_PROGRESS_SECONDS`` (the same share again
    when nothing moved: :class:`flows._Told` tells only what grew)."""
    resumed = phases.resume(app, run_id)
    pool = worker_pool(workers)
    made = ProgressBoard.create(workers) if on_progress else contextlib.nullcontext()
    with made as board:
        work = functools.partial(
            plan_in_worker, sending=sending, board=None if board is None else board.name
        )
        futures = [
            pool.submit(work, app.settings, as_of, run_id, shard=(i, workers))
            for i in range(workers)
        ]
        while on_progress and board and wait(futures, timeout=_PROGRESS_SECONDS).not_done:
            on_progress(board.share())
        result = phases.merged([future.result() for future in futures])
    result["resumed"] = resumed
    return result


#: How often the flow reads how far the planners are.
_PROGRESS_SECONDS = 0.5


class ProgressBoard:
    """How far each worker process is, in shared memory: worker ``i`` writes its
    ``(done, of)`` in slot ``i`` as it starts and after each chunk, and the flow's process
    reads them all. No lock: each slot has one writer, and a reader a chunk behind is
    none the worse."""

    _SLOT = struct.Struct("<qq")

    def __init__(self, memory: shared_memory.SharedMemory, slots: int) -> None:
        assert memory.buf is not None  # open until the board's block ends
        self._memory, self._buffer, self._slots = memory, memory.buf, slots
        self.name = memory.name

    @classmethod
    @contextlib.contextmanager
    def create(cls, workers: int) -> Iterator[ProgressBoard]:
        """A board of ``workers`` slots, all at nothing done; freed when the block ends."""
        memory = shared_memory.SharedMemory(create=True, size=cls._SLOT.size * workers)
        board = cls(memory, workers)
        for slot in range(workers):
            board.write(slot, 0, -1)  # not started: how many it has is not known yet
        try:
            yield board
        finally:
            memory.close()
            memory.unlink()

    @classmethod
    @contextlib.contextmanager
    def attach(cls, name: str) -> Iterator[ProgressBoard]:
        """The board ``name``, from a worker process (its creator frees it)."""
        memory = shared_memory.SharedMemory(name=name)
        try:
            yield cls(memory, memory.size // cls._SLOT.size)
        finally:
            memory.close()

    def write(self, slot: int, done: int, of: int) -> None:
        """Worker ``slot`` has done ``done`` of its ``of`` items."""
        self._SLOT.pack_into(self._buffer, slot * self._SLOT.size, done, of)

    def share(self) -> float:
        """The share of every worker's items done: 0 until each has said how many it has,
        1 when they have none."""
        size = self._SLOT.size
        slots = [self._SLOT.unpack_from(self._buffer, i * size) for i in range(self._slots)]
        if any(of < 0 for _, of in slots):
            return 0.0
        total = sum(of for _, of in slots)
        return min(1.0, sum(done for done, _ in slots) / total) if total else 1.0


def execute(
    app: App,
    as_of: str,
    run_id: str,
    *,
    worker: str,
    workers: int,
    max_batches: int | None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """``phases.execute`` in a worker process (the batch claims keep it exactly-once)."""
    future = worker_pool(workers).submit(
        execute_in_worker, app.settings, as_of, run_id,
        worker=worker, share=workers, max_batches=max_batches, batch_size=batch_size,
    )  # fmt: skip
    result: dict[str, Any] = future.result()
    return result
