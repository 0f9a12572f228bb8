"""Email drivers: SendGrid (the real SDK) and the local outbox (``.eml`` files)."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    BatchId,
    Category,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    MailSettings,
    ReplyTo,
    SandBoxMode,
    SendAt,
    Subject,
    To,
)

from nurture.errors import PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from nurture.services.ports import OutgoingEmail, SendReceipt

__all__ = ["OutboxEmail", "SendGridEmail", "list_unsubscribe"]


def list_unsubscribe(email: OutgoingEmail) -> dict[str, str]:
    """RFC 2369 and RFC 8058 headers: HTTPS one-click, and mailto when configured."""
    targets = [f"<{email.unsubscribe_url}>"]
    if email.unsubscribe_mailto:
        subject = urllib.parse.quote(f"unsubscribe {email.touch_id}")
        targets.append(f"<mailto:{email.unsubscribe_mailto}?subject={subject}>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


class SendGridEmail:
    """One message per touch through ``sendgrid.SendGridAPIClient``."""

    provider = "sendgrid"

    def __init__(
        self,
        *,
        api_key: str,
        host: str,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=host)
        self._client.client.timeout = timeout
        self._clock = clock  # X-RateLimit-Reset is an epoch time

    def mail(self, email: OutgoingEmail) -> Mail:
        """The SendGrid ``Mail`` for ``email`` (custom args, categories, headers)."""
        message = Mail(
            from_email=From(email.from_email, email.from_name),
            to_emails=To(email.to, email.to_name or None),
            subject=Subject(email.subject),
        )
        message.content = [Content("text/plain", email.text), Content("text/html", email.html)]
        for name, value in list_unsubscribe(email).items():
            message.header = Header(name, value)
        message.custom_arg = [
            CustomArg("touch_id", str(email.touch_id)),
            CustomArg("contact_id", str(email.contact_id)),
        ]
        message.category = [Category(c[:255]) for c in email.categories[:10]]
        if email.reply_to:
            message.reply_to = ReplyTo(email.reply_to)
        if email.send_at is not None:
            message.send_at = SendAt(int(email.send_at.timestamp()))
        if email.batch_id:
            message.batch_id = BatchId(email.batch_id)
        if email.sandbox:
            message.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
        return message

    def send(self, email: OutgoingEmail) -> SendReceipt:
        try:
            response = self._client.send(self.mail(email))
        except HTTPError as exc:
            raise _translate(exc, self._clock()) from exc
        except URLError as exc:  # the request did not go out (refused, DNS, connect timeout)
            raise TransientDeliveryError(f"SendGrid unreachable: {exc.reason}") from exc
        except (TimeoutError, ConnectionError, OSError) as exc:  # sent, no answer
            raise UnknownDeliveryOutcome(f"no answer from SendGrid: {exc}") from exc
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return SendReceipt(self.provider, message_id)

    def find(self, touch_id: int) -> list[str] | None:
        query = f"unique_args['touch_id']=\"{touch_id}\""
        try:
            response = self._client.client.messages.get(query_params={"query": query, "limit": 10})
        except (HTTPError, URLError, OSError):
            return None  # Email Activity is an add-on; without it we cannot tell
        data = json.loads(response.body or b"{}")
        return [m["msg_id"] for m in data.get("messages", []) if m.get("status") != "not_delivered"]

    def new_batch(self) -> str:
        """A batch id for scheduled sends that may need cancelling."""
        try:
            response = self._client.client.mail.batch.post()
        except HTTPError as exc:
            raise _translate(exc, self._clock()) from exc
        return str(json.loads(response.body)["batch_id"])

    def cancel_batch(self, batch_id: str) -> None:
        """Cancel every not-yet-delivered scheduled message of ``batch_id``."""
        try:
            self._client.client.user.scheduled_sends.post(
                request_body={"batch_id": batch_id, "status": "cancel"}
            )
        except HTTPError as exc:
            raise _translate(exc, self._clock()) from exc


def _translate(exc: HTTPError, now: float) -> Exception:
    status = int(exc.status_code)
    headers = exc.headers or {}
    try:
        detail = "; ".join(e.get("message", "") for e in json.loads(exc.body).get("errors", []))
    except (ValueError, TypeError, AttributeError):
        detail = str(exc.reason)
    message = f"SendGrid {status}: {detail or exc.reason}"
    if status == 429 or status >= 500:
        return TransientDeliveryError(
            message, status=status, retry_after=_retry_after(headers, now)
        )
    return PermanentDeliveryError(message, status=status)


def _retry_after(headers: object, now: float) -> float | None:
    get = getattr(headers, "get", None)
    if get is None:
        return None
    value = get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    reset = get("X-RateLimit-Reset")
    if reset is not None:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


class OutboxEmail:
    """Writes each email as ``outbox/email/<touch>.eml``: the demo runs with no account."""

    provider = "outbox"

    def __init__(self, folder: Path) -> None:
        self._folder = folder / "email"  # created on the first send

    def _path(self, touch_id: int, *, create: bool = False) -> Path:
        if create:
            self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder / f"{touch_id}.eml"

    def send(self, email: OutgoingEmail) -> SendReceipt:
        message = EmailMessage()
        message_id = make_msgid(idstring=f"touch{email.touch_id}", domain="nurture.local")
        message["Message-ID"] = message_id
        message["From"] = formataddr((email.from_name, email.from_email))
        message["To"] = formataddr((email.to_name or "", email.to))
        message["Subject"] = email.subject
        if email.reply_to:
            message["Reply-To"] = email.reply_to
        for name, value in list_unsubscribe(email).items():
            message[name] = value
        message["X-Nurture-Touch"] = str(email.touch_id)
        message["X-Nurture-Contact"] = str(email.contact_id)
        if email.categories:
            message["X-Nurture-Categories"] = ", ".join(email.categories)
        if email.send_at is not None:
            message["X-Nurture-Deliver-At"] = email.send_at.isoformat()
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        _write_atomically(self._path(email.touch_id, create=True), message.as_bytes())
        return SendReceipt(self.provider, message_id.strip("<>"))

    def find(self, touch_id: int) -> list[str] | None:
        return [str(self._path(touch_id))] if self._path(touch_id).exists() else []


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
