"""End to end: the daily run against a real Prefect server, seen in its UI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import NOW
from tests.e2e.conftest import PrefectServer, dump_dom
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def _nurture() -> str:
    return str(Path(sys.executable).with_name("nurture"))


def test_the_daily_run_on_a_prefect_server_is_shown_in_its_ui(
    live: Live, tmp_path: Path, prefect_server: PrefectServer, chromium: str
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    env = {**os.environ, **settings_env(live.app.settings), **prefect_server.env()}
    result = subprocess.run(
        [_nurture(), "run", "--as-of", NOW.isoformat(), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["execute"]["sent"] == {"email": 2}

    api = httpx.Client(base_url=prefect_server.api, timeout=10)
    runs = api.post(
        "/flow_runs/filter",
        json={
            "flows": {"name": {"any_": ["daily-run"]}},
            "sort": "START_TIME_DESC",
            "limit": 1,
        },
    ).json()
    [run] = runs
    assert run["state_type"] == "COMPLETED"
    artifacts = api.post(
        "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}
    ).json()
    keys = {a["key"] for a in artifacts if a["key"]}
    assert {"run-summary", "funnel", "run-details"} <= keys
    assert any(a["type"] == "progress" for a in artifacts)

    page = dump_dom(
        chromium,
        f"{prefect_server.url}/runs/flow-run/{run['id']}",
        tmp_path / "chrome",
        screenshot=tmp_path / "flow-run.png",
    )
    assert run["name"] in page
    assert "Completed" in page
    assert (tmp_path / "flow-run.png").stat().st_size > 10_000


def test_nurture_serve_registers_both_schedules(
    tmp_path: Path, prefect_server: PrefectServer
) -> None:
    env = {
        **os.environ,
        **prefect_server.env(),
        "NURTURE_PROJECT_DIR": str(REPO),
        "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "NURTURE_UNSUBSCRIBE_SECRET": "e2e-serve-link-secret-0123456789",
    }
    process = subprocess.Popen(
        [_nurture(), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,
    )
    api = httpx.Client(base_url=prefect_server.api, timeout=10)
    try:
        deadline = time.monotonic() + 120
        deployments: dict[str, dict] = {}
        while len(deployments) < 2:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "nurture serve registered nothing"
            found = api.post("/deployments/filter", json={}).json()
            deployments = {d["name"]: d for d in found if d["name"] in {"daily", "dispatch"}}
            time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    [daily] = deployments["daily"]["schedules"]
    assert daily["schedule"]["cron"] == "0 8 * * *"
    assert daily["schedule"]["timezone"] == "Europe/Paris"
    [every] = deployments["dispatch"]["schedules"]
    assert every["schedule"]["interval"] == 300.0


def test_a_dispatch_run_shows_its_summary_in_the_ui(
    live: Live, tmp_path: Path, prefect_server: PrefectServer, chromium: str
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    env = {**os.environ, **settings_env(live.app.settings), **prefect_server.env()}
    later = NOW.replace(hour=9, minute=30).isoformat()
    result = subprocess.run(
        [_nurture(), "dispatch", "--as-of", later, "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    api = httpx.Client(base_url=prefect_server.api, timeout=10)
    [run] = api.post(
        "/flow_runs/filter",
        json={"flows": {"name": {"any_": ["dispatch"]}}, "sort": "START_TIME_DESC", "limit": 1},
    ).json()
    assert run["name"] == "dispatch-2026-03-02T10:30"  # 09:30 UTC, read in Paris
    artifacts = api.post(
        "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}
    ).json()
    [summary] = [a for a in artifacts if a["key"] == "run-summary"]
    assert "held for a later run" in json.dumps(summary["data"])
    run_page = dump_dom(
        chromium, f"{prefect_server.url}/runs/flow-run/{run['id']}", tmp_path / "chrome-run"
    )
    assert run["name"] in run_page
    assert 'id="artifacts"' in run_page  # the run's page has its Artifacts tab
    page = dump_dom(
        chromium,
        f"{prefect_server.url}/artifacts/artifact/{summary['id']}",
        tmp_path / "chrome-dispatch",
        screenshot=tmp_path / "dispatch-artifact.png",
    )
    assert "run-summary" in page
    assert "held for a later run" in page
    assert run["name"] in page  # the artifact's page names the run it belongs to
