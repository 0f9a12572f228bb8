"""``nurture contacts import``: upsert contacts from a CSV file."""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from nurture.domain.accounts import account_key
from nurture.domain.contacts import CONTACT_ATTRIBUTES, Bant, Consent, Contact
from nurture.domain.scoring import InterestState, ScoringModel, combine, fit_score
from nurture.errors import InputError, Location, RowError
from nurture.limits import DEFAULT_LIMITS
from nurture.ports import StoredContact, UnitOfWork
from nurture.specs.contact_rows import ContactRow, RowDefaults, read_contact_rows

__all__ = ["ImportReport", "Rejection", "import_contacts"]

_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not imported, and why."""

    row: int
    reason: str


@dataclass
class ImportReport:
    """What an import did."""

    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Data rows read."""
        return self.created + self.updated + self.unchanged + len(self.rejected)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [{"row": r.row, "reason": r.reason} for r in self.rejected],
            "seconds": round(self.seconds, 3),
        }


def import_contacts(
    *,
    path: Path,
    uow: UnitOfWork,
    scoring: ScoringModel,
    defaults: RowDefaults,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    encoding: str = "utf-8",
    max_cell_chars: int = DEFAULT_LIMITS.csv_cell_chars,
) -> ImportReport:
    """Upsert every valid row of ``path``; reject the others with row number and reason.

    Rows are matched on external id, else email. A row whose content is the same as what
    is stored changes nothing, so importing a file twice is harmless. Work is committed in
    chunks, so an interrupted import keeps what it did and can simply be run again.
    """
    started = time.perf_counter()
    report = ImportReport(file=str(path))
    stream = _open(path, encoding)
    seen: dict[tuple[str, str], int] = {}
    rows = read_contact_rows(
        stream,
        file=str(path),
        defaults=defaults,
        max_cell_chars=max_cell_chars,
        encoding=encoding,
    )
    with stream, uow:
        chunk: list[ContactRow] = []
        for item in rows:
            if isinstance(item, RowError):
                report.rejected.append(Rejection(item.row, item.reason))
                continue
            duplicate = _duplicate_of(item, seen)
            if duplicate is not None:
                report.rejected.append(Rejection(item.row, duplicate))
                continue
            chunk.append(item)
            if len(chunk) >= _CHUNK:
                _store(chunk, uow=uow, scoring=scoring, now=now, report=report)
                uow.commit()
                if progress:
                    progress(len(chunk))
                chunk = []
        _store(chunk, uow=uow, scoring=scoring, now=now, report=report)
        uow.commit()
        if progress and chunk:
            progress(len(chunk))
    report.rejected.sort(key=lambda r: r.row)
    report.seconds = time.perf_counter() - started
    return report


