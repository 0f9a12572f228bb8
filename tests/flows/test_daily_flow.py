"""The daily-run flow on a real Prefect engine: the run completes and ops get artifacts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.sorting import FlowRunSort
from typer.testing import CliRunner

from nurture.bootstrap import App
from nurture.cli import app as cli
from nurture.orchestration import phases
from nurture.orchestration.flows import daily_run, dispatch, on_progress
from tests.conftest import NOW
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people

pytestmark = pytest.mark.flows


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def ready(live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Live:
    for key, value in settings_env(live.app.settings).items():
        monkeypatch.setenv(key, value)
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    return live


async def _latest_run_and_artifacts() -> tuple[object, list[object]]:
    async with get_client() as client:
        [run] = await client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    return run, artifacts


def test_the_daily_run_completes_and_publishes_its_artifacts(ready: Live) -> None:
    summary = daily_run(as_of=NOW.isoformat())
    assert summary["execute"]["sent"] == {"email": 2}
    assert len(ready.sendgrid.delivered()) == 2
    run, artifacts = asyncio.run(_latest_run_and_artifacts())
    assert run.state.is_completed()  # type: ignore[attr-defined]
    by_key = {a.key: a for a in artifacts if a.key}  # type: ignore[attr-defined]
    assert {"run-summary", "funnel", "run-details"} <= set(by_key)
    table = by_key["run-summary"].data  # type: ignore[attr-defined]
    rows = json.loads(table) if isinstance(table, str) else table
    assert {"channel": "email", "status": "sent", "touches": 2} in rows
    quarantined = {"channel": "events", "status": "quarantined (nurture events list --failed)"}
    assert {**quarantined, "touches": 0} in rows
    assert any(a.type == "progress" for a in artifacts)  # type: ignore[attr-defined]


def test_nurture_run_json_prints_only_the_summary(ready: Live) -> None:
    result = CliRunner().invoke(cli, ["run", "--as-of", NOW.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["execute"]["sent"] == {"email": 2}
    assert summary["delivery"]["delivered_now"] == 2
    assert {row["stage"] for row in summary["funnel"]["rows"]} >= {"contact", "lead"}


def test_a_dry_run_through_the_cli_changes_nothing(ready: Live) -> None:
    result = CliRunner().invoke(cli, ["run", "--as-of", NOW.isoformat(), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.stdout
    assert "would send now: email 2" in result.stdout
    assert "{'" not in result.stdout  # no Python repr on a person's screen
    assert "by channel" in result.stdout
    assert "next 24 hours, by step" in result.stdout
    listed = CliRunner().invoke(
        cli, ["run", "--as-of", NOW.isoformat(), "--dry-run", "--list"], env={"COLUMNS": "120"}
    )
    assert listed.exit_code == 0, listed.output
    assert "who gets what" in listed.stdout
    assert "jean@acme.fr" in listed.stdout
    assert "09:00+01:00" in listed.stdout  # the project's time, with its offset
    assert ready.sendgrid.delivered() == []


async def _runs_and_artifacts() -> list[tuple[object, list[object]]]:
    async with get_client() as client:
        runs = await client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=2)
        out = []
        for run in runs:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
            out.append((run, artifacts))
    return out


def test_daily_and_dispatch_runs_are_named_and_publish_readable_artifacts(ready: Live) -> None:
    daily_run(as_of=NOW.isoformat())
    later = NOW.replace(hour=10, minute=30)
    dispatch(as_of=later.isoformat())
    [(dispatched, dispatch_artifacts), (daily, daily_artifacts)] = asyncio.run(
        _runs_and_artifacts()
    )
    assert daily.name == "daily-2026-03-02"  # type: ignore[attr-defined]
    assert dispatched.name == "dispatch-2026-03-02T11:30"  # type: ignore[attr-defined] # Paris
    keys = {a.key for a in dispatch_artifacts if a.key}  # type: ignore[attr-defined]
    assert "run-summary" in keys
    for artifact in [*daily_artifacts, *dispatch_artifacts]:
        data = artifact.data  # type: ignore[attr-defined]
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        for repr_mark in ("{'", "[(", "': ", '"*"'):
            assert repr_mark not in text, f"{artifact.key}: {repr_mark} in {text[:300]}"  # type: ignore[attr-defined]


def _planned_earlier(live: Live, shard: tuple[int, int] | None = None) -> None:
    """An earlier run planned the due steps (those of ``shard`` only, if given) and sent
    nothing: the touches are due now, for the daily run's batches to claim."""
    run_id = phases.start(live.app)
    phases.plan(live.app, run_id, shard=shard)
    phases.finish(live.app, run_id, {})


