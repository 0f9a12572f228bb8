"""Call tasks: a rep's call, from a sequence's call step or a hand-off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from nurture.domain.records import Record

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
    REPLY = "reply"  # a contact answered an email: its owner follows up
    LOGGED = "logged"  # a call a rep made on their own, logged with `calls log --contact`


@dataclass(slots=True)
class CallTask(Record):
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

    def __post_init__(self) -> None:
        self.status, self.kind = TaskStatus(self.status), TaskKind(self.kind)
