"""What every webhook request passes before it is read: a body-size limit, SendGrid's
ECDSA signature (the event webhook and Inbound Parse sign the same way), and basic
auth."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "basic_password", "check_signature", "load_key"]

_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413 before anything reads it: from
    its ``Content-Length`` at once, and while it streams in (chunked or lying senders), so
    that no signature check or parser ever holds more than ``limit`` bytes
    (NURTURE_MAX_WEBHOOK_BODY_BYTES)."""

    def __init__(self, app: ASGIApp, *, limit: int, wider: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = limit
        self.wider = wider or {}  # path prefixes that take bigger bodies (inbound email)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for p, n in self.wider.items() if path.startswith(p)), self.default)
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await PlainTextResponse("bad Content-Length", 400)(scope, receive, send)
                return
            if int(declared) > limit:
                too_large = PlainTextResponse(f"body larger than {limit} bytes", 413)
                await too_large(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"body larger than {limit} bytes")
            return message

        await self.app(scope, limited, send)


def check_signature(
    key: ec.EllipticCurvePublicKey, request: Request, body: bytes, *, now: datetime, max_age: int
) -> str | None:
    """Why a SendGrid-signed request is refused (``None``: it is genuine and recent)."""
    signature, stamp = request.headers.get(_SIGNATURE), request.headers.get(_TIMESTAMP)
    if not signature or not stamp:
        return "missing signature headers"
    try:
        age = abs(now.timestamp() - int(stamp))
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (ValueError, binascii.Error, InvalidSignature):
        return "signature does not match"
    if age > max_age:
        return f"timestamp outside the {max_age} s replay window"
    return None


def basic_password(request: Request) -> str | None:
    """The password of HTTP basic auth, if the request carries one."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        return None
    return decoded.partition(":")[2] or None


def load_key(text: str, setting: str) -> ec.EllipticCurvePublicKey:
    """A SendGrid public key (base64 DER, with or without PEM armour)."""
    cleaned = "".join(line for line in text.strip().splitlines() if "PUBLIC KEY" not in line)
    key = load_der_public_key(base64.b64decode(cleaned))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError(f"{setting} is not an ECDSA key")
    return key
