"""Scale-out: two `nurture run` processes at once on PostgreSQL send each touch once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import touches
from tests.conftest import NOW
from tests.e2e.conftest import PrefectServer
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.postgres import PostgresCluster

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _open_when_both_claim(live: Live) -> None:
    """Speed the provider up once touches are claimed by two different runs."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with live.app.engine.connect() as connection:
            workers = connection.execute(
                sa.select(
                    sa.func.count(sa.distinct(sa.func.split_part(touches.c.claimed_by, "/", 1)))
                ).where(touches.c.claimed_by.is_not(None))
            ).scalar_one()
        if workers >= 2:
            break
        time.sleep(0.1)
    live.sendgrid.behaviour.delay = 0.0


#: Two chunks of planning (3,000 contacts each, plan._CHUNK), planned in each run's own
#: process (NURTURE_TASK_RUNNER=threads: worker processes would plan a shard of 1,800
#: each, one chunk apiece): while the first run sends its first chunk to the slow
#: provider, the second plans and sends the chunk the first has not reached.
COUNT = 3600


@pytest.fixture
def database_url(postgres: PostgresCluster) -> str:
    return postgres.create_database(f"scale_{os.getpid()}")


def test_two_runs_at_once_send_each_touch_exactly_once(
    live: Live, tmp_path: Path, prefect_server: PrefectServer
) -> None:
    lines = ["external_id,email,first_name,country"]
    lines += [f"s{i},scale{i}@crowd.fr,S{i},FR" for i in range(COUNT)]
    import_people(live.app, tmp_path, "\n".join(lines) + "\n")
    enroll_all(live.app, "channels-test")
    # The provider stays very slow until both runs hold claims, so that they overlap
    # whatever their start-up skew; then it answers at once.
    live.sendgrid.behaviour.delay = 0.5
    env = {
        **os.environ,
        **settings_env(live.app.settings),
        **prefect_server.env(),
        "NURTURE_MAX_PARALLEL_BATCHES": "2",
        "NURTURE_TASK_RUNNER": "threads",
        "NURTURE_SEND_CONCURRENCY": "2",
    }
    nurture = str(Path(sys.executable).with_name("nurture"))
    command = [nurture, "run", "--as-of", NOW.isoformat(), "--json"]
    runs = [
        subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    gate = threading.Thread(target=_open_when_both_claim, args=(live,), daemon=True)
    gate.start()
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    summaries = [json.loads(out) for out, _ in outputs]
    sent = [s["execute"]["sent"].get("email", 0) for s in summaries]
    per_touch = live.sendgrid.by_touch()
    assert len(per_touch) == COUNT  # none lost
    assert all(len(messages) == 1 for messages in per_touch.values())  # none twice
    assert sum(sent) == COUNT
    details = [{k: s[k] for k in ("plan", "execute", "timings")} for s in summaries]
    assert min(sent) > 0, f"the runs did not overlap: {sent} {details}"
