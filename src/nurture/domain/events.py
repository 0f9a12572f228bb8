"""What can be observed about a contact, and what each observation means."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from nurture.domain.records import Record

__all__ = [
    "CALL_OUTCOMES",
    "OPT_IN_EVENTS",
    "OPT_OUT_EVENTS",
    "Event",
    "EventStatus",
    "EventType",
    "StoredEvent",
]


class EventType(StrEnum):
    """Every kind of event nurture understands."""

    EMAIL_DELIVERED = "email_delivered"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    EMAIL_BOUNCE = "email_bounce"
    EMAIL_DROPPED = "email_dropped"
    SPAM_REPORT = "spam_report"
    UNSUBSCRIBE = "unsubscribe"
    SMS_DELIVERED = "sms_delivered"
    SMS_FAILED = "sms_failed"
    SMS_STOP = "sms_stop"
    SMS_START = "sms_start"
    REPLIED = "replied"
    CALL_NO_ANSWER = "call_no_answer"
    CALL_VOICEMAIL = "call_voicemail"
    CALL_CONNECTED = "call_connected"
    MEETING_BOOKED = "meeting_booked"
    NOT_INTERESTED = "not_interested"
    WRONG_NUMBER = "wrong_number"
    CONTENT_DOWNLOAD = "content_download"
    WEB_VISIT = "web_visit"
    FORM_FILL = "form_fill"
    WEBINAR_ATTENDED = "webinar_attended"
    QUOTE_REQUEST = "quote_request"
    DEMO_REQUEST = "demo_request"
    PURCHASE = "purchase"
    AUTO_REPLY = "auto_reply"  # an out-of-office or other automatic answer: not a reply
    EMAIL_SOFT_BOUNCE = "email_soft_bounce"  # a temporary delivery failure: no suppression


#: Events after which nothing more may reach that address or number.
OPT_OUT_EVENTS = frozenset(
    {EventType.UNSUBSCRIBE, EventType.SPAM_REPORT, EventType.EMAIL_BOUNCE, EventType.SMS_STOP}
)
#: Events that lift an SMS opt-out.
OPT_IN_EVENTS = frozenset({EventType.SMS_START})

#: Call outcomes a rep can log, and the event each one records.
CALL_OUTCOMES: dict[str, EventType] = {
    "no_answer": EventType.CALL_NO_ANSWER,
    "voicemail": EventType.CALL_VOICEMAIL,
    "connected": EventType.CALL_CONNECTED,
    "meeting_booked": EventType.MEETING_BOOKED,
    "not_interested": EventType.NOT_INTERESTED,
    "wrong_number": EventType.WRONG_NUMBER,
}


@dataclass(frozen=True, slots=True)
class Event:
    """One observation about one contact."""

    type: EventType
    occurred_at: datetime
    contact_id: int | None = None
    key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class EventStatus(StrEnum):
    """What became of a stored event."""

    PENDING = "pending"  # stored, not applied yet
    APPLIED = "applied"
    UNMATCHED = "unmatched"  # no contact: kept for a person to look at
    FAILED = "failed"  # could not be read or applied: quarantined with its error


@dataclass(slots=True)
class StoredEvent(Record):
    """An event as nurture received and stored it (``type`` is an :class:`EventType`
    value, or ``unreadable`` for what was quarantined at the edge)."""

    id: int
    provider: str
    provider_event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    status: EventStatus
    payload: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    touch_id: int | None = None
    address: str | None = None
    error: str | None = None
    applied_at: datetime | None = None

    def __post_init__(self) -> None:
        self.status = EventStatus(self.status)
        self.payload = self.payload or {}

    @property
    def message_id(self) -> str | None:
        """The provider's id of the message the event is about, when it gave one."""
        value = self.payload.get("_message_id")
        return value if isinstance(value, str) and value else None
