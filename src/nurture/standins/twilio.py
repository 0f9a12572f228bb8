"""A stand-in for Twilio's Programmable Messaging and Voice APIs, and its signed callbacks."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from nurture.domain.messages import sms_segments
from nurture.standins.behaviour import Behaviour

__all__ = ["SentSms", "TwilioStandIn"]

_BASE = "/2010-04-01/Accounts/{account}"


@dataclass
class SentSms:
    """One accepted message."""

    sid: str
    params: dict[str, str]
    received_at: float
    status: str = "queued"

    @property
    def to(self) -> str:
        return self.params.get("To", "")

    @property
    def body(self) -> str:
        return self.params.get("Body", "")

    def resource(self, account: str) -> dict[str, Any]:
        """The message as the API returns it."""
        created = format_datetime(datetime.fromtimestamp(self.received_at, UTC), usegmt=True)
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "from": self.params.get("From"),
            "messaging_service_sid": self.params.get("MessagingServiceSid"),
            "body": self.body,
            "status": self.status,
            "num_segments": str(sms_segments(self.body)[2]),
            "date_created": created,
            "date_updated": created,
            "date_sent": None if self.status in {"scheduled", "canceled"} else created,
            "direction": "outbound-api",
            "error_code": None,
            "uri": f"{_BASE.format(account=account)}/Messages/{self.sid}.json",
        }


@dataclass
class TwilioStandIn:
    """Messages and calls as an ASGI app (``app``), with records and request signing."""

    account_sid: str = "AC" + "0" * 32
    auth_token: str = "stand-in-auth-token"  # noqa: S105 - a stand-in, not a secret
    behaviour: Behaviour = field(default_factory=Behaviour)
    sent: list[SentSms] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    #: Numbers that replied STOP at the carrier: sending to them fails with 21610.
    unsubscribed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        base = _BASE.format(account="{account}")
        self.app = Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._create, methods=["POST"]),
                Route(f"{base}/Messages.json", self._list, methods=["GET"]),
                Route(f"{base}/Messages/{{sid}}.json", self._update, methods=["POST"]),
                Route(f"{base}/Calls.json", self._call, methods=["POST"]),
            ]
        )

    def delivered(self) -> list[SentSms]:
        """Messages sent or still scheduled (not canceled, not refused)."""
        with self._lock:
            return [m for m in self.sent if m.status != "canceled"]

    def reset(self) -> None:
        """Forget every record and planned answer."""
        with self._lock:
            self.sent.clear()
            self.calls.clear()
            self.unsubscribed.clear()
        self.behaviour.clear()

    def _authorised(self, request: Request, account: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return account == self.account_sid and request.headers.get("authorization") == (
            f"Basic {expected}"
        )

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        return JSONResponse(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status_code=status,
        )

    async def _create(self, request: Request) -> Response:  # noqa: PLR0911 - one per API error
        account = request.path_params["account"]
        if not self._authorised(request, account):
            return self._error(401, 20003, "Authenticate")
        params = {k: str(v) for k, v in (await request.form()).items()}
        if not params.get("To") or not params.get("Body"):
            return self._error(400, 21602, "Message body and To are required")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' is required")
        scheduled = params.get("ScheduleType") == "fixed"
        if scheduled and not (params.get("MessagingServiceSid") and params.get("SendAt")):
            return self._error(400, 35114, "Scheduling requires a MessagingServiceSid and SendAt")
        validity = params.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36_000):
            return self._error(400, 21624, "Invalid validity period value")
        if params["To"] in self.unsubscribed:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        planned = self.behaviour.take()
        message = SentSms(
            "SM" + uuid.uuid4().hex, params, time.time(), "scheduled" if scheduled else "queued"
        )
        if planned is None or planned.status < 300 or planned.accept:
            with self._lock:
                self.sent.append(message)
        error = await self.behaviour.answer(planned)
        if error is not None:
            return error
        return JSONResponse(message.resource(account), status_code=201)

    async def _update(self, request: Request) -> Response:
        account = request.path_params["account"]
        if not self._authorised(request, account):
            return self._error(401, 20003, "Authenticate")
        params = await request.form()
        with self._lock:
            message = next((m for m in self.sent if m.sid == request.path_params["sid"]), None)
            if message is None:
                return self._error(404, 20404, "The requested resource was not found")
            if params.get("Status") == "canceled":
                if message.status != "scheduled":
                    return self._error(400, 30409, "Only scheduled messages can be canceled")
                message.status = "canceled"
        return JSONResponse(message.resource(account))

    async def _list(self, request: Request) -> Response:
        account = request.path_params["account"]
        if not self._authorised(request, account):
            return self._error(401, 20003, "Authenticate")
        to = request.query_params.get("To")
        with self._lock:
            found = [m.resource(account) for m in self.sent if to is None or m.to == to]
        return JSONResponse(
            {
                "messages": found,
                "page": 0,
                "page_size": 50,
                "next_page_uri": None,
                "uri": str(request.url.path),
            }
        )

    async def _call(self, request: Request) -> Response:
        account = request.path_params["account"]
        if not self._authorised(request, account):
            return self._error(401, 20003, "Authenticate")
        params = {k: str(v) for k, v in (await request.form()).items()}
        sid = "CA" + uuid.uuid4().hex
        with self._lock:
            self.calls.append({"sid": sid, **params})
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": account,
                "to": params.get("To"),
                "from": params.get("From"),
                "status": "queued",
            },
            status_code=201,
        )

    # -- signed callbacks ---------------------------------------------------------------

    def signature(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` for a form POST of ``params`` to ``url``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def post_form(self, url: str, params: dict[str, str]) -> httpx.Response:
        """POST ``params`` to ``url`` signed like Twilio."""
        headers = {"X-Twilio-Signature": self.signature(url, params)}
        return httpx.post(url, data=params, headers=headers, timeout=10)

    def post_status(
        self, url: str, message: SentSms, status: str, *, error_code: int | None = None
    ) -> httpx.Response:
        """A status callback for ``message`` (delivered, undelivered, failed...)."""
        params = {
            "MessageSid": message.sid,
            "MessageStatus": status,
            "To": message.to,
            "From": message.params.get("From", ""),
            "AccountSid": self.account_sid,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.post_form(url, params)

    def post_inbound(
        self, url: str, *, from_: str, body: str, to: str = "+33700000000"
    ) -> httpx.Response:
        """An inbound SMS from ``from_`` (a reply, STOP, START...)."""
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "From": from_,
            "To": to,
            "Body": body,
            "AccountSid": self.account_sid,
        }
        return self.post_form(url, params)