def test_the_run_plans_and_sends_beside_the_flows_checkpoints(
    ready: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning (which sends what is due now) and the batches that send what earlier runs
    planned both run beside a thread of the flow's process that copies SQLite's log
    (App.checkpointing); only worker processes defer their own checkpoints."""
    _planned_earlier(ready, shard=(0, 2))  # one of the two touches
    open_now = {"deferred": 0, "beside": 0}
    seen: list[tuple[str, dict[str, int]]] = []

    def counted(kind: str) -> Any:
        @contextmanager
        def context(_app: App) -> Iterator[None]:
            open_now[kind] += 1
            try:
                yield
            finally:
                open_now[kind] -= 1

        return context

    def heard(name: str, phase: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, dict(open_now)))
            return phase(*args, **kwargs)

        return run

    monkeypatch.setattr(App, "checkpoints_deferred", counted("deferred"))
    monkeypatch.setattr(App, "checkpointing", counted("beside"))
    monkeypatch.setattr(phases, "plan", heard("plan", phases.plan))
    monkeypatch.setattr(phases, "execute", heard("execute", phases.execute))
    summary = daily_run(as_of=NOW.isoformat())
    assert summary["execute"]["sent"] == {"email": 2}
    assert summary["execute"]["claimed"] == 2
    assert {name for name, _ in seen} == {"plan", "execute"}
    for _, now in seen:
        assert now == {"deferred": 0, "beside": 1}, seen


def test_planning_sends_what_is_due_now_and_the_batches_what_earlier_runs_planned(
    ready: Live,
) -> None:
    _planned_earlier(ready, shard=(0, 2))
    summary = daily_run(as_of=NOW.isoformat())
    assert summary["plan"]["deliver_now"] == 1
    assert "execution" not in summary["plan"]
    assert summary["execute"]["sent"] == {"email": 2}
    assert len(ready.sendgrid.delivered()) == 2
    assert summary["delivery"]["delivered_now"] == 2


def test_the_run_reports_its_progress_to_listeners(ready: Live) -> None:
    heard: list[float] = []
    with on_progress(heard.append):
        daily_run(as_of=NOW.isoformat())
    assert heard
    assert heard[-1] == 1.0
    assert heard == sorted(heard)


def test_progress_goes_from_planning_to_the_batches_in_proportion(ready: Live) -> None:
    """One step due to plan, one touch planned earlier: planning is the first half."""
    _planned_earlier(ready, shard=(0, 2))
    heard: list[float] = []
    with on_progress(heard.append):
        daily_run(as_of=NOW.isoformat())
    assert heard == [0.5, 1.0]


def test_progress_adds_up_what_each_batch_claimed(
    ready: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    _planned_earlier(ready)
    monkeypatch.setenv("NURTURE_BATCH_SIZE", "1")  # two batches of one touch
    heard: list[float] = []
    with on_progress(heard.append):
        summary = daily_run(as_of=NOW.isoformat())
    assert summary["execute"]["sent"] == {"email": 2}
    assert heard == [0.5, 1.0]


def test_a_task_sends_its_batches_one_after_the_other(
    ready: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.orchestration import flows

    _planned_earlier(ready)
    monkeypatch.setenv("NURTURE_BATCH_SIZE", "1")
    monkeypatch.setenv("NURTURE_TASK_RUNNER", "threads")  # one sender: the flow's process
    monkeypatch.setattr(flows, "TASKS_PER_WORKER", 1)  # two batches, one task
    heard: list[float] = []
    with on_progress(heard.append):
        summary = daily_run(as_of=NOW.isoformat())
    assert summary["execute"]["sent"] == {"email": 2}
    assert heard == [1.0]  # one task reported both batches (no sweep sent the second)


def test_a_dispatch_sweep_reports_its_progress_too(ready: Live) -> None:
    _planned_earlier(ready)  # the dispatch sends them
    heard: list[float] = []
    with on_progress(heard.append):
        summary = dispatch(as_of=NOW.isoformat())
    assert summary["execute"]["sent"] == {"email": 2}
    assert heard
    assert heard[-1] == 1.0


async def _logs_and_artifacts(count: int) -> str:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        runs = await client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=count)
        ids = [run.id for run in runs]
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids))
        )
    texts = [log.message for log in logs]
    texts += [json.dumps(a.data, ensure_ascii=False) for a in artifacts]  # type: ignore[attr-defined]
    texts += [a.description or "" for a in artifacts]  # type: ignore[attr-defined]
    return "\n".join(texts)


def test_no_personal_data_in_the_logs_or_artifacts_of_a_run(ready: Live) -> None:
    daily_run(as_of=NOW.isoformat())
    dispatch(as_of=NOW.replace(hour=14).isoformat())
    seen = asyncio.run(_logs_and_artifacts(2))
    assert "Touches of run" in seen  # the artifacts were read
    assert "planned" in seen  # and the task logs
    for personal in (
        "jean@acme.fr", "alice@globex.com", "+33612345678", "+12125550100",
        "Dupont", "Smith", "Jean", "Alice",
    ):  # fmt: skip
        assert personal not in seen, f"{personal} appears in a log or an artifact"


def test_worker_processes_plan_and_send_each_touch_once(
    ready: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.orchestration import cores

    monkeypatch.setenv("NURTURE_TASK_RUNNER", "processes")
    monkeypatch.setenv("NURTURE_BATCH_SIZE", "1")  # two batches: two worker processes
    heard: list[float] = []
    with on_progress(heard.append):
        summary = daily_run(as_of=NOW.isoformat())
    assert cores._pools  # the work went to worker processes
    assert summary["plan"]["planned"] == {"email": 2}  # one shard each, merged
    assert summary["execute"]["sent"] == {"email": 2}  # by the planners, as they planned
    assert summary["execute"]["claimed"] == 2
    assert heard[-1] == 1.0  # the run told to its end (the board: test_worker_pool.py)
    assert sorted(m.to for m in ready.sendgrid.delivered()) == ["alice@globex.com", "jean@acme.fr"]
    again = daily_run(as_of=NOW.isoformat())  # the same morning again: nothing twice
    assert again["execute"]["sent"] == {}
    assert len(ready.sendgrid.delivered()) == 2


def test_shards_without_their_deployment_fail_the_run_saying_what_to_register(
    ready: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_SHARDS", "2")
    with pytest.raises(RuntimeError, match=r"no 'run-shard/shard' deployment.*nurture deploy"):
        daily_run(as_of=NOW.isoformat())
    assert ready.sendgrid.delivered() == []
    with ready.app.engine.connect() as connection:
        statuses = {row[0] for row in connection.exec_driver_sql("SELECT status FROM runs")}
    assert statuses == {"failed"}


def test_shards_no_worker_takes_are_cancelled_and_the_run_says_to_start_one(
    ready: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from nurture.orchestration import shards

    deployment = shards.run_shard.to_deployment(name="shard").apply()  # no worker runs it
    monkeypatch.setenv("NURTURE_SHARDS", "2")
    monkeypatch.setattr(shards, "PICKUP_SECONDS", 2.0)
    try:
        with pytest.raises(RuntimeError, match=r"no Prefect worker took 2 shards.*worker start"):
            daily_run(as_of=NOW.isoformat())
    finally:  # the other tests of this engine run without it

        async def remove() -> None:
            async with get_client() as client:
                await client.delete_deployment(deployment)

        asyncio.run(remove())
    assert ready.sendgrid.delivered() == []

    async def shard_states() -> list[str]:
        async with get_client() as client:
            found = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="/shard-"))
            )
        return [r.state.type.value for r in found if r.state is not None]

    states = asyncio.run(shard_states())
    assert len(states) == 2
    assert set(states) == {"CANCELLED"}  # no worker will send them later
