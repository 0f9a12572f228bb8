"""The unit of work and the repositories of contacts, enrollments and touches, as
Protocols: the use cases are typed against these, the SQL adapters (``adapters/db``)
implement them, and tests bring in-memory fakes.

Reads give domain objects: touches, enrollments, events and call tasks as their records,
contacts as ``Contact`` (or ``ScoredContact`` with the scoring state kept beside them),
stage changes as ``StageChange``. Writes of new records take the records; partial updates
take the id and the changed columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

from nurture.domain.contacts import Contact, Temperature
from nurture.domain.enrollment import Enrollment, EnrollmentStatus
from nurture.domain.lifecycle import StageChange
from nurture.domain.scoring import InterestState, ScoredContact
from nurture.domain.touches import Touch, TouchStatus
from nurture.ports.messages import StoredContact
from nurture.ports.privacy import Privacy
from nurture.ports.records import (
    CallTasks,
    Events,
    Journal,
    Runs,
    SequenceVersions,
    Suppressions,
)
from nurture.ports.reports import ReportData

__all__ = ["Contacts", "Enrollments", "Fading", "Touches", "UnitOfWork"]


class Fading(NamedTuple):
    """A contact whose interest decays: what re-scoring it needs."""

    id: int
    fit: float
    state: InterestState
    score: int
    temperature: Temperature


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

    def fading(self, *, after_id: int, scored_before: datetime, limit: int) -> list[Fading]:
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

    def for_run(self, ids: Sequence[int]) -> dict[int, Contact]:
        """What a run needs of these contacts, by id."""
        ...

    def for_sending(self, ids: Sequence[int]) -> dict[int, ScoredContact]:
        """What a run needs of these contacts to send and re-score them, by id."""
        ...

    def scored(self, ids: Sequence[int]) -> dict[int, ScoredContact]:
        """These contacts with their scoring state, by id."""
        ...

    def in_account(self, account: str, *, limit: int = 1000) -> list[Contact]:
        """The contacts of an account (its key, ``domain/accounts.py``), by id."""
        ...

    def get(self, ref: str) -> Contact | None: ...

    def find(self, ref: str) -> ScoredContact | None:
        """A contact by id, email or external id, with its scoring state."""
        ...

    def add_stage_changes(self, contact_id: int, changes: Sequence[StageChange]) -> None: ...

    def stage_history(self, contact_id: int) -> list[StageChange]:
        """Every stage change of a contact, oldest first."""
        ...

    def iter_contacts(self, *, batch: int = 5000) -> Iterator[Contact]:
        """Every contact, by id, read ``batch`` rows at a time."""
        ...

    def count(self) -> int: ...


class Enrollments(Protocol):
    """Enrollment rows."""

    def running_contacts(self, sequence_id: str | None, contact_ids: Iterable[int]) -> set[int]:
        """Which of ``contact_ids`` are enrolled in ``sequence_id`` (``None``: in any
        sequence) right now."""
        ...

    def add_many(self, new: Sequence[Enrollment]) -> list[int]:
        """Insert enrollments; returns their ids in order."""
        ...

    def running_in(self, sequence_id: str) -> list[Enrollment]:
        """Every running enrollment of ``sequence_id``."""
        ...

    def due_contacts(self, now: datetime) -> list[int]:
        """Every contact with a step due by ``now``, in id order."""
        ...

    def due_for(self, contact_ids: Sequence[int], now: datetime) -> list[Enrollment]:
        """The active enrollments of these contacts due by ``now``, in planning order."""
        ...

    def advance_planned(self, moves: Sequence[dict[str, Any]]) -> None:
        """Move enrollments past the step planned, unless someone else did meanwhile."""
        ...

    def count_due(self, now: datetime) -> int:
        """How many enrollments are due by ``now``."""
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

    def statuses(self, ids: Sequence[int]) -> dict[int, tuple[EnrollmentStatus, str | None]]:
        """(status, exit reason) of each enrollment among ``ids``."""
        ...

    def for_contact(self, contact_id: int) -> list[Enrollment]:
        """Every enrollment of a contact, newest first."""
        ...

    def move(self, enrollment_id: int, *, version: int, step_index: int) -> None:
        """Pin an enrollment to another version, at ``step_index``."""
        ...

    def pause(
        self,
        enrollment_id: int,
        *,
        at: datetime,
        until: datetime | None,
        step_index: int,
        next_due_at: datetime | None,
    ) -> None:
        """Pause a running enrollment at ``step_index`` (``until``: when it resumes alone)."""
        ...

    def resume(self, enrollment_id: int, *, next_due_at: datetime) -> None:
        """Make a paused enrollment active again, due at ``next_due_at``."""
        ...

    def find(
        self,
        *,
        contact_ids: Sequence[int] | None = None,
        sequence_id: str | None = None,
        statuses: Iterable[EnrollmentStatus] | None = None,
        limit: int = 1000,
    ) -> list[Enrollment]:
        """Enrollments matching every filter given, newest first."""
        ...

    def pauses_ending(self, by: datetime) -> list[Enrollment]:
        """Paused enrollments whose pause ends by ``by``."""
        ...

    def end(
        self, enrollment_id: int, *, status: EnrollmentStatus, reason: str | None, at: datetime
    ) -> None:
        """Finish an enrollment (``completed`` or ``exited``)."""
        ...


class Touches(Protocol):
    """Touch rows."""

    def insert_new(self, new: Sequence[Touch]) -> None:
        """Insert touches whose key is new; a key that exists already is left as it is."""
        ...

    def counted_since(
        self, contact_ids: Iterable[int], since: datetime
    ) -> dict[int, list[datetime]]:
        """Delivery times of touches that count against each contact's budget."""
        ...

    def claim(
        self, *, worker: str, due_by: datetime, claimed_at: datetime, limit: int
    ) -> list[Touch]:
        """Take up to ``limit`` scheduled touches due by ``due_by`` for ``worker``."""
        ...

    def claimed_ids(self, worker: str, keys: Sequence[str]) -> dict[str, int]:
        """The ids of the touches of these keys that ``worker`` holds (``sending``, by
        key): those a planner inserted claimed, and no other."""
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
    ) -> list[Touch]:
        """Touches still waiting for their delivery time."""
        ...

    def due(self, by: datetime) -> list[Touch]:
        """Scheduled touches whose delivery time is ``by`` or earlier."""
        ...

    def delivery_times(self, by: datetime) -> list[datetime]:
        """The delivery times of the scheduled touches due by ``by`` (nothing else)."""
        ...

    def count_due(self, by: datetime) -> int:
        """How many scheduled touches are due by ``by``."""
        ...

    def with_status(self, status: TouchStatus, *, limit: int = 10_000) -> list[Touch]:
        """Touches in ``status``, oldest first."""
        ...

    def by_provider_id(self, message_id: str) -> Touch | None:
        """The touch a provider message id belongs to."""
        ...

    def by_message_ids(self, message_ids: Sequence[str]) -> list[Touch]:
        """The touches whose email had one of these Message-IDs."""
        ...

    def get(self, touch_id: int) -> Touch | None:
        """One touch."""
        ...

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[Touch]:
        """A contact's touches, newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction and every repository that works inside it: ``with uow: ...;
    uow.commit()``; leaving without a commit rolls back."""

    #: One writer at a time (SQLite): long decisions are better taken in a read snapshot.
    serialises_writers: bool

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
    @property
    def privacy(self) -> Privacy: ...
    @property
    def reports(self) -> ReportData: ...

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
