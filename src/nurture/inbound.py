"""Inbound payloads (SendGrid events, Twilio callbacks, generic JSONL) read into events.

Parsing happens at the edge, one event at a time: an event that cannot be read becomes a
:class:`PayloadError` naming where (``event 3``, ``line 12``, the field) and why, and the
events around it are kept. Ids nobody could have issued (out of range) name nothing;
dates outside the accepted years, unknown BANT facts and wrong types are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nurture.domain.contacts import BANT_FACTS
from nurture.domain.events import EventStatus, EventType, StoredEvent
from nurture.errors import InputError, Location, PayloadError
from nurture.limits import MAX_DB_ID, check_moment, db_id

__all__ = [
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "InboundEvent",
    "generic_event",
    "read_event_file",
    "sendgrid_events",
    "twilio_inbound",
    "twilio_status",
]

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ARRET"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

_SENDGRID_TYPES = {
    "delivered": EventType.EMAIL_DELIVERED,
    "open": EventType.EMAIL_OPEN,
    "click": EventType.EMAIL_CLICK,
    "spamreport": EventType.SPAM_REPORT,
    "unsubscribe": EventType.UNSUBSCRIBE,
    "group_unsubscribe": EventType.UNSUBSCRIBE,
    "dropped": EventType.EMAIL_DROPPED,
}
_MAX_PAYLOAD_DEPTH = 20
_MAX_FIELD_CHARS = 2000
_MAX_FACT_CHARS = 500
_MAX_RAW_CHARS = 2000
_SOURCE = re.compile(r"[A-Za-z0-9_-]{1,16}")
# SendGrid drops a message to an address on one of its own suppression lists.
_DROP_REASONS = {
    "unsubscribed address": EventType.UNSUBSCRIBE,
    "bounced address": EventType.EMAIL_BOUNCE,
    "spam reporting address": EventType.SPAM_REPORT,
}


@dataclass(frozen=True)
class InboundEvent:
    """One event ready to be stored: who said what, about whom, when."""

    provider: str
    provider_event_id: str
    type: EventType
    occurred_at: datetime
    contact_id: int | None = None
    touch_id: int | None = None
    address: str | None = None
    message_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def stored(self, *, received_at: datetime) -> StoredEvent:
        """The event as it is stored, pending until applied."""
        payload = dict(self.payload)
        if self.message_id:
            payload.setdefault("_message_id", self.message_id)
        return StoredEvent(
            id=0,
            provider=self.provider,
            provider_event_id=self.provider_event_id[:200],
            type=self.type.value,
            occurred_at=self.occurred_at,
            received_at=received_at,
            status=EventStatus.PENDING,
            payload=payload,
            contact_id=self.contact_id,
            touch_id=self.touch_id,
            address=self.address,
        )


def _clean(value: Any, depth: int = 0) -> Any:
    """A JSON value with NUL characters removed (PostgreSQL refuses them in text) and its
    nesting bounded."""
    if depth > _MAX_PAYLOAD_DEPTH:
        raise PayloadError(f"nested deeper than {_MAX_PAYLOAD_DEPTH} levels")
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(str(k), depth + 1): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_DB_ID:
        return str(value)  # JSON columns cannot hold integers past 64 bits
    return value


def _address(value: Any) -> str | None:
    text = str(value or "").replace("\x00", "").strip().lower()
    return text[:320] or None


def _loads(body: bytes | str, where: Location) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"not JSON: {getattr(exc, 'msg', exc)}", where) from exc
    except RecursionError as exc:
        raise PayloadError("JSON nested too deeply", where) from exc


def sendgrid_events(
    body: bytes | str | list[Any], *, source: str = "payload"
) -> tuple[list[InboundEvent], list[PayloadError]]:
    """Events of a SendGrid event-webhook body (a JSON array), and the events of it that
    could not be read, each with its place (``event 3``): one bad event never costs the
    others. Kinds nurture does not use (processed, deferred, soft bounces) are left out.
    A body that is not a JSON array at all raises :class:`PayloadError`."""
    data = _loads(body, Location(source)) if isinstance(body, bytes | str) else body
    if not isinstance(data, list):
        raise PayloadError("expected a JSON array of events", Location(source))
    events: list[InboundEvent] = []
    errors: list[PayloadError] = []
    for index, item in enumerate(data, start=1):
        where = Location(source, field=f"event {index}")
        try:
            event = _sendgrid_event(item, where)
        except InputError as exc:
            errors.append(PayloadError(exc.reason, where, raw=_raw(item)))
            continue
        if event is not None:
            events.append(event)
    return events, errors


def _sendgrid_event(item: Any, where: Location) -> InboundEvent | None:
    if not isinstance(item, dict):
        raise PayloadError("an event must be a JSON object", where)
    kind = item.get("event")
    event_id = item.get("sg_event_id")
    stamp = item.get("timestamp")
    if (
        not isinstance(kind, str)
        or not isinstance(event_id, str | int)
        or isinstance(event_id, bool)
        or not str(event_id).strip()
        or not isinstance(stamp, int | float)
        or isinstance(stamp, bool)
    ):
        raise PayloadError("needs 'event', 'sg_event_id' and a numeric 'timestamp'", where)
    event_type = _sendgrid_type(item)
    if event_type is None:
        return None
    try:
        occurred = datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"timestamp {stamp} is not a moment", where) from exc
    check_moment(occurred, where, what="timestamp")
    payload = _clean(item)
    return InboundEvent(
        provider="sendgrid",
        provider_event_id=str(event_id).replace("\x00", ""),
        type=event_type,
        occurred_at=occurred,
        contact_id=db_id(item.get("contact_id")),
        touch_id=db_id(item.get("touch_id")),
        address=_address(item.get("email")),
        message_id=str(item.get("sg_message_id") or "").replace("\x00", "").split(".")[0][:200]
        or None,
        payload=payload,
    )


def _sendgrid_type(item: Mapping[str, Any]) -> EventType | None:
    kind = item["event"]
    if kind == "bounce":
        # "blocked" is a soft bounce (the receiving server said no this time).
        return EventType.EMAIL_BOUNCE if item.get("type", "bounce") == "bounce" else None
    if kind == "dropped":
        return _DROP_REASONS.get(str(item.get("reason", "")).lower(), EventType.EMAIL_DROPPED)
    return _SENDGRID_TYPES.get(kind)


def twilio_status(params: Mapping[str, str], *, now: datetime) -> list[InboundEvent]:
    """Events of a Twilio message status callback (form fields)."""
    sid, status = _field(params, "MessageSid"), _field(params, "MessageStatus")
    if not sid or not status:
        raise PayloadError("needs MessageSid and MessageStatus", Location("twilio status callback"))
    error = params.get("ErrorCode") or None
    if error == "21610":
        kind: EventType | None = EventType.SMS_STOP
    elif status == "delivered":
        kind = EventType.SMS_DELIVERED
    elif status in {"undelivered", "failed"}:
        kind = EventType.SMS_FAILED
    else:
        kind = None  # queued, sent, accepted, scheduled, canceled: nothing to learn
    if kind is None:
        return []
    return [
        InboundEvent(
            provider="twilio",
            provider_event_id=f"{sid}:{status}",
            type=kind,
            occurred_at=now,
            address=_field(params, "To") or None,
            message_id=sid,
            payload=_clean(dict(params)),
        )
    ]


def twilio_inbound(params: Mapping[str, str], *, now: datetime) -> list[InboundEvent]:
    """An inbound SMS: an opt-out keyword, an opt-in keyword, or a reply."""
    sid, sender = _field(params, "MessageSid"), _field(params, "From")
    if not sid or not sender:
        raise PayloadError("needs MessageSid and From", Location("twilio inbound message"))
    body = _field(params, "Body")
    keyword = body.upper().strip(" .!")
    if keyword in OPT_OUT_KEYWORDS:
        kind = EventType.SMS_STOP
    elif keyword in OPT_IN_KEYWORDS:
        kind = EventType.SMS_START
    else:
        kind = EventType.REPLIED
    return [
        InboundEvent(
            provider="twilio",
            provider_event_id=sid,
            type=kind,
            occurred_at=now,
            address=sender,
            payload={"from": sender, "body": body[:1600], "channel": "sms"},
        )
    ]


def _field(params: Mapping[str, str], name: str) -> str:
    return str(params.get(name) or "").replace("\x00", "").strip()[:_MAX_FIELD_CHARS]


def generic_event(item: Any, where: Location) -> InboundEvent:
    """One generic event ``{"id", "type", "contact", "occurred_at", "data", "touch_id",
    "source"}``, checked field by field; :class:`PayloadError` names the first field that
    does not hold.

    ``contact`` is an id, an email, a phone number or an external id (resolved when the
    event is applied). ``data.bant`` holds BANT facts (``budget``, ``authority``, ``need``,
    ``timing``) as short texts.
    """
    if not isinstance(item, dict):
        raise PayloadError("an event must be a JSON object", where)
    missing = [k for k in ("id", "type", "contact", "occurred_at") if item.get(k) in (None, "")]
    if missing:
        raise PayloadError(f"missing {', '.join(missing)}", where)
    try:
        kind = EventType(item["type"])
    except (ValueError, TypeError):
        known = ", ".join(sorted(e.value for e in EventType))
        raise PayloadError(f"unknown type {_shown(item['type'])} (known: {known})", where) from None
    event_id, contact = _text(item, "id", where), _text(item, "contact", where, limit=320)
    occurred = _moment(item["occurred_at"], where)
    source = item.get("source") or "generic"
    if not isinstance(source, str) or not _SOURCE.fullmatch(source):
        raise PayloadError("source: a short name (letters, digits, - and _, 16 at most)", where)
    touch = item.get("touch_id")
    if touch not in (None, "") and db_id(touch) is None:
        raise PayloadError(f"touch_id: {_shown(touch)} is not a touch id", where)
    data = _clean(item.get("data") or {})
    if not isinstance(data, dict):
        raise PayloadError(f"data: must be a JSON object, not {_shown(data)}", where)
    if "bant" in data:
        data["bant"] = _bant(data["bant"], where)
    return InboundEvent(
        provider=source,
        provider_event_id=event_id,
        type=kind,
        occurred_at=occurred,
        address=contact,
        touch_id=db_id(touch),
        payload={"contact": contact, "data": data},
    )


def _text(item: dict[str, Any], key: str, where: Location, *, limit: int = 200) -> str:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{key}: must be a text or a number, not {_shown(value)}", where)
    text = str(value).replace("\x00", "").strip()
    if not text or len(text) > limit:
        raise PayloadError(f"{key}: must be 1 to {limit} characters", where)
    return text


def _moment(value: Any, where: Location) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(f"occurred_at: {_shown(value)} is not an ISO 8601 date-time", where)
    try:
        occurred = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"occurred_at: {_shown(value)} is not ISO 8601", where) from None
    try:
        return check_moment(occurred, where, what="occurred_at")
    except InputError as exc:
        raise PayloadError(exc.reason, where) from None


def _bant(value: Any, where: Location) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PayloadError("data.bant: must be an object of BANT facts", where)
    facts: dict[str, str] = {}
    for key, fact in value.items():
        if key not in BANT_FACTS:
            raise PayloadError(
                f"data.bant: unknown fact {_shown(key)} (known: {', '.join(BANT_FACTS)})", where
            )
        if fact is None or fact == "":
            continue
        if isinstance(fact, bool) or not isinstance(fact, str | int | float):
            raise PayloadError(f"data.bant.{key}: must be a short text", where)
        text = str(fact).strip()
        if len(text) > _MAX_FACT_CHARS:
            raise PayloadError(f"data.bant.{key}: longer than {_MAX_FACT_CHARS} characters", where)
        facts[key] = text
    return facts


def _raw(item: Any) -> str:
    try:
        return json.dumps(item, ensure_ascii=False)[:_MAX_RAW_CHARS]
    except (TypeError, ValueError, RecursionError):
        return ""


def _shown(value: Any) -> str:
    """A value as a person reads it in an error message: short, no Python repr."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        return "an object"
    elif isinstance(value, list):
        return "a list"
    else:
        text = json.dumps(value)
    text = text.replace("\x00", "")
    return f"'{text[:60]}…'" if len(text) > 60 else f"'{text}'"


