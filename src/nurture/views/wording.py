"""How numbers read on a person's screen and in the Prefect UI (never a Python repr)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["words"]


def words(counts: Mapping[str, Any]) -> str:
    """Counts by key as people read them (``email 2, sms 1``), not ``{'email': 2}``."""
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"
