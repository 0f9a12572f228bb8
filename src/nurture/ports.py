"""The ports services talk to. Each has one real adapter and one in-memory fake (tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from nurture.domain.contacts import Contact
from nurture.domain.lifecycle import StageChange

__all__ = [
    "Clock",
    "ContactRepository",
    "EmailSender",
    "OutgoingEmail",
    "OutgoingSms",
    "SendReceipt",
    "SmsSender",
    "StoredContact",
    "UnitOfWork",
]


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

    def save(
        self, inserts: Sequence[Mapping[str, Any]], updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], str]]:
        """Write new and changed contacts, each on its own: returns the rows the store
        refused, with the reason; the others are written."""
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


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One email to hand to a provider."""

    touch_id: int
    contact_id: int
    to: str
    to_name: str | None
    from_email: str
    from_name: str
    subject: str
    html: str
    text: str
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None
    reply_to: str | None = None
    categories: tuple[str, ...] = ()
    send_at: datetime | None = None
    batch_id: str | None = None
    sandbox: bool = False


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """One SMS to hand to a provider."""

    touch_id: int
    contact_id: int
    to: str
    body: str
    status_callback: str | None = None
    send_at: datetime | None = None
    #: Seconds the provider may keep the message queued before it expires undelivered:
    #: no longer than the time left in the contact's window.
    validity_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What a provider said when it took a message."""

    provider: str
    message_id: str | None


class EmailSender(Protocol):
    """Sends emails (SendGrid, or the local outbox)."""

    provider: str

    def send(self, email: OutgoingEmail) -> SendReceipt:
        """Hand ``email`` over; raises a :class:`~nurture.errors.DeliveryError` subclass."""
        ...

    def find(self, touch_id: int) -> list[str] | None:
        """Provider ids of messages already taken for ``touch_id``; ``None`` if it cannot
        tell (reconciliation of unknown outcomes)."""
        ...


class SmsSender(Protocol):
    """Sends SMS (Twilio, or the local outbox)."""

    provider: str

    def send(self, sms: OutgoingSms) -> SendReceipt:
        """Hand ``sms`` over; raises a :class:`~nurture.errors.DeliveryError` subclass."""
        ...

    def find(self, sms: OutgoingSms, *, since: datetime) -> list[str] | None:
        """Provider ids of messages like ``sms`` taken since ``since``; ``None`` if it
        cannot tell."""
        ...

    def cancel(self, message_id: str) -> None:
        """Cancel a message scheduled for later delivery."""
        ...
