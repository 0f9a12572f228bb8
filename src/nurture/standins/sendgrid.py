"""A stand-in for SendGrid's v3 API (mail send, scheduled-send batches, email activity)
and its signed event webhook."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nurture.standins.behaviour import Behaviour

__all__ = ["SendGridStandIn", "SentEmail"]

_TOUCH_QUERY = re.compile(r"unique_args\['touch_id'\]\s*=\s*\"([^\"]+)\"")


@dataclass
class SentEmail:
    """One accepted ``mail/send`` request."""

    message_id: str
    payload: dict[str, Any]
    received_at: float
    sandbox: bool = False
    cancelled: bool = False

    @property
    def to(self) -> str:
        """The first recipient."""
        return str(self.payload["personalizations"][0]["to"][0]["email"])

    @property
    def custom_args(self) -> dict[str, str]:
        """Custom args of the first personalization, or of the message."""
        args = dict(self.payload.get("custom_args") or {})
        args.update(self.payload["personalizations"][0].get("custom_args") or {})
        return args

    @property
    def headers(self) -> dict[str, str]:
        """Message headers (List-Unsubscribe...)."""
        return dict(self.payload.get("headers") or {})

    @property
    def send_at(self) -> int | None:
        """Scheduled delivery time (Unix seconds), if any."""
        value = self.payload.get("send_at")
        return int(value) if value is not None else None


@dataclass
class SendGridStandIn:
    """The API as an ASGI app (``app``), its records, and a key to sign events with."""

    api_key: str = "SG.stand-in-key"
    behaviour: Behaviour = field(default_factory=Behaviour)
    sent: list[SentEmail] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    batches: dict[str, str] = field(default_factory=dict)
    #: The stand-in's idea of now (Unix seconds): scheduled sends later than it can be cancelled.
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.app = Starlette(
            routes=[
                Route("/v3/mail/send", self._send, methods=["POST"]),
                Route("/v3/mail/batch", self._new_batch, methods=["POST"]),
                Route("/v3/user/scheduled_sends", self._scheduled, methods=["POST"]),
                Route("/v3/messages", self._activity, methods=["GET"]),
            ]
        )

    # -- what tests read --------------------------------------------------------------

    @property
    def public_key(self) -> str:
        """The verification key, as SendGrid shows it (base64 DER, no PEM armour)."""
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def delivered(self) -> list[SentEmail]:
        """Messages that reached (or will reach) an inbox: not sandbox, not cancelled."""
        with self._lock:
            return [m for m in self.sent if not m.sandbox and not m.cancelled]

    def by_touch(self) -> dict[str, list[SentEmail]]:
        """Delivered messages grouped by the ``touch_id`` custom arg."""
        out: dict[str, list[SentEmail]] = {}
        for message in self.delivered():
            out.setdefault(message.custom_args.get("touch_id", "?"), []).append(message)
        return out

    def reset(self) -> None:
        """Forget every record and planned answer."""
        with self._lock:
            self.sent.clear()
            self.requests.clear()
            self.batches.clear()
        self.behaviour.clear()

    # -- the API ----------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    async def _send(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.requests.append({"path": "/v3/mail/send", "body": body})
        if not self._authorised(request):
            return JSONResponse({"errors": [{"message": "authorization required"}]}, 401)
        try:
            payload = json.loads(body)
            _check_mail(payload)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"errors": [{"message": f"bad request: {exc}"}]}, 400)
        planned = self.behaviour.take()
        message_id = uuid.uuid4().hex[:22]
        sandbox = bool(
            payload.get("mail_settings", {}).get("sandbox_mode", {}).get("enable", False)
        )
        record = SentEmail(message_id, payload, time.time(), sandbox=sandbox)
        if planned is None or planned.status < 300 or planned.accept:
            with self._lock:
                self.sent.append(record)
        error = await self.behaviour.answer(planned)
        if error is not None:
            return error
        if sandbox:
            return Response(status_code=200)
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    async def _new_batch(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"errors": [{"message": "authorization required"}]}, 401)
        batch_id = uuid.uuid4().hex
        with self._lock:
            self.batches[batch_id] = "open"
        return JSONResponse({"batch_id": batch_id}, status_code=201)

    async def _scheduled(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"errors": [{"message": "authorization required"}]}, 401)
        payload = await request.json()
        batch_id, status = payload.get("batch_id"), payload.get("status")
        if batch_id not in self.batches or status not in {"cancel", "pause"}:
            return JSONResponse({"errors": [{"message": "unknown batch or status"}]}, 400)
        now = self.clock()
        with self._lock:
            self.batches[batch_id] = status
            for message in self.sent:
                if message.payload.get("batch_id") == batch_id and (message.send_at or 0) > now:
                    message.cancelled = True
        return JSONResponse({"batch_id": batch_id, "status": status}, status_code=201)

    async def _activity(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"errors": [{"message": "authorization required"}]}, 401)
        match = _TOUCH_QUERY.search(request.query_params.get("query", ""))
        if match is None:
            return JSONResponse({"errors": [{"message": "unsupported query"}]}, 400)
        touch_id = match.group(1)
        with self._lock:
            found = [m for m in self.sent if m.custom_args.get("touch_id") == touch_id]
        return JSONResponse(
            {
                "messages": [
                    {
                        "msg_id": m.message_id,
                        "to_email": m.to,
                        "subject": m.payload.get("subject"),
                        "status": "not_delivered" if m.cancelled else "delivered",
                    }
                    for m in found
                ]
            }
        )

    # -- the event webhook ------------------------------------------------------------

    def sign(self, body: bytes, timestamp: str) -> str:
        """The ``X-Twilio-Email-Event-Webhook-Signature`` header for ``body``."""
        signature = self._key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def event_request(
        self, events: list[dict[str, Any]], *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook body and its signed headers, as SendGrid would post them."""
        body = json.dumps(events).encode()
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": self.sign(body, stamp),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
        return body, headers

    def inbound_request(
        self,
        fields: dict[str, str],
        *,
        files: Sequence[tuple[str, str, bytes]] = (),
        timestamp: int | None = None,
        signed: bool = True,
    ) -> tuple[bytes, dict[str, str]]:
        """An Inbound Parse post as SendGrid makes it: multipart/form-data with its
        ``xYzZY`` boundary, attachments as (field, content type, bytes), and the headers
        of a signing security policy when ``signed``."""
        boundary = "xYzZY"
        parts = []
        for name, value in fields.items():
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(head.encode() + value.encode("utf-8") + b"\r\n")
        for name, content_type, data in files:
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}"\r\nContent-Type: {content_type}\r\n\r\n'
            )
            parts.append(head.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if signed:
            stamp = str(timestamp if timestamp is not None else int(time.time()))
            headers["X-Twilio-Email-Event-Webhook-Signature"] = self.sign(body, stamp)
            headers["X-Twilio-Email-Event-Webhook-Timestamp"] = stamp
        return body, headers

    def post_events(
        self, webhook_url: str, events: list[dict[str, Any]], *, timestamp: int | None = None
    ) -> httpx.Response:
        """Call nurture's webhook with signed ``events``."""
        body, headers = self.event_request(events, timestamp=timestamp)
        return httpx.post(webhook_url, content=body, headers=headers, timeout=10)

    @staticmethod
    def event(
        message: SentEmail, kind: str, *, timestamp: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        """One event about ``message`` shaped like SendGrid's (custom args at the top)."""
        event = {
            "email": message.to,
            "timestamp": timestamp if timestamp is not None else int(time.time()),
            "event": kind,
            "sg_event_id": uuid.uuid4().hex,
            "sg_message_id": f"{message.message_id}.filter0001",
            "category": message.payload.get("categories", []),
            **message.custom_args,
        }
        if kind == "bounce":
            event.setdefault("type", "bounce")
            event.setdefault("reason", "550 5.1.1 The email account does not exist")
        if kind == "click":
            event.setdefault("url", "https://vigie-cyber.example/")
        event.update(extra)
        return event


def _check_mail(payload: dict[str, Any]) -> None:
    personalizations = payload["personalizations"]
    if not personalizations or not personalizations[0]["to"]:
        raise ValueError("personalizations[0].to is required")
    if "@" not in payload["from"]["email"]:
        raise ValueError("from.email is required")
    if not payload.get("subject") and not personalizations[0].get("subject"):
        raise ValueError("subject is required")
    if not payload.get("content"):
        raise ValueError("content is required")
