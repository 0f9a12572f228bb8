"""``nurture contacts import``: upsert contacts from a CSV file."""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

from nurture.commands.consent import bant_changes, consent_changes
from nurture.domain.accounts import account_key
from nurture.domain.audit import AuditEntry, Subject
from nurture.domain.contacts import CONTACT_ATTRIBUTES, Bant, Consent, Contact
from nurture.domain.privacy import CHANNELS, Basis, ErasureKeys
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
    erasure: ErasureKeys | None = None,
) -> ImportReport:
    """Upsert every valid row of ``path``; reject the others with row number and reason.

    Rows are matched on external id, else email. A row whose content is the same as what
    is stored changes nothing, so importing a file twice is harmless. Work is committed in
    chunks, so an interrupted import keeps what it did and can simply be run again. A row
    for a person who was forgotten (``erasure`` recognises them) is refused.
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
    store = _Store(uow=uow, scoring=scoring, now=now, report=report, erasure=erasure)
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
                store(chunk)
                uow.commit()
                if progress:
                    progress(len(chunk))
                chunk = []
        store(chunk)
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


@dataclass
class _Store:
    """Writes one chunk of rows, with their consent history and audit lines."""

    uow: UnitOfWork
    scoring: ScoringModel
    now: datetime
    report: ImportReport
    erasure: ErasureKeys | None

    @cached_property
    def _anyone_forgotten(self) -> bool:
        # Most bases have forgotten nobody: then no row needs its three keyed hashes.
        return self.uow.privacy.count_forgotten() > 0

    def __call__(self, rows: list[ContactRow]) -> None:
        if not rows:
            return
        uow, report = self.uow, self.report
        rows = self._not_forgotten(rows)
        existing = uow.contacts.find_existing(
            emails=[r.values["email"] for r in rows if r.values["email"]],
            external_ids=[r.values["external_id"] for r in rows if r.values["external_id"]],
        )
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
        written = self._write(pending, details)
        self._record_history(written)

    def _write(
        self,
        pending: list[tuple[ContactRow, StoredContact | None, str]],
        details: dict[int, StoredContact],
    ) -> list[tuple[ContactRow, StoredContact | None, dict[str, Any]]]:
        """Insert and update the rows; what was written, with what was stored before."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        done: list[tuple[ContactRow, StoredContact | None, dict[str, Any]]] = []
        for row, match, digest in pending:
            stored = details[match.id] if match is not None else None
            record = _record(row, stored, scoring=self.scoring, now=self.now)
            record["row_hash"] = digest
            record["updated_at"] = self.now
            if stored is None:
                where = f"import {Path(self.report.file).name} row {row.row}"
                record["source"] = record.get("source") or where[:200]
                record.update(
                    created_at=self.now,
                    stage="contact",
                    stage_changed_at=self.now,
                    interest_state={},
                )
                inserts.append(record)
            else:
                record["id"] = stored.id
                updates.append(record)
            done.append((row, stored, record))
        refused = self.uow.contacts.save(inserts, updates)
        refused_ids = {id(written) for written, _ in refused}
        row_of = {id(record): row.row for row, _, record in done}
        for written, reason in refused:
            self.report.rejected.append(Rejection(row_of[id(written)], reason))
        self.report.created += sum(1 for record in inserts if id(record) not in refused_ids)
        self.report.updated += sum(1 for record in updates if id(record) not in refused_ids)
        return [item for item in done if id(item[2]) not in refused_ids]

    def _not_forgotten(self, rows: list[ContactRow]) -> list[ContactRow]:
        """The rows whose person was never forgotten; the others are refused."""
        if self.erasure is None or not self._anyone_forgotten:
            return rows
        keys = self.erasure
        candidates = {
            row.row: keys.person_candidates(
                email=row.values["email"],
                phone=row.values["phone"],
                external_id=row.values["external_id"],
            )
            for row in rows
        }
        found = self.uow.privacy.forgotten([d for ds in candidates.values() for d in ds])
        if not found:
            return rows
        kept = []
        for row in rows:
            when = next((found[d] for d in candidates[row.row] if d in found), None)
            if when is None:
                kept.append(row)
                continue
            self.report.rejected.append(
                Rejection(
                    row.row,
                    f"this person was forgotten on {when.date().isoformat()} (an erasure): "
                    "nurture does not create them again",
                )
            )
        return kept

    def _record_history(
        self, written: list[tuple[ContactRow, StoredContact | None, dict[str, Any]]]
    ) -> None:
        """Consent history and audit lines for what the rows changed."""
        if not written:
            return
        # The ids of new contacts are looked up only for rows that state a basis: the
        # others have no history line (their default basis is on the contact).
        stating = [row for row, stored, _ in written if stored is None and _states_basis(row)]
        ids = self.uow.contacts.find_existing(
            emails=[r.values["email"] for r in stating if r.values["email"]],
            external_ids=[r.values["external_id"] for r in stating if r.values["external_id"]],
        )
        file = Path(self.report.file).name
        consents, audit = [], []
        for row, stored, record in written:
            found = stored or _match(row, ids)
            if found is None:
                continue
            contact_id = found.id
            where = f"import {file} row {row.row}"
            before = stored.attributes if stored is not None else {}
            changes = consent_changes(
                row, before, record, contact_id=contact_id, where=where, now=self.now
            )
            for consent in changes:
                consents.append(consent)
                if stored is None:
                    continue  # a creation: its history line says it, no change to audit
                was = before.get(f"basis_{consent.channel}") or "nothing"
                change = f"{consent.channel}: {was} → {consent.basis}"
                audit.append(_audit(contact_id, self.now, file, Subject.CONSENT, change, why=where))
            facts = bant_changes(stored.bant, record.get("bant") or {}) if stored else []
            if facts:
                change = f"{', '.join(facts)} updated"
                audit.append(_audit(contact_id, self.now, file, Subject.BANT, change, why=where))
        self.uow.privacy.add_consents(consents)
        self.uow.privacy.audit(audit)


def _states_basis(row: ContactRow) -> bool:
    """Whether the row says the lawful basis of a channel (a consent column is filled)."""
    return any(row.values.get(f"basis_{channel}") for channel in CHANNELS)


def _audit(
    contact_id: int, at: datetime, file: str, subject: Subject, change: str, *, why: str
) -> AuditEntry:
    return AuditEntry(contact_id, at, f"import {file}", subject, change, why)


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
    email_basis = Basis(merged.get("basis_email") or Basis.NONE)
    sms_basis = Basis(merged.get("basis_sms") or Basis.NONE)
    values.update(consent_email=email_basis.allows, consent_sms=sms_basis.allows)
    contact = Contact(
        **attributes,
        custom=values["custom"],
        consent=Consent(email_basis.allows, sms_basis.allows, email_basis, sms_basis),
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
        values = {**dict.fromkeys((*CONTACT_ATTRIBUTES, "source")), **values}
    return values
