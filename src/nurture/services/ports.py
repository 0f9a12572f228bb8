"""The ports services talk to. Each has one real adapter and one in-memory fake (tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from nurture.domain.contacts import Contact
from nurture.domain.lifecycle import StageChange

__all__ = ["Clock", "ContactRepository", "StoredContact", "UnitOfWork"]


class Clock(Protocol):
    """Where services get the time from (``--as-of`` and tests fix it)."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class StoredContact:
    """What an import needs to know about a contact that is already stored."""

    id: int
    email: str | None
    external_id: str | None
    row_hash: str | None
    stage: str
    interest_state: Mapping[str, Any] = field(default_factory=dict)
    bant: Mapping[str, str] = field(default_factory=dict)
    #: The stored attribute columns (email, phone, sector, custom, ...).
    attributes: Mapping[str, Any] = field(default_factory=dict)


class ContactRepository(Protocol):
    """Contacts and their stage history."""

    def find_existing(
        self, *, emails: Sequence[str], external_ids: Sequence[str]
    ) -> dict[tuple[str, str], StoredContact]:
        """Stored contacts matching any of the keys, by ``("email"|"external_id", value)``.

        Only ids, keys and fingerprints are loaded; :meth:`load_details` adds the rest.
        """
        ...

    def load_details(self, stored: Sequence[StoredContact]) -> dict[int, StoredContact]:
        """The same contacts with their attributes, BANT and interest state, by id."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert new contacts (column → value mappings)."""
        ...

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Update contacts by ``id`` with the other keys of each mapping."""
        ...

    def get(self, ref: str) -> Contact | None:
        """A contact by id, email or external id."""
        ...

    def add_stage_changes(self, contact_id: int, changes: Sequence[StageChange]) -> None:
        """Record stage changes and set the contact's current stage."""
        ...

    def count(self) -> int:
        """How many contacts are stored."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the stores."""

    @property
    def contacts(self) -> ContactRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
