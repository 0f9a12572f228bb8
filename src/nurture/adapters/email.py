"""Email drivers: SendGrid (the real SDK) and the local outbox (``.eml`` files)."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from email.utils import formataddr, formatdate
from pathlib import Path
from urllib.error import URLError

import urllib3
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

from nurture.adapters.keepalive import KeepAliveClient
from nurture.errors import PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from nurture.ports import OutgoingEmail, SendReceipt

__all__ = ["OutboxEmail", "OutboxFiles", "SendGridEmail", "eml", "list_unsubscribe"]


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
        # The SDK's client, over kept-alive connections (one pool for every sender thread;
        # a connection beyond ``maxsize`` is closed after use).
        self._client.client = KeepAliveClient(
            host=self._client.host,
            request_headers=self._client._default_headers,
            version=3,
            timeout=timeout,
            pool=urllib3.PoolManager(maxsize=32),
        )
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
            message.reply_to = ReplyTo(email.reply_to, email.reply_to_name)
        if email.message_id:
            message.header = Header("Message-ID", f"<{email.message_id}>")
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


class _Unique:
    """Tokens unique to this process (a random prefix, then a counter) for the outbox's
    message ids and MIME boundaries. ``uuid4`` asks the kernel for random bytes at each
    call: at 1M contacts its ``getrandom`` calls were 0.32 s of the two sending workers'
    samples (``py-spy --native``), and an email costs 28 us instead of 31 in a loop of
    20,000. A forked worker draws a prefix of its own."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix, self._counter = secrets.token_hex(6), itertools.count()

    def token(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"


unique = _Unique()


class OutboxEmail:
    """Writes each email as ``outbox/email/<touch // 1000>/<touch>.eml``: the demo and
    local runs need no account."""

    provider = "outbox"

    def __init__(self, folder: Path) -> None:
        self._files = OutboxFiles(folder / "email", suffix=".eml", complete=_complete_eml)

    def send(self, email: OutgoingEmail) -> SendReceipt:
        message_id = f"touch{email.touch_id}.{unique.token()}@nurture.local"
        self._files.write(email.touch_id, eml(email, message_id))
        return SendReceipt(self.provider, message_id)

    def find(self, touch_id: int) -> list[str] | None:
        return self._files.find(touch_id)


def _complete_eml(data: bytes) -> bool:
    return data.rstrip().endswith(b"--")


class OutboxFiles:
    """One file per message, a thousand to a folder, written once.

    Files are created with ``O_EXCL`` and written in one go; a file cut short by a crash is
    recognised (``complete``) and treated as never written, so reconciliation stays exact.
    """

    def __init__(self, folder: Path, *, suffix: str, complete: Callable[[bytes], bool]) -> None:
        self._root, self._suffix, self._complete = str(folder), suffix, complete
        self._made: set[str] = set()
        self._lock = threading.Lock()

    def path(self, touch_id: int) -> Path:
        """Where the message of ``touch_id`` is (or would be) written."""
        return Path(self._where(touch_id)[1])

    def _where(self, touch_id: int) -> tuple[str, str]:
        """The folder and file name of ``touch_id``'s message, as plain strings: building
        a Path per message was an eighth of writing the outbox."""
        folder = f"{self._root}/{touch_id // 1000:05d}"
        return folder, f"{folder}/{touch_id}{self._suffix}"

    def write(self, touch_id: int, data: bytes) -> None:
        """Write the message once; a complete earlier copy is kept (never a duplicate)."""
        folder, name = self._where(touch_id)
        if folder not in self._made:
            Path(folder).mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._made.add(folder)
        try:
            descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            path = Path(name)
            if self._complete(path.read_bytes()):
                return
            path.unlink()
            descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        finally:
            os.close(descriptor)

    @classmethod
    def erase_all(cls, folder: Path, suffix: str, touch_ids: Sequence[int]) -> int:
        """Remove the copies of ``touch_ids`` (an erasure); returns how many existed."""
        files = cls(folder, suffix=suffix, complete=bool)
        removed = 0
        for touch_id in touch_ids:
            path = files.path(touch_id)
            if path.is_file():
                path.unlink()
                removed += 1
        return removed

    def find(self, touch_id: int) -> list[str]:
        """``[path]`` when a complete copy exists; a partial one is removed."""
        path = self.path(touch_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        if self._complete(data):
            return [str(path)]
        path.unlink(missing_ok=True)
        return []


def _header(value: str) -> str:
    """A header value, RFC 2047-encoded when it is not plain ASCII: base64 encoded words
    of at most 45 bytes (75 characters once encoded), never splitting a character, folded."""
    if value.isascii():
        return value
    words, chunk = [], b""
    for character in value:
        encoded = character.encode("utf-8")
        if len(chunk) + len(encoded) > 45:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words)


def _address(name: str | None, address: str) -> str:
    if not address.isascii():  # an internationalised address travels as UTF-8 (RFC 6532)
        return f"{_header(name)} <{address}>" if name else address
    return formataddr((name or "", address), charset="utf-8")


#: The longest line a message may carry, CRLF aside (RFC 5322, section 2.1.1).
LINE_LIMIT = 998


def _body(text: str) -> tuple[str, bytes]:
    """A part's transfer encoding and bytes: UTF-8 as written (``8bit``, RFC 2045) when
    every line fits :data:`LINE_LIMIT` and holds no bare CR or NUL, as rendered templates
    do; quoted-printable otherwise. Quoted-printable for every part was a fifth of the
    sending workers' time at 1M contacts (17 against 6 us for a message's two parts)."""
    body = text.replace("\r\n", "\n").encode("utf-8")
    if b"\r" in body or b"\0" in body or max(map(len, body.split(b"\n"))) > LINE_LIMIT:
        return "quoted-printable", binascii.b2a_qp(body, istext=True)
    return "8bit", body


def eml(email: OutgoingEmail, message_id: str) -> bytes:
    """The message as an RFC 5322 file (LF line ends, as mail tools store them):
    multipart/alternative, text and HTML, UTF-8 (quoted-printable for long lines), with the
    List-Unsubscribe headers a provider would send."""
    text_encoding, text = _body(email.text)
    html_encoding, html = _body(email.html)
    boundary = f"=_nurture_{unique.token()}"
    while boundary.encode() in text or boundary.encode() in html:  # RFC 2046, 5.1.1
        boundary = f"=_nurture_{unique.token()}"
    headers = [
        f"Message-ID: <{email.message_id or message_id}>",
        f"Date: {formatdate(localtime=False)}",
        f"From: {_address(email.from_name, email.from_email)}",
        f"To: {_address(email.to_name, email.to)}",
        f"Subject: {_header(email.subject)}",
        "MIME-Version: 1.0",
        *(f"{name}: {value}" for name, value in list_unsubscribe(email).items()),
        f"X-Nurture-Touch: {email.touch_id}",
        f"X-Nurture-Contact: {email.contact_id}",
    ]
    if email.reply_to:
        headers.append(f"Reply-To: {_address(email.reply_to_name, email.reply_to)}")
    if email.categories:
        headers.append(f"X-Nurture-Categories: {_header(', '.join(email.categories))}")
    if email.send_at is not None:
        headers.append(f"X-Nurture-Deliver-At: {email.send_at.isoformat()}")
    headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    part = 'Content-Type: text/{kind}; charset="utf-8"\nContent-Transfer-Encoding: {encoding}'
    return b"".join(
        [
            "\n".join(headers).encode("utf-8"),
            b"\n\n",
            f"--{boundary}\n{part.format(kind='plain', encoding=text_encoding)}\n\n".encode(),
            text,
            f"\n--{boundary}\n{part.format(kind='html', encoding=html_encoding)}\n\n".encode(),
            html,
            f"\n--{boundary}--\n".encode(),
        ]
    )
