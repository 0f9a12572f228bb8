"""Signed tokens for links that need no login: one-click unsubscribe and content drops.

A token is ``<key id>.<payload>.<signature>``: the HMAC covers the purpose (a content
link cannot be replayed as an unsubscribe), the key id and the payload. The key id names
the secret that signed it, so the secret can be rotated: tokens signed with the previous
secret are accepted until the end of its grace period, then refused. Tokens of the first
format (``<payload>.<signature>``, no key id) are still read with the current secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from nurture.errors import PayloadError

__all__ = ["LinkKeys", "key_id", "read_token", "sign_token"]

_SIGNATURE_BYTES = 16
_MAX_TOKEN_CHARS = 2_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(secret: str) -> str:
    """A short, public name for a secret (it reveals nothing of it)."""
    return hashlib.sha256(b"nurture-link-key:" + secret.encode()).hexdigest()[:8]


def _mac(secret: str, purpose: str, signed: bytes) -> bytes:
    digest = hmac.new(secret.encode(), purpose.encode() + b"." + signed, hashlib.sha256)
    return digest.digest()[:_SIGNATURE_BYTES]


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """The secret that signs new links, and the previous one during its grace period."""

    current: str
    previous: str | None = None
    previous_until: date | None = None

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        """A compact URL-safe token carrying ``payload``, valid only for ``purpose``."""
        kid = key_id(self.current)
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        mac = _mac(self.current, purpose, f"{kid}.{body}".encode())
        return f"{kid}.{body}.{_b64(mac)}"

    def read(self, purpose: str, token: str, *, today: date) -> dict[str, Any]:
        """The payload of a token signed for ``purpose`` by a key still accepted on
        ``today``; :class:`PayloadError` otherwise."""
        if len(token) > _MAX_TOKEN_CHARS:
            raise PayloadError("malformed link token")
        parts = token.split(".")
        if len(parts) == 2:  # first format: no key id, the current secret only
            body, mac, secret, signed = parts[0], parts[1], self.current, None
        elif len(parts) == 3:
            kid, body, mac = parts
            secret = self._secret_for(kid, today)
            signed = f"{kid}.{body}".encode()
        else:
            raise PayloadError("malformed link token")
        try:
            raw_body, raw_mac = _unb64(body), _unb64(mac)
        except (ValueError, TypeError) as exc:
            raise PayloadError("malformed link token") from exc
        expected = _mac(secret, purpose, signed if signed is not None else raw_body)
        if not hmac.compare_digest(raw_mac, expected):
            raise PayloadError("link token signature does not match")
        try:
            payload = json.loads(raw_body)
        except (ValueError, RecursionError) as exc:
            raise PayloadError("malformed link token") from exc
        if not isinstance(payload, dict):
            raise PayloadError("malformed link token")
        return payload

    def _secret_for(self, kid: str, today: date) -> str:
        if hmac.compare_digest(kid, key_id(self.current)):
            return self.current
        if self.previous is not None and hmac.compare_digest(kid, key_id(self.previous)):
            if self.previous_until is not None and today > self.previous_until:
                raise PayloadError("link token signed with a retired key")
            return self.previous
        raise PayloadError("link token signed with an unknown key")


def sign_token(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    """A token signed with ``secret`` alone (see :class:`LinkKeys`)."""
    return LinkKeys(secret).sign(purpose, payload)


def read_token(secret: str, purpose: str, token: str, *, today: date) -> dict[str, Any]:
    """The payload of a token signed with ``secret`` alone (see :class:`LinkKeys`)."""
    return LinkKeys(secret).read(purpose, token, today=today)
