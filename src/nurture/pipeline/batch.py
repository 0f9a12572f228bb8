"""What one batch of touches carries between its steps, and what it reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.domain.contacts import Contact
from nurture.domain.scoring import InterestState
from nurture.domain.sequences import Sequence, Step
from nurture.domain.tasks import CallTask
from nurture.domain.touches import Outcome, Touch
from nurture.ports import OutgoingEmail, OutgoingSms, SendReceipt

__all__ = ["BatchReport", "Prepared"]


@dataclass
class BatchReport:
    """What one or more batches did."""

    claimed: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    cancelled: Counter[str] = field(default_factory=Counter)
    unknown: int = 0
    requeued: int = 0
    retried: int = 0
    tasks: int = 0
    completed: int = 0
    rescheduled: int = 0

    def add(self, other: BatchReport) -> None:
        """Fold ``other`` into this report."""
        self.claimed += other.claimed
        self.sent.update(other.sent)
        self.failed.update(other.failed)
        self.failures += other.failures
        self.cancelled.update(other.cancelled)
        self.unknown += other.unknown
        self.requeued += other.requeued
        self.retried += other.retried
        self.tasks += other.tasks
        self.completed += other.completed
        self.rescheduled += other.rescheduled

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchReport:
        """The inverse of :meth:`as_dict` (reports travel between Prefect tasks as JSON)."""
        return cls(
            claimed=data.get("claimed", 0),
            sent=Counter(data.get("sent") or {}),
            failed=Counter(data.get("failed") or {}),
            failures=list(data.get("failures") or []),
            cancelled=Counter(data.get("cancelled") or {}),
            unknown=data.get("unknown_outcome", 0),
            requeued=data.get("requeued", 0),
            retried=data.get("retried", 0),
            tasks=data.get("call_tasks", 0),
            completed=data.get("completed_enrollments", 0),
            rescheduled=data.get("rescheduled_window_closed", 0),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "claimed": self.claimed,
            "sent": dict(self.sent),
            "failed": dict(self.failed),
            "failures": self.failures[:100],
            "cancelled": dict(self.cancelled),
            "unknown_outcome": self.unknown,
            "requeued": self.requeued,
            "retried": self.retried,
            "call_tasks": self.tasks,
            "completed_enrollments": self.completed,
            "rescheduled_window_closed": self.rescheduled,
        }


@dataclass
class Prepared:
    """One claimed touch, checked and rendered: ready to send, or already decided."""

    touch: Touch
    contact: Contact
    state: InterestState = field(default_factory=InterestState)
    sequence: Sequence | None = None
    step: Step | None = None
    email: OutgoingEmail | None = None
    sms: OutgoingSms | None = None
    task: CallTask | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    receipt: SendReceipt | None = None
    subject: str | None = None
    content_hash: str | None = None
    retried: int = 0
    deliver_at: datetime | None = None  # a new delivery time, when the window was closed
    window_left: float | None = None  # seconds until the contact's window closes
