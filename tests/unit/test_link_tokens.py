"""Signed link tokens (``nurture.tokens``): what is signed reads back, links sent before
the encoder changed keep working, and a token signed for one purpose fails for another."""

from __future__ import annotations

import base64
import hmac
import json
from datetime import date

import pytest

from nurture.errors import PayloadError
from nurture.tokens import LinkKeys, key_id

SECRET = "s3cret-for-links-only-0123456789abcdef"
TODAY = date(2026, 3, 3)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "payload",
    [{"c": 12, "t": 345}, {"c": 7, "asset": "livre-blanc-é", "to": "zoë@brasserie.example"}],
)
def test_what_is_signed_reads_back(payload: dict[str, object]) -> None:
    keys = LinkKeys(SECRET)
    assert keys.read("unsubscribe", keys.sign("unsubscribe", payload), today=TODAY) == payload


def test_a_link_signed_with_the_earlier_encoder_still_reads() -> None:
    """Tokens in mail already sent were written by the standard library's json (text
    outside ASCII as \\u escapes): the signature covers the body as it travels."""
    payload = {"asset": "livre-blanc-é", "c": 7}
    kid = key_id(SECRET)
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.digest(SECRET.encode(), b"content." + f"{kid}.{body}".encode(), "sha256")[:16]
    token = f"{kid}.{body}.{_b64(mac)}"
    assert LinkKeys(SECRET).read("content", token, today=TODAY) == payload


def test_a_token_for_one_purpose_fails_for_another() -> None:
    keys = LinkKeys(SECRET)
    token = keys.sign("content", {"c": 1})
    with pytest.raises(PayloadError, match="signature"):
        keys.read("unsubscribe", token, today=TODAY)
