"""Writers of one SQLite file take turns (``adapters/db/turns.py``): threads of a process
and separate processes wait for each other, and a turn ends even when the block fails."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from nurture.adapters.db.engine import create_db_engine
from nurture.adapters.db.turns import LOCK_SUFFIX, writer_turn


def _hold(url: str, started: multiprocessing.synchronize.Event, seconds: float) -> None:
    with writer_turn(create_db_engine(url)):
        started.set()
        time.sleep(seconds)


def test_threads_and_processes_wait_for_the_turn(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    engine = create_db_engine(url)
    inside: list[str] = []

    def write(name: str) -> None:
        with writer_turn(engine):
            inside.append(f"{name} in")
            time.sleep(0.05)
            inside.append(f"{name} out")

    threads = [threading.Thread(target=write, args=(n,)) for n in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # never two inside at once: every "in" is followed by its own "out"
    assert [step.split()[1] for step in inside] == ["in", "out"] * 3
    assert (tmp_path / f"nurture.db{LOCK_SUFFIX}").exists()

    spawn = multiprocessing.get_context("spawn")
    started = spawn.Event()
    other = spawn.Process(target=_hold, args=(url, started, 1.0))
    other.start()
    try:
        assert started.wait(30)
        began = time.monotonic()
        with writer_turn(engine):
            waited = time.monotonic() - began
    finally:
        other.join(30)
    assert waited > 0.5  # the other process held the turn for a second


def test_a_failing_block_ends_its_turn(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'nurture.db'}")
    with pytest.raises(RuntimeError), writer_turn(engine):
        raise RuntimeError("the block failed")
    done = threading.Event()

    def write() -> None:
        with writer_turn(engine):
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert done.wait(5)
    thread.join()


def test_no_turns_in_memory() -> None:
    memory = create_db_engine("sqlite://")
    with writer_turn(memory), writer_turn(memory):  # nothing to wait for, even nested
        pass
