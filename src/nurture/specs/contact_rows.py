"""Contact rows from a CSV file, checked and normalised one row at a time.

A row that cannot be read is rejected with its row number (as a spreadsheet counts them:
the header is row 1) and the reason; every other row still goes through.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_timezones

from nurture.domain.contacts import BANT_FACTS, CONTACT_ATTRIBUTES
from nurture.errors import InputError, Location, RowError
from nurture.limits import DEFAULT_LIMITS

__all__ = [
    "ContactRow",
    "RowDefaults",
    "known_columns",
    "normalise_email",
    "normalise_phone",
    "read_contact_rows",
]

_TEXT_COLUMNS = (
    "external_id",
    "first_name",
    "last_name",
    "company",
    "role",
    "sector",
    "owner",
)
_COLUMNS = frozenset(
    {*CONTACT_ATTRIBUTES, "consent_email", "consent_sms", *(f"bant.{fact}" for fact in BANT_FACTS)}
)
_MAX_TEXT = {"external_id": 128, "owner": 200, "company": 200, "role": 200, "sector": 100}
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


def known_columns() -> frozenset[str]:
    """Columns a contacts CSV may have, besides ``custom.<name>`` ones."""
    return _COLUMNS


@dataclass(frozen=True)
class RowDefaults:
    """What a row gets when it leaves a field empty."""

    region: str = "FR"
    timezone: str = "Europe/Paris"
    language: str = "fr"


@dataclass
class ContactRow:
    """One normalised contact row, ready to be stored."""

    row: int
    values: dict[str, Any]
    custom: dict[str, str] = field(default_factory=dict)
    bant: dict[str, str] = field(default_factory=dict)
    #: Values the row did not give but that were inferred or defaulted (time zone from the
    #: country, default language, consent). They fill a new contact or an empty field; they
    #: never overwrite what is stored.
    inferred: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """What the row is matched on: its external id, else its email."""
        if self.values.get("external_id"):
            return ("external_id", self.values["external_id"])
        return ("email", self.values["email"])

    @property
    def row_hash(self) -> str:
        """A fingerprint of everything the row says (a re-import of it changes nothing)."""
        payload = json.dumps(
            [self.values, self.custom, self.bant, self.inferred],
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def read_contact_rows(
    stream: TextIO,
    *,
    file: str,
    defaults: RowDefaults,
    max_cell_chars: int = DEFAULT_LIMITS.csv_cell_chars,
    encoding: str = "utf-8",
) -> Iterator[ContactRow | RowError]:
    """Yield each data row normalised, or the :class:`RowError` that rejects it.

    ``stream`` should be opened with ``errors="surrogateescape"``: a row holding bytes
    that are not ``encoding`` text is then rejected on its own, with a hint to pass
    ``--encoding``, and the rows around it still go through. A header that names an
    unknown column is an :class:`InputError` for the whole file: importing the rest would
    silently drop that column.
    """
    sample = stream.readline()
    if not sample.strip():
        raise InputError("file is empty (expected a header row)", Location(file, 1))
    if "\x00" in sample:
        raise InputError("this is not a CSV text file (it holds NUL bytes)", Location(file, 1))
    if _SURROGATES.search(sample):
        raise InputError(
            f"the header is not {encoding} text; if the file is in another encoding, "
            "import it with --encoding (e.g. --encoding cp1252 for Excel on Windows)",
            Location(file, 1),
        )
    dialect = _sniff(sample)
    try:
        header = next(csv.reader([sample], dialect))
    except csv.Error as exc:
        raise InputError(f"the header cannot be read as CSV: {exc}", Location(file, 1)) from None
    columns = [column.strip().lower() for column in header]
    _check_header(columns, file)
    reader = csv.reader(_without_nul(stream), dialect)
    row_number = 1
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = f"cannot be read as CSV: {exc}"
            if "field larger than field limit" in str(exc):
                reason = _too_long("a cell", max_cell_chars)
            yield RowError(reason, row=row_number, file=file)
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            yield RowError(
                f"has {len(cells)} cells, the header has {len(columns)}", row=row_number, file=file
            )
            continue
        try:
            raw = dict(zip(columns, cells, strict=True))
            _check_cells(raw, max_cell_chars=max_cell_chars, encoding=encoding)
            yield _normalise(raw, row_number, defaults)
        except ValueError as exc:
            yield RowError(str(exc), row=row_number, file=file)


_SURROGATES = re.compile("[\udc80-\udcff]")
#: Tags of HTML or of console markup in a cell: they have no place in contact data and
#: would be interpreted where the value is shown.
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|\[/?[a-z#@/][^\]]*\]")
_NUL_MARK = "\ufffe"  # stands for a NUL byte until the row is checked


def _too_long(what: str, limit: int) -> str:
    return f"{what}: longer than {limit:,} characters (the limit NURTURE_MAX_CSV_CELL_CHARS)"


def _without_nul(stream: TextIO) -> Iterator[str]:
    """The lines of ``stream`` with NUL characters marked (the csv module refuses NUL,
    and would lose the whole file): the row that held one is rejected on its own."""
    for line in stream:
        yield line.replace("\x00", _NUL_MARK)


def _check_cells(raw: dict[str, str], *, max_cell_chars: int, encoding: str) -> None:
    for column, value in raw.items():
        if len(value) > max_cell_chars:
            raise ValueError(_too_long(column, max_cell_chars))
        if _NUL_MARK in value:
            raise ValueError(f"{column}: the cell holds a NUL byte")
        if _SURROGATES.search(value):
            raise ValueError(
                f"{column}: not {encoding} text; if the file is in another encoding, import "
                "it with --encoding (e.g. --encoding cp1252)"
            )
        if any(ord(char) < 32 and char not in "\t\r\n" for char in value):
            raise ValueError(f"{column}: the cell holds control characters")
        markup = _MARKUP.search(value) if column != "email" else None
        if markup is not None:
            raise ValueError(f"{column}: the cell holds markup ({markup.group(0)[:40]})")


def _sniff(header_line: str) -> type[csv.Dialect]:
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",;\t"}
    delimiter = max(counts, key=lambda d: counts[d])

    class _Dialect(csv.excel):
        pass

    _Dialect.delimiter = delimiter
    return _Dialect


def _check_header(columns: list[str], file: str) -> None:
    seen: set[str] = set()
    for index, column in enumerate(columns, start=1):
        if column in seen:
            raise InputError(
                f"column {column!r} appears twice", Location(file, 1, f"column {index}")
            )
        seen.add(column)
        if column in _COLUMNS or (column.startswith("custom.") and len(column) > 7):
            continue
        raise InputError(
            f"unknown column {column!r}; known columns: {', '.join(sorted(_COLUMNS))}, "
            "and custom.<name> for custom attributes",
            Location(file, 1, f"column {index}"),
        )
    if "email" not in seen and "external_id" not in seen:
        raise InputError("the header needs an email or an external_id column", Location(file, 1))


def _normalise(raw: dict[str, str], row: int, defaults: RowDefaults) -> ContactRow:
    cells = {key: value.strip() for key, value in raw.items()}
    values: dict[str, Any] = {}
    for column in _TEXT_COLUMNS:
        text = cells.get(column) or None
        limit = _MAX_TEXT.get(column, 100)
        if text is not None and len(text) > limit:
            raise ValueError(f"{column} is longer than {limit} characters")
        values[column] = text
    values["email"] = normalise_email(cells["email"]) if cells.get("email") else None
    if not values["email"] and not values["external_id"]:
        raise ValueError("needs an email or an external_id")
    country = _country(cells.get("country", ""))
    values["country"] = country
    phone = cells.get("phone")
    values["phone"] = normalise_phone(phone, country or defaults.region) if phone else None
    inferred: dict[str, Any] = {}
    values["timezone"] = _checked_zone(cells.get("timezone", ""))
    if values["timezone"] is None:
        inferred["timezone"] = _infer_zone(country, values["phone"], defaults)
    values["language"] = _language(cells.get("language", ""))
    if values["language"] is None:
        inferred["language"] = defaults.language
    values["company_size"] = _integer(cells.get("company_size", ""), "company_size")
    values["deal_value"] = _amount(cells.get("deal_value", ""), "deal_value")
    for flag, default in (("consent_email", True), ("consent_sms", False)):
        values[flag] = _flag(cells.get(flag, ""), flag)
        if values[flag] is None:
            inferred[flag] = default
    custom = {
        key.removeprefix("custom."): value
        for key, value in cells.items()
        if key.startswith("custom.") and value
    }
    bant = {fact: cells[f"bant.{fact}"] for fact in BANT_FACTS if cells.get(f"bant.{fact}")}
    return ContactRow(row=row, values=values, custom=custom, bant=bant, inferred=inferred)


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


def _country(raw: str) -> str | None:
    if not raw:
        return None
    code = raw.upper()
    if code not in _countries():
        raise ValueError(f"country {raw!r} is not an ISO 3166 two-letter code")
    return code


def _checked_zone(raw: str) -> str | None:
    if raw and not _valid_zone(raw):
        raise ValueError(f"timezone {raw!r} is not an IANA time zone (e.g. Europe/Paris)")
    return raw or None


def _infer_zone(country: str | None, phone: str | None, defaults: RowDefaults) -> str:
    # Only when there is one candidate: from the country, else from the number.
    zones = _zones_of(country) if country else ()
    if len(zones) == 1:
        return zones[0]
    if phone:
        candidates = phone_timezones.time_zones_for_number(phonenumbers.parse(phone))
        if len(candidates) == 1 and _valid_zone(candidates[0]):
            return str(candidates[0])
    return defaults.timezone


def _language(raw: str) -> str | None:
    if not raw:
        return None
    code = re.split(r"[-_]", raw.lower(), maxsplit=1)[0]
    if code not in _LANGUAGES:
        raise ValueError(f"language {raw!r} is not an ISO 639-1 code (e.g. fr, en)")
    return code


def _integer(raw: str, name: str) -> int | None:
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


def _amount(raw: str, name: str) -> float | None:
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


def _flag(raw: str, name: str) -> bool | None:
    if not raw:
        return None
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} {raw!r} is not yes or no")


@cache
def _valid_zone(name: str) -> bool:
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
def _zones_of(country: str) -> tuple[str, ...]:
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
