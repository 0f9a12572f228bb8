"""A real Prefect engine for the whole session (its start costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_engine() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield
