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
from functools import lru_cache
from typing import Any

import orjson

from nurture.errors import PayloadError

__all__ = ["LinkKeys", "key_id", "read_token", "reply_token", "sign_token"]

_SIGNATURE_BYTES = 16
_MAX_TOKEN_CHARS = 2_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=8)
def key_id(secret: str) -> str:
    """A short, public name for a secret (it reveals nothing of it)."""
    return hashlib.sha256(b"nurture-link-key:" + secret.encode()).hexdigest()[:8]


def _mac(secret: str, purpose: str, signed: bytes) -> bytes:
    # hmac.digest: OpenSSL's one-shot HMAC, without building an HMAC object per link.
    return hmac.digest(secret.encode(), purpose.encode() + b"." + signed, "sha256")[
        :_SIGNATURE_BYTES
    ]


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """The secret that signs new links, and the previous one during its grace period."""

    current: str
    previous: str | None = None
    previous_until: date | None = None

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        """A compact URL-safe token carrying ``payload``, valid only for ``purpose``."""
        kid = key_id(self.current)
        # orjson: a run signs two links per email, and the standard library's encoder was
        # 3% of sending. Compact and sorted as before; text outside ASCII is written as
        # UTF-8 instead of \u escapes, which both read the same.
        body = _b64(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
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

    def read_reply(self, token: str, *, today: date) -> int:
        """The touch a reply token names (see :func:`reply_token`), checked against the
        current secret and the previous one in its grace period; :class:`PayloadError`
        otherwise."""
        touch_id = _base36_int(token.lower().partition("-")[0])
        if touch_id < 0 or len(token) > 40:
            raise PayloadError("malformed reply token")
        accepted = [self.current]
        if self.previous is not None and (
            self.previous_until is None or today <= self.previous_until
        ):
            accepted.append(self.previous)
        for secret in accepted:
            if hmac.compare_digest(token.lower(), reply_token(secret, touch_id)):
                return touch_id
        raise PayloadError("reply token signature does not match")

    def _secret_for(self, kid: str, today: date) -> str:
        if hmac.compare_digest(kid, key_id(self.current)):
            return self.current
        if self.previous is not None and hmac.compare_digest(kid, key_id(self.previous)):
            if self.previous_until is not None and today > self.previous_until:
                raise PayloadError("link token signed with a retired key")
            return self.previous
        raise PayloadError("link token signed with an unknown key")


def reply_token(secret: str, touch_id: int) -> str:
    """The token in a reply address (``reply+<token>@…``): the touch id and 80 bits of
    signature, in lower-case letters and digits only, because mail systems may change
    the case of an address's local part and forbid most punctuation in it."""
    touch = _base36(touch_id)
    mac = hmac.digest(secret.encode(), b"reply." + touch.encode(), "sha256")
    return f"{touch}-{base64.b32encode(mac[:10]).decode().lower()}"


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


def _base36_int(text: str) -> int:
    """The number ``text`` writes in base 36, or -1 when it is not one."""
    if not 0 < len(text) <= 13 or not all(c in _DIGITS for c in text):
        return -1
    return int(text, 36)


def sign_token(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    """A token signed with ``secret`` alone (see :class:`LinkKeys`)."""
    return LinkKeys(secret).sign(purpose, payload)


def read_token(secret: str, purpose: str, token: str, *, today: date) -> dict[str, Any]:
    """The payload of a token signed with ``secret`` alone (see :class:`LinkKeys`)."""
    return LinkKeys(secret).read(purpose, token, today=today)
