"""The cells of a contacts CSV, one kind at a time: each returns the normalised value or
raises ``ValueError`` saying what is wrong (the row reader turns it into a row error)."""

from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

__all__ = [
    "amount",
    "checked_zone",
    "country",
    "flag",
    "integer",
    "language",
    "normalise_email",
    "normalise_phone",
    "valid_zone",
    "zones_of",
]

#: The largest head count and deal value a row may give (beyond them it is a typo).
_MAX_COUNT = 10_000_000
_MAX_AMOUNT = 1e12
_TRUE = frozenset({"1", "true", "yes", "y", "oui", "o", "vrai", "x"})
_FALSE = frozenset({"0", "false", "no", "n", "non", "faux"})

# ISO 639-1 codes: a language a template can be written in.
_LANGUAGES = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
    nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu
    """.split()
)


# The everyday shape of an address (ASCII dot-atom local part, LDH labels, alphabetic TLD).
# It is a strict subset of what RFC 5322 allows, checked in microseconds; anything else
# (quoted local parts, internationalised domains, oddities) goes to email-validator.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def normalise_email(raw: str) -> str:
    """A lower-case, syntactically valid address (``ValueError`` says what is wrong)."""
    lowered = raw.lower()
    local = lowered.partition("@")[0]
    if len(local) <= 64 and len(lowered) <= 254 and _PLAIN_EMAIL.fullmatch(lowered):
        return lowered
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"email {raw!r} is not valid: {exc}") from exc
    return checked.normalized.lower()


def normalise_phone(raw: str, region: str) -> str:
    """The E.164 form of ``raw``, read as a number of ``region`` when it has no ``+``."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} cannot be read: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {raw!r} is not a valid number (read as {region})")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def country(raw: str) -> str | None:
    if not raw:
        return None
    code = raw.upper()
    if code not in _countries():
        raise ValueError(f"country {raw!r} is not an ISO 3166 two-letter code")
    return code


def checked_zone(raw: str) -> str | None:
    if raw and not valid_zone(raw):
        raise ValueError(f"timezone {raw!r} is not an IANA time zone (e.g. Europe/Paris)")
    return raw or None


def language(raw: str) -> str | None:
    if not raw:
        return None
    code = re.split(r"[-_]", raw.lower(), maxsplit=1)[0]
    if code not in _LANGUAGES:
        raise ValueError(f"language {raw!r} is not an ISO 639-1 code (e.g. fr, en)")
    return code


def integer(raw: str, name: str) -> int | None:
    if not raw:
        return None
    cleaned = raw.replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    if not cleaned.isascii() or not cleaned.isdecimal():
        raise ValueError(f"{name} {_quoted(raw)} is not a whole number")
    if len(cleaned) > 9 or int(cleaned) > _MAX_COUNT:
        raise ValueError(f"{name} {_quoted(raw)} is larger than {_MAX_COUNT:,}")
    return int(cleaned)


def _quoted(raw: str) -> str:
    return f"'{raw[:40]}…'" if len(raw) > 40 else f"'{raw}'"


def amount(raw: str, name: str) -> float | None:
    if not raw:
        return None
    cleaned = re.sub(r"[\s\u202f\xa0€$£]|EUR|USD", "", raw)
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    cleaned = cleaned.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{name} {raw!r} is not an amount") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} {_quoted(raw)} must be a positive amount")
    if value > _MAX_AMOUNT:
        raise ValueError(f"{name} {_quoted(raw)} is larger than {_MAX_AMOUNT:,.0f}")
    return value


def flag(raw: str, name: str) -> bool | None:
    if not raw:
        return None
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} {raw!r} is not yes or no")


@cache
def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"


@cache
def _countries() -> frozenset[str]:
    codes = {
        line.split("\t", 1)[0]
        for line in _tzdata_table("iso3166.tab").splitlines()
        if line and not line.startswith("#")
    }
    return frozenset(codes)


@cache
def zones_of(country: str) -> tuple[str, ...]:
    zones = []
    for line in _tzdata_table("zone.tab").splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if parts[0] == country:
                zones.append(parts[2])
    return tuple(zones)


@cache
def _tzdata_table(name: str) -> str:
    source = resources.files("tzdata").joinpath("zoneinfo", name)
    return Path(str(source)).read_text(encoding="utf-8")
