"""The repositories of what happened around contacts: events, call tasks, the journal,
runs, sequence versions and suppressions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from nurture.domain.events import StoredEvent
from nurture.domain.journal import JournalEntry
from nurture.domain.sequences import Sequence as SequenceSpec
from nurture.domain.tasks import CallTask

__all__ = [
    "CallTasks",
    "Events",
    "Journal",
    "QueuedCall",
    "Runs",
    "ScorePoint",
    "SequenceVersions",
    "Suppression",
    "Suppressions",
]


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """A call in a rep's queue: the task and who to call (the queue's read model)."""

    task: CallTask
    first_name: str | None
    last_name: str | None
    company: str | None
    phone: str | None
    email: str | None
    score: int
    temperature: str

    @property
    def name(self) -> str:
        """First and last name, else the email."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or (self.email or "")

    def as_row(self) -> dict[str, Any]:
        """The task's columns and the contact's, flat (what ``--json`` prints)."""
        contact = {name: getattr(self, name) for name in _CONTACT_PART}
        return {"id": self.task.id, **self.task.as_row(), **contact}


class ScorePoint(NamedTuple):
    """Interest points a contact earned from one event."""

    event_type: str
    points: float
    occurred_at: datetime
    event_id: int | None


class Suppression(NamedTuple):
    """An address nothing may reach on a channel, and why (``active`` false: lifted)."""

    channel: str
    address: str
    active: bool
    reason: str
    created_at: datetime
    updated_at: datetime


_CONTACT_PART = ("first_name", "last_name", "company", "phone", "email", "score", "temperature")


class Events(Protocol):
    """Event rows and the score ledger."""

    def store(self, new: Sequence[StoredEvent]) -> tuple[int, list[tuple[int, str]]]:
        """Insert events not seen before (by provider and provider event id). Returns how"""
        ...

    def quarantine(self, items: Sequence[dict[str, str]], *, at: datetime) -> None:
        """Keep what could not be read or stored (``origin``, ``error``, ``raw``: what was"""
        ...

    def failed(self, *, limit: int = 200) -> list[StoredEvent]:
        """Quarantined events, newest first."""
        ...

    def unmatched(self, *, limit: int = 200) -> list[StoredEvent]:
        """Events that matched no contact, newest first."""
        ...

    def pending(self, *, limit: int) -> list[StoredEvent]:
        """Events stored but not applied yet, oldest first."""
        ...

    def mark(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record each event's outcome: ``id``, ``status``, ``applied_at``, and whichever
        of ``contact_id``, ``touch_id`` and ``error`` changed (a key left out keeps its
        stored value)."""
        ...

    def scrub(self, ids: Sequence[int]) -> None:
        """Empty these events of anything personal (their payload and address)."""
        ...

    def applied_history(self, contact_ids: Sequence[int]) -> list[tuple[int, str, datetime]]:
        """(contact id, type, occurred at) of every applied event of these contacts."""
        ...

    def add_points(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append to the score ledger: ``contact_id``, ``event_id``, ``event_type``,"""
        ...

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[StoredEvent]:
        """A contact's events, newest first."""
        ...

    def count_pending(self) -> int:
        """Events waiting to be applied."""
        ...

    def score_history(self, contact_id: int) -> list[ScorePoint]:
        """Every interest point a contact earned, oldest first."""
        ...

    def stored_since(self, since: datetime) -> int:
        """Events received since ``since``."""
        ...


class Runs(Protocol):
    """Run rows."""

    def start(
        self, run_id: str, *, kind: str, as_of: datetime, started_at: datetime, dry_run: bool
    ) -> None:
        """Record a run that starts now, in this process."""
        ...

    def beat(self, run_id: str, *, at: datetime) -> None:
        """Say the run is still alive."""
        ...

    def finish(self, run_id: str, *, status: str, at: datetime, summary: dict[str, Any]) -> None:
        """Record how a run ended."""
        ...

    def parts(self, run_id: str) -> list[dict[str, Any]]:
        """The summaries of the parts of ``run_id`` (its shards, ``RUN/shard-N``), by id."""
        ...

    def live(self, *, stale_before: datetime) -> set[str]:
        """Runs that are still working: running, beating recently, and (on this machine)"""
        ...


class CallTasks(Protocol):
    """Call task rows."""

    def add_many(self, new: Sequence[CallTask]) -> None:
        """Create tasks."""
        ...

    def queue(
        self, *, owner: str | None = None, status: str | None = "open", limit: int = 500
    ) -> list[QueuedCall]:
        """Tasks by due time, with the contact's name, company and phone."""
        ...

    def for_touch(self, touch_id: int) -> int | None:
        """The id of the call task a touch made, if it made one."""
        ...

    def get(self, task_id: int) -> CallTask | None:
        """One task."""
        ...

    def close(self, task_id: int, *, outcome: str, note: str | None, at: datetime) -> None:
        """Record a call outcome on a task."""
        ...

    def for_contact(self, contact_id: int) -> list[CallTask]:
        """Every call task of a contact, newest first."""
        ...

    def cancel_open(self, contact_id: int, *, touch_ids: Sequence[int] | None, at: datetime) -> int:
        """Cancel open tasks of a contact created by ``touch_ids`` (``None``: all of them)."""
        ...


class Journal(Protocol):
    """Append-only decisions."""

    def add(
        self,
        kind: str,
        reason: str,
        *,
        at: datetime,
        contact_id: int | None = None,
        enrollment_id: int | None = None,
        touch_id: int | None = None,
        run_id: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Record one decision."""
        ...

    def add_many(self, entries: Sequence[JournalEntry]) -> None:
        """Record decisions."""
        ...

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[JournalEntry]:
        """A contact's decisions, newest first."""
        ...


class SequenceVersions(Protocol):
    """Every version of every sequence ever used."""

    def register(self, sequence: SequenceSpec, *, now: datetime, file: str | None = None) -> None:
        """Keep a snapshot of ``sequence``; refuse an edit that did not bump the version."""
        ...

    def get(self, sequence_id: str, version: int) -> SequenceSpec | None:
        """The snapshot of ``sequence_id`` at ``version``."""
        ...

    def versions(self, sequence_id: str) -> list[int]:
        """Every stored version of ``sequence_id``, oldest first."""
        ...


class Suppressions(Protocol):
    """The suppression list."""

    def active(self, channel: str, addresses: Iterable[str | None]) -> dict[str, str]:
        """Suppressed ``addresses`` of ``channel`` (email or sms) → reason."""
        ...

    def suppress(
        self, channel: str, address: str, *, reason: str, at: datetime, event_id: int | None = None
    ) -> bool:
        """Suppress ``address``; returns whether it was not suppressed before."""
        ...

    def for_addresses(self, addresses: Iterable[str | None]) -> list[Suppression]:
        """Every suppression, active or lifted, of these addresses (any channel)."""
        ...

    def lift(self, channel: str, address: str, *, at: datetime) -> bool:
        """Lift a suppression (an SMS START); returns whether one was active."""
        ...
