"""End to end: a daily run split across two Prefect workers of a process work pool, on
PostgreSQL, sends each touch once (NURTURE_SHARDS)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import NOW
from tests.e2e.conftest import PrefectServer
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.postgres import PostgresCluster

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def database_url(postgres: PostgresCluster) -> str:
    return postgres.create_database(f"shards_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def pool(prefect_server: PrefectServer, project_dir: Path) -> str:
    """A process work pool of its own, with the ``shard`` deployment of the project."""
    for folder in ("deployments", "flows"):
        shutil.copytree(REPO / folder, project_dir / folder, dirs_exist_ok=True)
    name = f"shards-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, **prefect_server.env(), "NURTURE_PROJECT_DIR": str(project_dir)}
    subprocess.run(
        [BIN / "prefect", "work-pool", "create", name, "--type", "process"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    deployed = subprocess.run(
        [BIN / "prefect", "--no-prompt", "deploy", "--name", "shard", "--pool", name,
         "--prefect-file", project_dir / "deployments" / "prefect.yaml"],
        env=env, cwd=project_dir, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    return name


@pytest.fixture
def workers(live: Live, pool: str, prefect_server: PrefectServer, tmp_path: Path) -> Iterator[int]:
    """Two workers of the pool, one flow run at a time each."""
    env = {**os.environ, **settings_env(live.app.settings), **prefect_server.env(),
           "PREFECT_WORKER_QUERY_SECONDS": "1"}  # fmt: skip
    command = [BIN / "prefect", "worker", "start", "--pool", pool, "--type", "process",
               "--limit", "1"]  # fmt: skip
    running = [
        subprocess.Popen(
            [*command, "--name", f"{pool}-{i}"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        yield len(running)
    finally:
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            process.wait(timeout=30)


def _run(live: Live, prefect_server: PrefectServer, tmp_path: Path) -> dict:
    env = {**os.environ, **settings_env(live.app.settings), **prefect_server.env(),
           "NURTURE_SHARDS": "2"}  # fmt: skip
    result = subprocess.run(
        [BIN / "nurture", "run", "--as-of", NOW.isoformat(), "--json"],
        env=env, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary: dict = json.loads(result.stdout)
    return summary


def test_a_run_split_across_two_workers_sends_each_touch_once(
    live: Live, workers: int, pool: str, prefect_server: PrefectServer, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    summary = _run(live, prefect_server, tmp_path)
    assert summary["plan"]["planned"] == {"email": 2}  # one contact in each shard
    assert summary["execute"]["sent"] == {"email": 2}
    assert sorted(m.to for m in live.sendgrid.delivered()) == ["alice@globex.com", "jean@acme.fr"]

    api = httpx.Client(base_url=prefect_server.api, timeout=10)
    in_pool = {"work_pools": {"name": {"any_": [pool]}}}
    shards = api.post("/flow_runs/filter", json=in_pool).json()
    assert sorted(r["name"].rsplit("/", 1)[1] for r in shards) == ["shard-1-of-2", "shard-2-of-2"]
    assert {r["state_type"] for r in shards} == {"COMPLETED"}
    assert all(r["name"].startswith("daily-2026-03-02/") for r in shards)
    assert all(r["parent_task_run_id"] for r in shards)  # shown under the daily run in the UI

    again = _run(live, prefect_server, tmp_path)  # the same morning again: nothing twice
    assert again["execute"]["sent"] == {}
    assert len(live.sendgrid.delivered()) == 2
    assert len(api.post("/flow_runs/filter", json=in_pool).json()) == 4  # two shards each
