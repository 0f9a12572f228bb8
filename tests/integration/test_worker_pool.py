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