def read_event_file(
    text: str, *, source: str, now: datetime
) -> tuple[list[InboundEvent], list[PayloadError]]:
    """Events of a backfill file, and the lines or events that could not be read.

    A JSON array is a SendGrid event-webhook body; JSON lines are, line by line, Twilio
    callback fields (``MessageStatus`` or ``Body``) or generic events (``type``). A bad
    line or event is reported with its place and the others are kept.
    """
    if text.lstrip().startswith("["):
        return sendgrid_events(text, source=source)
    events: list[InboundEvent] = []
    errors: list[PayloadError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = Location(source, number)
        try:
            events += _event_line(line, where, now=now)
        except InputError as exc:
            errors.append(
                PayloadError(exc.reason, where, raw=line.replace("\x00", "")[:_MAX_RAW_CHARS])
            )
    return events, errors


def _event_line(line: str, where: Location, *, now: datetime) -> list[InboundEvent]:
    item = _loads(line, where)
    if not isinstance(item, dict):
        raise PayloadError("a line must be a JSON object", where)
    if "MessageStatus" in item:
        return twilio_status(_form(item), now=now)
    if "Body" in item and "From" in item:
        return twilio_inbound(_form(item), now=now)
    return [generic_event(item, where)]


def _form(item: dict[str, Any]) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in item.items()}