def _open(path: Path, encoding: str) -> TextIO:
    """``path`` as text in ``encoding``; a missing file, a folder or an unknown encoding
    is an :class:`InputError`."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1)") from None
    if path.is_dir():
        raise InputError("is a folder, not a CSV file", Location(str(path)))
    try:
        # The BOM Excel writes is skipped; bytes that are not text in the encoding reach
        # the row reader as surrogates, so that only their row is rejected.
        read_as = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
        stream = path.open(encoding=read_as, errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", Location(str(path))) from exc
    return stream


def _duplicate_of(row: ContactRow, seen: dict[tuple[str, str], int]) -> str | None:
    """Why ``row`` repeats an earlier row of the same file, if it does."""
    keys = [("email", row.values["email"]), ("external_id", row.values["external_id"])]
    for key in keys:
        if key[1] and key in seen:
            return f"same contact as row {seen[key]} ({key[0]})"
    for key in keys:
        if key[1]:
            seen[key] = row.row
    return None


def _store(
    rows: list[ContactRow],
    *,
    uow: UnitOfWork,
    scoring: ScoringModel,
    now: datetime,
    report: ImportReport,
) -> None:
    if not rows:
        return
    existing = uow.contacts.find_existing(
        emails=[r.values["email"] for r in rows if r.values["email"]],
        external_ids=[r.values["external_id"] for r in rows if r.values["external_id"]],
    )
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    pending: list[tuple[ContactRow, StoredContact | None, str]] = []
    for row in rows:
        conflict = _merge_conflict(row, existing)
        if conflict is not None:
            report.rejected.append(Rejection(row.row, conflict))
            continue
        stored = _match(row, existing)
        digest = row.row_hash
        if stored is not None and stored.row_hash == digest:
            report.unchanged += 1
        else:
            pending.append((row, stored, digest))
    details = uow.contacts.load_details([s for _, s, _ in pending if s is not None])
    row_of: dict[int, int] = {}
    for row, match, digest in pending:
        stored = details[match.id] if match is not None else None
        record = _record(row, stored, scoring=scoring, now=now)
        record["row_hash"] = digest
        record["updated_at"] = now
        row_of[id(record)] = row.row
        if stored is None:
            record.update(created_at=now, stage="contact", stage_changed_at=now, interest_state={})
            inserts.append(record)
        else:
            record["id"] = stored.id
            updates.append(record)
    refused = uow.contacts.save(inserts, updates)
    for written, reason in refused:
        report.rejected.append(Rejection(row_of[id(written)], reason))
    refused_ids = {id(written) for written, _ in refused}
    report.created += sum(1 for record in inserts if id(record) not in refused_ids)
    report.updated += sum(1 for record in updates if id(record) not in refused_ids)


def _merge_conflict(row: ContactRow, existing: dict[tuple[str, str], StoredContact]) -> str | None:
    """Why a row cannot be applied when its external id and its email name two different
    stored contacts (a merge done in the CRM): it would take one contact's address for
    the other. A person decides which one stays."""
    external, email = row.values["external_id"], row.values["email"]
    by_id = existing.get(("external_id", external)) if external else None
    by_email = existing.get(("email", email)) if email else None
    if by_id is None or by_email is None or by_id.id == by_email.id:
        return None
    other = f" (external id {by_email.external_id})" if by_email.external_id else ""
    return (
        f"external_id {external} is contact {by_id.id}, but email {email} belongs to contact "
        f"{by_email.id}{other}: merge or fix them first (nurture contact show {by_id.id}, "
        f"nurture contact show {by_email.id})"
    )


def _match(row: ContactRow, existing: dict[tuple[str, str], StoredContact]) -> StoredContact | None:
    for key in (("external_id", row.values["external_id"]), ("email", row.values["email"])):
        if key[1] and key in existing:
            return existing[key]
    return None


def _record(
    row: ContactRow, stored: StoredContact | None, *, scoring: ScoringModel, now: datetime
) -> dict[str, Any]:
    """The columns to write: what the row gives; inferred values only where nothing is set.

    Empty cells never erase stored values (as in the CRMs teams import from).
    """
    given = {k: v for k, v in row.values.items() if v is not None}
    before = dict(stored.attributes) if stored else {}
    values = {**given}
    for key, value in row.inferred.items():
        if before.get(key) is None:
            values[key] = value
    values["custom"] = {**(before.get("custom") or {}), **row.custom}
    merged = {**{k: v for k, v in before.items() if k != "id"}, **values}
    bant = Bant(**(stored.bant if stored else {})).merged(dict(row.bant))
    attributes: dict[str, Any] = {k: merged.get(k) for k in CONTACT_ATTRIBUTES}
    contact = Contact(
        **attributes,
        custom=values["custom"],
        consent=Consent(
            email=bool(merged.get("consent_email", True)),
            sms=bool(merged.get("consent_sms", False)),
        ),
        bant=bant,
    )
    fit, fit_parts = fit_score(scoring, contact)
    interest = InterestState.from_json(stored.interest_state if stored else None)
    card = combine(scoring, fit, fit_parts, interest, now)
    values.update(
        bant={k: v for k, v in bant.as_dict().items() if v},
        fit=card.fit,
        interest=card.interest,
        score=card.score,
        temperature=card.temperature.value,
        deal_band=scoring.deal_bands.of(merged.get("deal_value")).value,
        scored_at=now,
        rules_pending=True,
        account=account_key(merged.get("account_id"), merged.get("email")),
    )
    if stored is None:
        values = {**dict.fromkeys(CONTACT_ATTRIBUTES), **values}
    return values
