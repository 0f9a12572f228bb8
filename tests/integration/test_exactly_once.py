"""A run stopped at any point and run again never sends twice and never loses a touch.

Runs on SQLite and on a real PostgreSQL, with the touches due now sent by the planners
(the daily run) and by the execute batches' claims (touches planned earlier).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import touches
from nurture.pipeline import execute as executor
from tests.conftest import NOW
from tests.support.env import settings_env
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once

COUNT = 12


def crowd(count: int = COUNT) -> str:
    lines = ["external_id,email,first_name,company,country,phone,consent_sms"]
    lines += [
        f"p{i},person{i}@crowd.fr,P{i},Crowd,FR,06 12 34 {i // 100:02d} {i % 100:02d},yes"
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def due(live: Live, tmp_path: Path) -> Live:
    import_people(live.app, tmp_path, crowd())
    enroll_all(live.app, "channels-test")
    return live


@pytest.fixture(params=["planners", "batches"])
def planning_sends(request: pytest.FixtureRequest) -> bool:
    """Who sends the touches due now: the planners, or the batches that claim them."""
    return bool(request.param == "planners")


def statuses(live: Live) -> list[str]:
    with live.app.engine.connect() as connection:
        return sorted(connection.execute(sa.select(touches.c.status)).scalars())


def assert_exactly_once(live: Live, count: int = COUNT) -> None:
    per_touch = live.sendgrid.by_touch()
    assert sorted(len(messages) for messages in per_touch.values()) == [1] * count
    assert statuses(live) == ["sent"] * count


def rerun(live: Live) -> dict[str, Any]:
    return run_once(live.at(NOW + timedelta(minutes=10)))


def test_a_crash_before_the_send(
    due: Live, monkeypatch: pytest.MonkeyPatch, planning_sends: bool
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("killed before sending")

    monkeypatch.setattr(executor, "_send", crash)
    with pytest.raises(RuntimeError):
        run_once(due.app, planning_sends=planning_sends)
    assert statuses(due) == ["sending"] * COUNT
    assert due.sendgrid.delivered() == []
    monkeypatch.undo()
    summary = rerun(due)
    assert summary["reconcile"]["requeued"] == COUNT  # SendGrid confirms it never got them
    assert_exactly_once(due)


def test_a_crash_after_the_send_before_the_commit(
    due: Live, monkeypatch: pytest.MonkeyPatch, planning_sends: bool
) -> None:
    def crash(**_: object) -> None:
        raise RuntimeError("killed before recording")

    monkeypatch.setattr(executor, "record_outcomes", crash)
    with pytest.raises(RuntimeError):
        run_once(due.app, planning_sends=planning_sends)
    assert len(due.sendgrid.delivered()) == COUNT
    monkeypatch.undo()
    summary = rerun(due)
    assert summary["reconcile"]["confirmed_sent"] == COUNT
    assert summary["execute"]["sent"] == {}
    assert_exactly_once(due)


def test_a_crash_in_the_middle_of_a_batch(
    due: Live, monkeypatch: pytest.MonkeyPatch, planning_sends: bool
) -> None:
    real = executor._send_one
    calls = {"n": 0}

    def flaky(item: Any, delivery: Any) -> None:
        calls["n"] += 1
        if calls["n"] > COUNT // 2:
            raise RuntimeError("killed mid-batch")
        real(item, delivery)

    monkeypatch.setattr(executor, "_send_one", flaky)
    with pytest.raises(RuntimeError):
        run_once(due.app, planning_sends=planning_sends)
    sent_before = len(due.sendgrid.delivered())
    assert 0 < sent_before < COUNT
    monkeypatch.undo()
    summary = rerun(due)
    assert summary["reconcile"]["confirmed_sent"] == sent_before
    assert summary["reconcile"]["requeued"] == COUNT - sent_before
    assert_exactly_once(due)


def test_a_run_killed_with_sigkill(due: Live, planning_sends: bool) -> None:
    due.sendgrid.behaviour.delay = 0.05  # a slow provider: the kill lands mid-execution
    env = {**os.environ, **settings_env(due.app.settings)}
    script = (
        "from datetime import datetime\n"
        "from nurture.bootstrap import bootstrap\n"
        "from tests.support.run import run_once\n"
        f"app = bootstrap(as_of=datetime.fromisoformat({NOW.isoformat()!r}))\n"
        f"run_once(app, planning_sends={planning_sends!r})\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], env=env, cwd=Path(__file__).resolve().parents[2]
    )
    try:
        deadline = time.monotonic() + 60
        while len(due.sendgrid.sent) < 3:
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    sent_before = len(due.sendgrid.delivered())
    assert sent_before < COUNT
    due.sendgrid.behaviour.delay = 0.0
    summary = rerun(due)
    assert summary["reconcile"]["confirmed_sent"] + summary["reconcile"]["requeued"] >= 1
    assert_exactly_once(due)
