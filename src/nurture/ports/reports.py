"""The read model the reports are computed from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

__all__ = ["ReportData"]


class ReportData(Protocol):
    """The rows the reports are computed from (a read model)."""

    def stage_temperature_counts(self) -> Iterable[tuple[str, str, int]]:
        """(stage, temperature, contacts)."""
        ...

    def created(self) -> dict[int, datetime]:
        """When each contact was created."""
        ...

    def stage_changes(self) -> Iterable[tuple[int, datetime, str, str]]:
        """(contact, at, from, to), oldest first."""
        ...

    def touches(self, since: datetime | None) -> Iterable[Any]:
        """Touches (id, contact_id, sequence_id, step_id, channel, status, sent_at,
        step_index, address) delivered since ``since``."""
        ...

    def applied_events(
        self, kinds: Iterable[str], since: datetime | None
    ) -> Iterable[tuple[str, int | None, int | None, datetime]]:
        """(type, touch, contact, occurred at) of applied events of these kinds."""
        ...

    def deferral_reasons(self, since: datetime | None) -> Iterable[str]:
        """The reasons of deferrals recorded since ``since``."""
        ...

    def enrollment_states(self) -> Iterable[tuple[str, str, str | None]]:
        """(sequence, status, exit reason) of every enrollment."""
        ...

    def sent(self, since: datetime | None) -> Iterable[tuple[datetime, str]]:
        """(sent at, channel) of every touch sent since ``since``."""
        ...

    def stage_score_counts(self) -> Iterable[tuple[str, int, int]]:
        """(stage, score, contacts)."""
        ...

    def forgotten(self) -> int:
        """How many people were forgotten (they stay in the counts, anonymous)."""
        ...
