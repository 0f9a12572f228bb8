"""The worker processes of big runs (``orchestration/cores.py``): what they start with."""

from __future__ import annotations

import sys

from nurture.orchestration import cores


def _countries_loaded() -> int:
    return sum(1 for name in sys.modules if name.startswith("holidays.countries."))


def test_worker_processes_start_with_every_holiday_calendar_loaded() -> None:
    """The fork server imports them once: a worker no longer imports a country's
    calendar, and those they share, at that country's first contact."""
    pool = cores.worker_pool(1)
    assert pool.submit(_countries_loaded).result(timeout=120) > 100


def _report(board: str, slot: int, done: int, of: int) -> None:
    with cores.ProgressBoard.attach(board) as attached:
        attached.write(slot, done, of)


def test_the_flow_reads_how_far_each_worker_process_is() -> None:
    """Planners in worker processes write their progress on a board in shared memory;
    the flow's process reads the share of every worker's contacts done."""
    pool = cores.worker_pool(1)
    with cores.ProgressBoard.create(2) as board:
        assert board.share() == 0.0  # nobody has said how many it has
        pool.submit(_report, board.name, 0, 300, 1000).result(timeout=120)
        assert board.share() == 0.0  # the second worker has not started
        pool.submit(_report, board.name, 1, 0, 3000).result(timeout=120)
        assert board.share() == 300 / 4000
        pool.submit(_report, board.name, 1, 3000, 3000).result(timeout=120)
        assert board.share() == 3300 / 4000
    with cores.ProgressBoard.create(1) as empty:
        _report(empty.name, 0, 0, 0)
        assert empty.share() == 1.0  # nothing to do is all done
