"""The webhook server reads its project once and freezes what it keeps for its life, so
that full garbage collections under load do not walk it again and again."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from nurture.errors import SpecError
from nurture.web import app as web


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Project:
    def __init__(self, error: Exception | None = None) -> None:
        self.reads, self.error = 0, error

    @property
    def project(self) -> Any:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return SimpleNamespace(rules=[object() for _ in range(100)])


@pytest.mark.usefixtures("unfrozen")
def test_the_server_reads_its_project_then_freezes_it() -> None:
    app = _Project()
    web._settle(app)  # type: ignore[arg-type]
    assert app.reads == 1
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_a_project_that_does_not_load_is_left_to_the_requests() -> None:
    app = _Project(SpecError("scoring.yaml: bad"))
    web._settle(app)  # type: ignore[arg-type]  # no raise: the server still starts
    assert app.reads == 1
    assert gc.get_freeze_count() > 0
