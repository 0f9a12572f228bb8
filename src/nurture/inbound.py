"""Inbound payloads (SendGrid events, Twilio callbacks, generic JSONL) read into events.

Parsing happens at the edge: a payload that cannot be read raises :class:`PayloadError`
naming where (``event 3``, ``line 12``) and why; nothing of it is stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nurture.domain.events import EventType
from nurture.errors import Location, PayloadError

__all__ = [
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "InboundEvent",
    "generic_events",
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

    def row(self, *, received_at: datetime) -> dict[str, Any]:
        """The ``events`` row."""
        payload = dict(self.payload)
        if self.message_id:
            payload.setdefault("_message_id", self.message_id)
        return {
            "provider": self.provider,
            "provider_event_id": self.provider_event_id[:200],
            "type": self.type.value,
            "contact_id": self.contact_id,
            "touch_id": self.touch_id,
            "address": self.address,
            "occurred_at": self.occurred_at,
            "received_at": received_at,
            "payload": payload,
            "status": "pending",
        }


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def sendgrid_events(
    body: bytes | str | list[Any], *, source: str = "payload"
) -> list[InboundEvent]:
    """Events of a SendGrid event-webhook body (a JSON array). Kinds nurture does not use
    (processed, deferred, soft bounces) are left out."""
    data = json.loads(body) if isinstance(body, bytes | str) else body
    if not isinstance(data, list):
        raise PayloadError("expected a JSON array of events", Location(source))
    out = []
    for index, item in enumerate(data, start=1):
        where = Location(source, field=f"event {index}")
        if not isinstance(item, dict):
            raise PayloadError("an event must be a JSON object", where)
        kind = item.get("event")
        event_id = item.get("sg_event_id")
        stamp = item.get("timestamp")
        if not isinstance(kind, str) or not event_id or not isinstance(stamp, int | float):
            raise PayloadError("needs 'event', 'sg_event_id' and a numeric 'timestamp'", where)
        event_type = _sendgrid_type(item)
        if event_type is None:
            continue
        out.append(
            InboundEvent(
                provider="sendgrid",
                provider_event_id=str(event_id),
                type=event_type,
                occurred_at=datetime.fromtimestamp(stamp, UTC),
                contact_id=_int(item.get("contact_id")),
                touch_id=_int(item.get("touch_id")),
                address=str(item.get("email") or "").lower() or None,
                message_id=str(item.get("sg_message_id") or "").split(".")[0] or None,
                payload=item,
            )
        )
    return out


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
    sid, status = params.get("MessageSid"), params.get("MessageStatus")
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
            address=params.get("To") or None,
            message_id=sid,
            payload=dict(params),
        )
    ]


def twilio_inbound(params: Mapping[str, str], *, now: datetime) -> list[InboundEvent]:
    """An inbound SMS: an opt-out keyword, an opt-in keyword, or a reply."""
    sid, sender = params.get("MessageSid"), params.get("From")
    if not sid or not sender:
        raise PayloadError("needs MessageSid and From", Location("twilio inbound message"))
    body = (params.get("Body") or "").strip()
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


def generic_events(text: str, *, source: str = "events.jsonl") -> list[InboundEvent]:
    """Generic JSON lines: ``{"id", "type", "contact", "occurred_at", "data"}``.

    ``contact`` is an id, an email or an external id (resolved when the event is applied).
    """
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = Location(source, number)
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PayloadError(f"not JSON: {exc.msg}", where) from exc
        if not isinstance(item, dict):
            raise PayloadError("a line must be a JSON object", where)
        missing = [k for k in ("id", "type", "contact", "occurred_at") if not item.get(k)]
        if missing:
            raise PayloadError(f"missing {', '.join(missing)}", where)
        try:
            kind = EventType(item["type"])
        except ValueError:
            known = ", ".join(sorted(e.value for e in EventType))
            raise PayloadError(f"unknown type {item['type']!r} (known: {known})", where) from None
        try:
            occurred = datetime.fromisoformat(str(item["occurred_at"]))
        except ValueError:
            raise PayloadError(
                f"occurred_at {item['occurred_at']!r} is not ISO 8601", where
            ) from None
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        out.append(
            InboundEvent(
                provider=str(item.get("source") or "generic"),
                provider_event_id=str(item["id"]),
                type=kind,
                occurred_at=occurred,
                address=str(item["contact"]),
                touch_id=_int(item.get("touch_id")),
                payload={"contact": item["contact"], "data": item.get("data") or {}},
            )
        )
    return out


def read_event_file(
    text: str, *, source: str, now: datetime
) -> tuple[list[InboundEvent], list[PayloadError]]:
    """Events of a backfill file, and the lines or events that could not be read.

    A JSON array is a SendGrid event-webhook body; JSON lines are, line by line, Twilio
    callback fields (``MessageStatus`` or ``Body``) or generic events (``type``). A bad line
    is reported and the others are kept.
    """
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        events: list[InboundEvent] = []
        errors: list[PayloadError] = []
        for index, item in enumerate(data if isinstance(data, list) else [data], start=1):
            try:
                events += sendgrid_events([item], source=source)
            except PayloadError as exc:
                errors.append(PayloadError(exc.reason, Location(source, field=f"event {index}")))
        return events, errors
    events, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = Location(source, number)
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise PayloadError("a line must be a JSON object", where)
            if "MessageStatus" in item:
                events += twilio_status({k: str(v) for k, v in item.items()}, now=now)
            elif "Body" in item and "From" in item:
                events += twilio_inbound({k: str(v) for k, v in item.items()}, now=now)
            else:
                events += generic_events(line, source=source)
        except json.JSONDecodeError as exc:
            errors.append(PayloadError(f"not JSON: {exc.msg}", where))
        except PayloadError as exc:
            errors.append(PayloadError(exc.reason, where))
    return events, errors
