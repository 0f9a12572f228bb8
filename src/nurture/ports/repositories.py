"""The repositories a unit of work offers, as Protocols: the use cases are typed against
these, the SQL adapters (``adapters/db``) implement them, and tests bring in-memory fakes.

Rows still travel as mappings of column names for most of them; they become domain
objects repository by repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from nurture.domain.contacts import Contact
from nurture.domain.lifecycle import StageChange
from nurture.domain.sequences import Sequence as SequenceSpec
from nurture.ports.messages import StoredContact

__all__ = [
    "CallTasks",
    "Contacts",
    "Enrollments",
    "Events",
    "Journal",
    "ReportData",
    "Runs",
    "SequenceVersions",
    "Suppressions",
    "Touches",
    "UnitOfWork",
]


class Contacts(Protocol):
    """The contact repository on a SQLAlchemy connection."""

    def find_existing(
        self, *, emails: Sequence[str], external_ids: Sequence[str]
    ) -> dict[tuple[str, str], StoredContact]: ...

    def load_details(self, stored: Sequence[StoredContact]) -> dict[int, StoredContact]: ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def save(
        self, inserts: Sequence[Mapping[str, Any]], updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], str]]:
        """Write the rows together in a savepoint; if the database refuses that, row by"""
        ...

    def resolve_refs(self, refs: Sequence[str]) -> dict[str, int]:
        """Contact ids for references that are emails, phone numbers, ids or external ids"""
        ...

    def fading(self, *, after_id: int, scored_before: datetime, limit: int) -> list[Any]:
        """Contacts with interest points not re-scored since ``scored_before``, by id after"""
        ...

    def quiet_prospects(self, *, since_before: datetime) -> list[int]:
        """Prospects whose last interest (else their promotion) is older than the cutoff."""
        ...

    def rules_pending(self) -> list[int]:
        """Contacts whose inputs changed since the stage rules last looked at them."""
        ...

    def lock(self, contact_ids: Sequence[int]) -> list[int]:
        """Lock these contacts until the transaction ends; returns the ids."""
        ...

    def to_contact(self, row: Mapping[str, Any]) -> Contact:
        """The contact a stored row describes."""
        ...

    def run_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """What a run needs of these contacts, by id."""
        ...

    def get(self, ref: str) -> Contact | None: ...

    def get_row(self, ref: str) -> dict[str, Any] | None:
        """The stored row of a contact by id, email or external id."""
        ...

    def rows_by_id(
        self, ids: Sequence[int], *, columns: Sequence[str] | None = None
    ) -> dict[int, dict[str, Any]]:
        """Stored rows for ``ids`` (every column, or only ``columns`` and the id)."""
        ...

    def add_stage_changes(self, contact_id: int, changes: Sequence[StageChange]) -> None: ...

    def stage_history(self, contact_id: int) -> list[dict[str, Any]]:
        """Every stage change of a contact, oldest first."""
        ...

    def iter_contacts(self, *, batch: int = 5000) -> Iterator[Contact]:
        """Every contact, by id, read ``batch`` rows at a time."""
        ...

    def count(self) -> int: ...


class Enrollments(Protocol):
    """Enrollment rows."""

    def running_contacts(self, sequence_id: str, contact_ids: Iterable[int]) -> set[int]:
        """Which of ``contact_ids`` are enrolled in ``sequence_id`` right now."""
        ...

    def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert enrollments; returns their ids in order."""
        ...

    def running_in(self, sequence_id: str) -> list[dict[str, Any]]:
        """Every running enrollment of ``sequence_id``."""
        ...

    def due_contacts(self, now: datetime) -> list[int]:
        """Every contact with a step due by ``now``, in id order."""
        ...

    def due_for(self, contact_ids: Sequence[int], now: datetime) -> list[dict[str, Any]]:
        """The active enrollments of these contacts due by ``now``, in planning order."""
        ...

    def advance_planned(self, moves: Sequence[dict[str, Any]]) -> None:
        """Move enrollments past the step planned, unless someone else did meanwhile."""
        ...

    def due_by_sequence(self, now: datetime) -> dict[str, int]:
        """How many enrollments are due by ``now``, by sequence."""
        ...

    def due_again(self, ids: Sequence[int], *, at: datetime) -> None:
        """Running enrollments among ``ids`` that wait on nothing become due at ``at``"""
        ...

    def reschedule(self, rows: Sequence[dict[str, Any]]) -> None:
        """Set ``next_due_at`` and ``last_touch_at`` of active enrollments (``_id``)."""
        ...

    def statuses(self, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
        """(status, exit reason) of each enrollment among ``ids``."""
        ...

    def for_contact(self, contact_id: int) -> list[dict[str, Any]]:
        """Every enrollment of a contact, newest first."""
        ...

    def move(self, enrollment_id: int, *, version: int, step_index: int) -> None:
        """Pin an enrollment to another version, at ``step_index``."""
        ...

    def end(self, enrollment_id: int, *, status: str, reason: str | None, at: datetime) -> None:
        """Finish an enrollment (``completed`` or ``exited``)."""
        ...


class Events(Protocol):
    """Event rows and the score ledger."""

    def store(self, rows: Sequence[dict[str, Any]]) -> tuple[int, list[tuple[int, str]]]:
        """Insert events not seen before (by provider and provider event id). Returns how"""
        ...

    def quarantine(self, items: Sequence[dict[str, str]], *, at: datetime) -> None:
        """Keep what could not be read or stored (``origin``, ``error``, ``raw``: what was"""
        ...

    def failed(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Quarantined events, newest first."""
        ...

    def unmatched(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Events that matched no contact, newest first."""
        ...

    def pending(self, *, limit: int) -> list[dict[str, Any]]:
        """Events stored but not applied yet, oldest first."""
        ...

    def mark(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record each event's outcome: ``id``, ``status``, ``contact_id``, ``error``,"""
        ...

    def applied_history(self, contact_ids: Sequence[int]) -> list[tuple[int, str, datetime]]:
        """(contact id, type, occurred at) of every applied event of these contacts."""
        ...

    def add_points(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append to the score ledger: ``contact_id``, ``event_id``, ``event_type``,"""
        ...

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
        """A contact's events, newest first."""
        ...

    def count_pending(self) -> int:
        """Events waiting to be applied."""
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

    def live(self, *, stale_before: datetime) -> set[str]:
        """Runs that are still working: running, beating recently, and (on this machine)"""
        ...

    def get(self, run_id: str) -> dict[str, Any] | None:
        """One run."""
        ...

    def latest(self, *, kind: str = "daily", limit: int = 20) -> list[dict[str, Any]]:
        """The most recent runs of ``kind``."""
        ...


class CallTasks(Protocol):
    """Call task rows."""

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Create tasks."""
        ...

    def queue(
        self, *, owner: str | None = None, status: str | None = "open", limit: int = 500
    ) -> list[dict[str, Any]]:
        """Tasks by due time, with the contact's name, company and phone."""
        ...

    def for_touch(self, touch_id: int) -> int | None:
        """The id of the call task a touch made, if it made one."""
        ...

    def get(self, task_id: int) -> dict[str, Any] | None:
        """One task."""
        ...

    def close(self, task_id: int, *, outcome: str, note: str | None, at: datetime) -> None:
        """Record a call outcome on a task."""
        ...

    def cancel_open(self, contact_id: int, *, touch_ids: Sequence[int], at: datetime) -> int:
        """Cancel open tasks of a contact created by ``touch_ids``."""
        ...


class Touches(Protocol):
    """Touch rows."""

    def insert_new(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert touches whose key is new; a key that exists already is left as it is."""
        ...

    def counted_since(
        self, contact_ids: Iterable[int], since: datetime
    ) -> dict[int, list[datetime]]:
        """Delivery times of touches that count against each contact's budget."""
        ...

    def claim(
        self, *, worker: str, due_by: datetime, claimed_at: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """Take up to ``limit`` scheduled touches due by ``due_by`` for ``worker``."""
        ...

    def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update touches by ``id`` (rows grouped by their set of keys)."""
        ...

    def scheduled(
        self,
        *,
        enrollment_ids: Iterable[int] | None = None,
        contact_id: int | None = None,
        channel: str | None = None,
    ) -> list[dict[str, Any]]:
        """Touches still waiting for their delivery time."""
        ...

    def with_status(self, status: str, *, limit: int = 10_000) -> list[dict[str, Any]]:
        """Touches in ``status``, oldest first."""
        ...

    def by_provider_id(self, message_id: str) -> dict[str, Any] | None:
        """The touch a provider message id belongs to."""
        ...

    def get(self, touch_id: int) -> dict[str, Any] | None:
        """One touch."""
        ...

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
        """A contact's touches, newest first."""
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
    ) -> None:
        """Record one decision."""
        ...

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record decisions (each mapping has every column)."""
        ...

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
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

    def lift(self, channel: str, address: str, *, at: datetime) -> bool:
        """Lift a suppression (an SMS START); returns whether one was active."""
        ...


class UnitOfWork(Protocol):
    """One transaction and every repository that works inside it: ``with uow: ...;
    uow.commit()``; leaving without a commit rolls back."""

    @property
    def contacts(self) -> Contacts: ...
    @property
    def enrollments(self) -> Enrollments: ...
    @property
    def events(self) -> Events: ...
    @property
    def runs(self) -> Runs: ...
    @property
    def tasks(self) -> CallTasks: ...
    @property
    def touches(self) -> Touches: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def sequences(self) -> SequenceVersions: ...
    @property
    def suppressions(self) -> Suppressions: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: what fails inside is undone alone, the rest stays."""
        ...

    def reading(self) -> AbstractContextManager[Self]:
        """A block of reads that takes no write lock; work so far is committed first."""
        ...

    def commit(self) -> None:
        """Make the work so far durable."""
        ...

    def rollback(self) -> None:
        """Forget the work since the last commit."""
        ...


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
        step_index) delivered since ``since``."""
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
