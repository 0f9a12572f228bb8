"""How numbers read on a person's screen and in the Prefect UI (never a Python repr)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["hour_label", "iso", "words"]


def words(counts: Mapping[str, Any]) -> str:
    """Counts by key as people read them (``email 2, sms 1``), not ``{'email': 2}``."""
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"


def hour_label(moment: datetime, zone: str) -> str:
    """The hour of ``moment`` as a person in ``zone`` reads it, with the offset that
    makes it unambiguous: ``09:00+01:00``."""
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%H}:00{offset[:3]}:{offset[3:]}"


def iso(value: datetime | None) -> str | None:
    """A moment as JSON carries it (ISO 8601 with its offset), or ``None``."""
    return value.isoformat() if value is not None else None
