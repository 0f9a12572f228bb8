"""Run the real daily flow once, in this process, from the environment's settings.

Prints one JSON line: the run summary, wall time, Prefect start-up, peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime


def main() -> None:
    as_of = sys.argv[1]
    started = time.perf_counter()
    from prefect import flow

    from nurture.orchestration.flows import configured_daily_run, without_idle_heartbeats

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()  # starts Prefect's ephemeral API: measured apart from the run
    ready = time.perf_counter()
    with without_idle_heartbeats():  # as `nurture run` does on the ephemeral API
        summary = configured_daily_run()(as_of=datetime.fromisoformat(as_of).isoformat())
    finished = time.perf_counter()
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sys.stdout.write(
        json.dumps(
            {
                "summary": summary,
                "wall": round(finished - ready, 3),
                "prefect_start": round(ready - started, 3),
                "peak_rss_mb": round(usage_self, 1),
                "peak_rss_children_mb": round(usage_children, 1),
            },
            default=str,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
