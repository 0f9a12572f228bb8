"""Signed tokens for links that need no login: one-click unsubscribe and content drops."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from nurture.errors import PayloadError

__all__ = ["read_token", "sign_token"]

_SIGNATURE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    """A compact URL-safe token carrying ``payload``, valid only for ``purpose``."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(secret.encode(), purpose.encode() + b"." + body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac[:_SIGNATURE_BYTES])}"


def read_token(secret: str, purpose: str, token: str) -> dict[str, Any]:
    """The payload of a token signed for ``purpose``; :class:`PayloadError` otherwise."""
    try:
        body_text, mac_text = token.split(".", 1)
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, TypeError) as exc:
        raise PayloadError("malformed link token") from exc
    expected = hmac.new(secret.encode(), purpose.encode() + b"." + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected[:_SIGNATURE_BYTES]):
        raise PayloadError("link token signature does not match")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PayloadError("malformed link token") from exc
    if not isinstance(payload, dict):
        raise PayloadError("malformed link token")
    return payload
