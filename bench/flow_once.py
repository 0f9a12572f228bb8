"""Run the real daily flow once, in this process, from the environment's settings.

Prints one JSON line: the run summary, wall time, Prefect start-up, peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

_PHASES = ("ingest", "retention", "score", "plan", "reconcile", "execute_wall", "report")


class _CpuSampler(threading.Thread):
    """The machine's busy share from /proc/stat, four times a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            with Path("/proc/stat").open() as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
            idle = fields[3] + fields[4]
            self.samples.append((time.perf_counter(), sum(fields) - idle, sum(fields)))
            self.stopped.wait(0.25)

    def busy(self, start: float, end: float) -> float | None:
        """Cores busy on average between ``start`` and ``end`` (2.0: both cores)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        (_, busy0, total0), (_, busy1, total1) = inside[0], inside[-1]
        share = (busy1 - busy0) / max(total1 - total0, 1)
        return round(share * (os.cpu_count() or 1), 2)


def _descendants_peak_mb() -> float:
    """The largest peak RSS (VmHWM) among this process's living descendants: the worker
    processes, which getrusage does not count while they live."""
    parents: dict[int, int] = {}
    peaks: dict[int, float] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        pid = int(status.parent.name)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        peaks[pid] = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    mine, found = {os.getpid()}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                found = True
    return round(max((peaks.get(p, 0.0) for p in mine - {os.getpid()}), default=0.0), 1)


def _per_phase(sampler: _CpuSampler, started: float, timings: dict[str, float]) -> dict:
    out, at = {}, started
    for phase in _PHASES:
        seconds = timings.get(phase) or 0.0
        out[phase] = sampler.busy(at, at + seconds)
        at += seconds
    return out


def main() -> None:
    as_of = sys.argv[1]
    started = time.perf_counter()
    from prefect import flow

    from nurture.orchestration.flows import (
        configured_daily_run,
        start_workers_early,
        without_idle_heartbeats,
    )

    start_workers_early(datetime.fromisoformat(as_of))  # as `nurture run` does
    daily_run = configured_daily_run()  # before Prefect's API starts, as `nurture run` does

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()  # starts Prefect's ephemeral API: measured apart from the run
    sampler = _CpuSampler()
    sampler.start()
    ready = time.perf_counter()
    with without_idle_heartbeats():  # as `nurture run` does on the ephemeral API
        summary = daily_run(as_of=datetime.fromisoformat(as_of).isoformat())
    finished = time.perf_counter()
    sampler.stopped.set()
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sys.stdout.write(
        json.dumps(
            {
                "summary": summary,
                "wall": round(finished - ready, 3),
                "prefect_start": round(ready - started, 3),
                "peak_rss_mb": round(usage_self, 1),
                "peak_rss_children_mb": max(round(usage_children, 1), _descendants_peak_mb()),
                "cores_busy": {
                    "run": sampler.busy(ready, finished),
                    **_per_phase(sampler, ready, summary["timings"]),
                },
            },
            default=str,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
