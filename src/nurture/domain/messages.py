"""Rendered messages and what a carrier will make of an SMS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EMAIL_PARTS", "RenderedCall", "RenderedEmail", "RenderedSms", "sms_segments"]

#: The parts an email template is made of, each a file.
EMAIL_PARTS = ("subject", "html", "txt")

# GSM 03.38 basic character set and its extension table (each extension char costs 2).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[Literal["GSM-7", "UCS-2"], int, int]:
    """(encoding, length in encoding units, number of segments) for ``text``.

    GSM-7 fits 160 units in one segment and 153 per segment when split; a single character
    outside GSM-7 (``ê``, ``’``, an emoji) switches the whole message to UCS-2: 70, then 67.
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return encoding, units, 1 if units else 0  # type: ignore[return-value]
    return encoding, units, -(-units // multi)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An email ready to send."""

    subject: str
    html: str
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class RenderedSms:
    """An SMS ready to send, with what the carrier will bill."""

    text: str
    language: str

    @property
    def encoding(self) -> str:
        """GSM-7 or UCS-2."""
        return sms_segments(self.text)[0]

    @property
    def length(self) -> int:
        """Length in encoding units."""
        return sms_segments(self.text)[1]

    @property
    def segments(self) -> int:
        """How many SMS the carrier will send."""
        return sms_segments(self.text)[2]


@dataclass(frozen=True, slots=True)
class RenderedCall:
    """The script a rep reads."""

    script: str
    language: str
