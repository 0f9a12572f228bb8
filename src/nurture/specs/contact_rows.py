"""Contact rows from a CSV file, checked and normalised one row at a time.

A row that cannot be read is rejected with its row number (as a spreadsheet counts them:
the header is row 1) and the reason; every other row still goes through.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

import phonenumbers
from phonenumbers import timezone as phone_timezones

from nurture.domain.contacts import BANT_FACTS, CONTACT_ATTRIBUTES
from nurture.domain.privacy import CHANNELS, EmailPolicy, default_basis, parse_basis
from nurture.errors import InputError, Location, RowError
from nurture.limits import DEFAULT_LIMITS
from nurture.specs.cells import (
    amount,
    checked_zone,
    integer,
    language,
    normalise_email,
    normalise_phone,
    valid_zone,
    zones_of,
)
from nurture.specs.cells import country as cells_country

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
    "account_id",
    "role",
    "sector",
    "owner",
)
_CONSENT_COLUMNS = (
    "consent_email",
    "consent_sms",
    "consent_email_date",
    "consent_sms_date",
    "source",
)
_COLUMNS = frozenset(
    {*CONTACT_ATTRIBUTES, *_CONSENT_COLUMNS, *(f"bant.{fact}" for fact in BANT_FACTS)}
)
_MAX_TEXT = {
    "external_id": 128,
    "account_id": 128,
    "owner": 200,
    "company": 200,
    "role": 200,
    "sector": 100,
}


def known_columns() -> frozenset[str]:
    """Columns a contacts CSV may have, besides ``custom.<name>`` ones."""
    return _COLUMNS


@dataclass(frozen=True)
class RowDefaults:
    """What a row gets when it leaves a field empty."""

    region: str = "FR"
    timezone: str = "Europe/Paris"
    language: str = "fr"
    #: Who may be emailed on legitimate interest when ``consent_email`` is empty.
    email_basis: EmailPolicy = "professional"


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
    #: When the person gave the consent of a channel, when the row says (``*_date``).
    consent_dates: dict[str, date] = field(default_factory=dict)

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
            [self.values, self.custom, self.bant, self.inferred, self.consent_dates],
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
    dialect, columns = _read_header(stream, file=file, encoding=encoding)
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


def _read_header(
    stream: TextIO, *, file: str, encoding: str
) -> tuple[type[csv.Dialect], list[str]]:
    """The file's dialect and its columns, checked; an unreadable header fails the file."""
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
    return dialect, columns


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
    country = cells_country(cells.get("country", ""))
    values["country"] = country
    phone = cells.get("phone")
    values["phone"] = normalise_phone(phone, country or defaults.region) if phone else None
    inferred: dict[str, Any] = {}
    values["timezone"] = checked_zone(cells.get("timezone", ""))
    if values["timezone"] is None:
        inferred["timezone"] = _infer_zone(country, values["phone"], defaults)
    values["language"] = language(cells.get("language", ""))
    if values["language"] is None:
        inferred["language"] = defaults.language
    values["company_size"] = integer(cells.get("company_size", ""), "company_size")
    values["deal_value"] = amount(cells.get("deal_value", ""), "deal_value")
    source = cells.get("source") or None
    if source is not None and len(source) > 200:
        raise ValueError("source is longer than 200 characters")
    values["source"] = source
    dates = _lawful_basis(cells, values, inferred, defaults)
    custom = {
        key.removeprefix("custom."): value
        for key, value in cells.items()
        if key.startswith("custom.") and value
    }
    bant = {fact: cells[f"bant.{fact}"] for fact in BANT_FACTS if cells.get(f"bant.{fact}")}
    return ContactRow(
        row=row, values=values, custom=custom, bant=bant, inferred=inferred, consent_dates=dates
    )


def _lawful_basis(
    cells: dict[str, str], values: dict[str, Any], inferred: dict[str, Any], defaults: RowDefaults
) -> dict[str, date]:
    """The basis of each channel the row records (an unknown word rejects the row), else
    the default one; and the dates consents were given."""
    dates: dict[str, date] = {}
    for channel in CHANNELS:
        column = f"consent_{channel}"
        raw = cells.get(column, "")
        values[f"basis_{channel}"] = parse_basis(raw, channel).value if raw else None
        if not raw:
            default = default_basis(channel, values["email"], defaults.email_basis)
            inferred[f"basis_{channel}"] = default.value
        given = cells.get(f"{column}_date", "")
        if given:
            try:
                dates[channel] = date.fromisoformat(given)
            except ValueError:
                raise ValueError(f"{column}_date {given!r} is not a date (YYYY-MM-DD)") from None
            if not raw:
                raise ValueError(f"{column}_date is set but {column} is empty")
    return dates


def _infer_zone(country: str | None, phone: str | None, defaults: RowDefaults) -> str:
    # Only when there is one candidate: from the country, else from the number.
    zones = zones_of(country) if country else ()
    if len(zones) == 1:
        return zones[0]
    if phone:
        candidates = phone_timezones.time_zones_for_number(phonenumbers.parse(phone))
        if len(candidates) == 1 and valid_zone(candidates[0]):
            return str(candidates[0])
    return defaults.timezone
