"""Call tasks: a rep's call, from a sequence's call step or a hand-off."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["CallTask", "TaskKind", "TaskStatus"]


class TaskStatus(StrEnum):
    """Where a call task is."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskKind(StrEnum):
    """Why the call is to be made."""

    SEQUENCE = "sequence"  # a call step of a sequence
    HANDOFF = "handoff"  # a contact just qualified: its owner calls within the SLA


@dataclass(slots=True)
class CallTask:
    """One call for one rep to make, with the script to read and what to know."""

    contact_id: int
    kind: TaskKind
    title: str
    due_at: datetime
    created_at: datetime
    owner: str | None = None
    touch_id: int | None = None
    script: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    status: TaskStatus = TaskStatus.OPEN
    outcome: str | None = None
    note: str | None = None
    logged_at: datetime | None = None
    id: int = 0  # 0 until stored

    @classmethod
    def from_row(cls, row: Any) -> CallTask:
        """The task a stored row (a mapping of column names) describes."""
        task = cls(**{name: row[name] for name in _FIELDS if name in row})
        task.status, task.kind = TaskStatus(task.status), TaskKind(task.kind)
        return task

    def as_row(self) -> dict[str, Any]:
        """The task as a mapping of column names, without its id."""
        return {name: getattr(self, name) for name in _FIELDS if name != "id"}


_FIELDS = tuple(f.name for f in fields(CallTask))
