"""SMS drivers: Twilio (the real SDK) and the local outbox (JSON files)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from nurture.adapters.email import OutboxFiles
from nurture.errors import (
    ConfigurationError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownDeliveryOutcome,
)
from nurture.ports import OutgoingSms, SendReceipt

__all__ = ["UNSUBSCRIBED_RECIPIENT", "OutboxSms", "TwilioDialer", "TwilioSms"]

#: Twilio's "attempt to send to unsubscribed recipient": the number replied STOP.
UNSUBSCRIBED_RECIPIENT = 21610


class _HeaderKeepingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client, remembering the last response's headers (for Retry-After)."""

    last_headers: dict[str, str]

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        self.last_headers = dict(getattr(response, "headers", None) or {})
        return response


class TwilioSms:
    """``messages.create`` through ``twilio.rest.Client``, one client per thread."""

    provider = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str | None,
        from_number: str | None,
        messaging_service_sid: str | None,
        timeout: float = 10.0,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ConfigurationError(
                "the twilio SMS driver needs NURTURE_TWILIO_FROM or "
                "NURTURE_TWILIO_MESSAGING_SERVICE_SID"
            )
        self._sid, self._token, self._base_url = account_sid, auth_token, base_url
        self._from, self._service = from_number, messaging_service_sid
        self._timeout = timeout
        self._local = threading.local()

    @property
    def client(self) -> Client:
        """This thread's client (the SDK keeps the last response per client)."""
        client = getattr(self._local, "client", None)
        if client is None:
            http = _HeaderKeepingHttpClient(timeout=self._timeout)
            client = Client(self._sid, self._token, http_client=http)
            if self._base_url:
                client.api.base_url = self._base_url.rstrip("/")
            self._local.client = client
        return client

    def send(self, sms: OutgoingSms) -> SendReceipt:
        params: dict[str, Any] = {"to": sms.to, "body": sms.body}
        if self._service:
            params["messaging_service_sid"] = self._service
        else:
            params["from_"] = self._from
        if sms.status_callback:
            params["status_callback"] = sms.status_callback
        if sms.validity_seconds is not None:
            params["validity_period"] = sms.validity_seconds
        if sms.send_at is not None:
            if not self._service:
                raise PermanentDeliveryError(
                    "scheduled SMS need NURTURE_TWILIO_MESSAGING_SERVICE_SID"
                )
            params.update(schedule_type="fixed", send_at=sms.send_at)
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise self._translate(exc) from exc
        except requests.exceptions.RequestException as exc:
            if _never_sent(exc):
                raise TransientDeliveryError(f"Twilio unreachable: {exc}") from exc
            raise UnknownDeliveryOutcome(f"no answer from Twilio: {exc}") from exc
        return SendReceipt(self.provider, message.sid)

    def _translate(self, exc: TwilioRestException) -> Exception:
        status = int(exc.status)
        message = f"Twilio {status}" + (f" error {exc.code}" if exc.code else "") + f": {exc.msg}"
        if status == 429 or status >= 500:
            return TransientDeliveryError(message, status=status, retry_after=self._retry_after())
        return PermanentDeliveryError(message, status=status, code=exc.code)

    def _retry_after(self) -> float | None:
        headers = getattr(self.client.http_client, "last_headers", {})
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def find(self, sms: OutgoingSms, *, since: datetime) -> list[str] | None:
        try:
            messages = self.client.messages.list(to=sms.to, date_sent_after=since, limit=50)
        except (TwilioRestException, requests.exceptions.RequestException):
            return None
        return [m.sid for m in messages if m.body == sms.body and m.status != "canceled"]

    def cancel(self, message_id: str) -> None:
        try:
            self.client.messages(message_id).update(status="canceled")
        except TwilioRestException as exc:
            raise self._translate(exc) from exc

    def dial(self, *, rep_phone: str, contact_phone: str, caller_id: str) -> str:
        """Click-to-call: ring the rep, then bridge them to the contact."""
        twiml = f'<Response><Dial callerId="{caller_id}">{contact_phone}</Dial></Response>'
        try:
            call = self.client.calls.create(to=rep_phone, from_=caller_id, twiml=twiml)
        except TwilioRestException as exc:
            raise self._translate(exc) from exc
        return str(call.sid)


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request certainly did not reach Twilio (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason: object = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


class TwilioDialer:
    """The :class:`~nurture.ports.Dialer` on Twilio's voice API, from ``caller_id``."""

    def __init__(self, sms: TwilioSms, *, caller_id: str) -> None:
        self._sms, self._caller_id = sms, caller_id

    def dial(self, *, rep_phone: str, contact_phone: str) -> str:
        return self._sms.dial(
            rep_phone=rep_phone, contact_phone=contact_phone, caller_id=self._caller_id
        )


class OutboxSms:
    """Writes each SMS as ``outbox/sms/<touch // 1000>/<touch>.json``."""

    provider = "outbox"

    def __init__(self, folder: Path) -> None:
        self._files = OutboxFiles(folder / "sms", suffix=".json", complete=_complete_json)

    def send(self, sms: OutgoingSms) -> SendReceipt:
        record = {
            "touch_id": sms.touch_id,
            "contact_id": sms.contact_id,
            "to": sms.to,
            "body": sms.body,
            "deliver_at": sms.send_at.isoformat() if sms.send_at else None,
        }
        self._files.write(sms.touch_id, json.dumps(record, ensure_ascii=False).encode())
        return SendReceipt(self.provider, f"outbox-sms-{sms.touch_id}")

    def find(self, sms: OutgoingSms, *, since: datetime) -> list[str] | None:  # noqa: ARG002
        return self._files.find(sms.touch_id)

    def cancel(self, message_id: str) -> None:  # noqa: ARG002 - the protocol's signature
        return None  # the outbox releases nothing before its time


def _complete_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
