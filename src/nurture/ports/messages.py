"""The clock, the message senders and the messages that cross them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nurture.domain.messages import RenderedCall, RenderedEmail, RenderedSms

__all__ = [
    "Clock",
    "Dialer",
    "EmailSender",
    "OutgoingEmail",
    "OutgoingSms",
    "SendReceipt",
    "SmsSender",
    "StoredContact",
    "TemplateCatalog",
    "Templates",
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
    #: The name shown beside ``reply_to`` (the owner's address when replies come back
    #: through the reply domain).
    reply_to_name: str | None = None
    #: The Message-ID header to give the email (without angle brackets).
    message_id: str | None = None
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


class Dialer(Protocol):
    """Click-to-call: ring the rep, then bridge them to the contact."""

    def dial(self, *, rep_phone: str, contact_phone: str) -> str:
        """Start the call; returns the provider's call id."""
        ...


class Templates(Protocol):
    """Message templates, rendered in a sandbox for one contact's language."""

    def resolve(self, name: str, part: str, language: str | None) -> str | None:
        """The file that renders ``part`` of ``name`` for ``language``, if any."""
        ...

    def render_email(
        self, name: str, *, language: str | None, context: Mapping[str, Any]
    ) -> RenderedEmail:
        """Subject, HTML and text of email template ``name``."""
        ...

    def render_sms(
        self, name: str, *, language: str | None, context: Mapping[str, Any]
    ) -> RenderedSms:
        """The text of SMS template ``name``."""
        ...

    def render_call(
        self, name: str, *, language: str | None, context: Mapping[str, Any]
    ) -> RenderedCall:
        """The call script ``name``."""
        ...


class TemplateCatalog(Templates, Protocol):
    """The project's template files, as validation sees them."""

    def names(self) -> frozenset[str]:
        """Every template file the store holds."""
        ...

    def problems(self, name: str, parts: tuple[str, ...]) -> list[str]:
        """What is wrong with template ``name``: missing parts, syntax errors."""
        ...

    def syntax_error(self, file: str) -> tuple[int | None, str] | None:
        """(line, message) if template file ``file`` does not parse."""
        ...
