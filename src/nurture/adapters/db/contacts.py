"""Contacts in SQL."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from enum import Enum
from operator import itemgetter
from typing import Any, TypeVar

import sqlalchemy as sa

from nurture.adapters.db.bulk import any_of, execute_many, update_rows
from nurture.adapters.db.tables import INTERESTED, contacts, stage_history
from nurture.domain.contacts import (
    BANT_FACTS,
    CONTACT_ATTRIBUTES,
    Bant,
    Consent,
    Contact,
    DealBand,
    Stage,
    Temperature,
)
from nurture.domain.lifecycle import StageChange
from nurture.domain.scoring import InterestState, ScoredContact
from nurture.limits import db_id
from nurture.ports import Fading, StoredContact

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "RUN_COLUMNS",
    "SqlContacts",
    "contact_from_row",
    "contact_reader",
]

#: What a contact is (as opposed to what nurture computed about it).
ATTRIBUTE_COLUMNS = (
    "id",
    *CONTACT_ATTRIBUTES,
    "consent_email",
    "consent_sms",
    "basis_email",
    "basis_sms",
    "source",
    "custom",
)

_CHUNK = 900  # keys per IN (...) query: under SQLite's 999-parameter limit of old builds


#: What a run needs of a contact to plan and send: its attributes and what was computed
#: about it (not its import fingerprint, its audit timestamps or its pending events).
RUN_COLUMNS = (
    *ATTRIBUTE_COLUMNS,
    "bant",
    "stage",
    "score",
    "fit",
    "interest",
    "temperature",
    "deal_band",
)

#: What re-scoring and the stage rules read: no bookkeeping (row hash, created, updated,
#: scored), whose datetimes cost a parse each and go unread.
SCORED_COLUMNS = (
    *RUN_COLUMNS,
    "last_interest_at",
    "forgotten_at",
    "stage_changed_at",
    "interest_state",
    "pending_events",
)


_E = TypeVar("_E", bound=Enum)


def _member(kind: type[_E], value: str) -> _E:
    """``kind(value)`` by a dictionary lookup: calling an enum costs more than the rest of
    a contact, and a run reads hundreds of thousands of them."""
    found = kind._value2member_map_.get(value)
    return found if found is not None else kind(value)  # type: ignore[return-value]


#: Every column a contact is read from, and its value when a read leaves it out.
_READ_DEFAULTS: dict[str, Any] = {
    "id": None,
    **dict.fromkeys(CONTACT_ATTRIBUTES),
    "custom": None,
    "consent_email": True,
    "consent_sms": False,
    "basis_email": None,
    "basis_sms": None,
    "bant": None,
    "stage": None,
    "score": None,
    "fit": None,
    "interest": None,
    "temperature": None,
    "deal_band": None,
    "last_interest_at": None,
    "source": None,
    "forgotten_at": None,
}


@functools.lru_cache(maxsize=32)
def contact_reader(columns: tuple[str, ...]) -> Callable[[Sequence[Any]], Contact]:
    """Domain contacts from rows of ``columns``, by position: a run reads hundreds of
    thousands of contacts, and a dictionary per row cost as much as the query. A column
    left out reads as ``_READ_DEFAULTS`` says."""
    missing = [name for name in _READ_DEFAULTS if name not in columns]
    tail = tuple(_READ_DEFAULTS[name] for name in missing)
    at = {name: position for position, name in enumerate((*columns, *missing))}
    # Contact's first fields, in its order: the id, then the attributes a person gives.
    plain = itemgetter(*(at[name] for name in ("id", *CONTACT_ATTRIBUTES)))
    make: Callable[..., Contact] = Contact  # the first fields go by position
    custom, bant, stage, score = at["custom"], at["bant"], at["stage"], at["score"]
    consent_email, consent_sms = at["consent_email"], at["consent_sms"]
    basis_email, basis_sms = at["basis_email"], at["basis_sms"]
    fit, interest, temperature = at["fit"], at["interest"], at["temperature"]
    deal_band, source, forgotten_at = at["deal_band"], at["source"], at["forgotten_at"]
    last_interest_at = at["last_interest_at"]

    def read(row: Sequence[Any]) -> Contact:
        values = (*row, *tail) if tail else row
        facts = values[bant] or {}
        return make(
            *plain(values),
            custom=dict(values[custom] or {}),
            consent=Consent(
                email=bool(values[consent_email]),
                sms=bool(values[consent_sms]),
                email_basis=values[basis_email] or "legitimate_interest",
                sms_basis=values[basis_sms] or "none",
            ),
            bant=Bant(**{k: v for k, v in facts.items() if k in BANT_FACTS}),
            stage=_member(Stage, values[stage] or "contact"),
            score=int(values[score] or 0),
            fit=float(values[fit] or 0.0),
            interest=float(values[interest] or 0.0),
            temperature=_member(Temperature, values[temperature] or "cold"),
            deal_band=_member(DealBand, values[deal_band] or "medium"),
            last_interest_at=values[last_interest_at],
            source=values[source],
            forgotten_at=values[forgotten_at],
        )

    return read


def contact_from_row(row: Mapping[str, Any]) -> Contact:
    """A domain contact from a ``contacts`` row (any of its columns, by name)."""
    known = {name: value for name, value in row.items() if name in _READ_DEFAULTS}
    return contact_reader(tuple(known))(tuple(known.values()))


def _scored(row: Any) -> ScoredContact:
    return ScoredContact(
        contact_from_row(row),
        InterestState.from_json(row["interest_state"]),
        list(row["pending_events"] or []),
        row["stage_changed_at"],
    )


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class SqlContacts:
    """The contact repository on a SQLAlchemy connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def find_existing(
        self, *, emails: Sequence[str], external_ids: Sequence[str]
    ) -> dict[tuple[str, str], StoredContact]:
        c = contacts.c
        columns = (c.id, c.email, c.external_id, c.row_hash, c.stage)
        found: dict[tuple[str, str], StoredContact] = {}
        for column, values in ((c.email, emails), (c.external_id, external_ids)):
            for chunk in _chunks(sorted(set(values))):
                for id_, email, external_id, row_hash, stage in self._db.execute(
                    sa.select(*columns).where(column.in_(chunk))
                ):
                    stored = StoredContact(id_, email, external_id, row_hash, stage)
                    if email:
                        found[("email", email)] = stored
                    if external_id:
                        found[("external_id", external_id)] = stored
        return found

    def load_details(self, stored: Sequence[StoredContact]) -> dict[int, StoredContact]:
        rows = self._rows([s.id for s in stored])
        return {
            id_: StoredContact(
                id=id_,
                email=row["email"],
                external_id=row["external_id"],
                row_hash=row["row_hash"],
                stage=row["stage"],
                interest_state=row["interest_state"] or {},
                bant=row["bant"] or {},
                attributes={name: row[name] for name in ATTRIBUTE_COLUMNS},
            )
            for id_, row in rows.items()
        }

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            execute_many(self._db, contacts.insert(), rows)

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        update_rows(self._db, contacts, rows, id_key="id")

    def save(
        self, inserts: Sequence[Mapping[str, Any]], updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], str]]:
        """Write the rows together in a savepoint; if the database refuses that, row by
        row, so that one refused row costs no other."""
        try:
            with self._db.begin_nested():
                self.add_many(inserts)
                self.update_many(updates)
        except sa.exc.DBAPIError:
            pass
        else:
            return []
        refused: list[tuple[Mapping[str, Any], str]] = []
        for write, rows in ((self.add_many, inserts), (self.update_many, updates)):
            for row in rows:
                try:
                    with self._db.begin_nested():
                        write([row])
                except sa.exc.DBAPIError as exc:
                    lines = str(exc.orig).strip().splitlines()
                    refused.append((row, f"refused by the database: {lines[0] if lines else ''}"))
        return refused

    def resolve_refs(self, refs: Sequence[str]) -> dict[str, int]:
        """Contact ids for references that are emails, phone numbers, ids or external ids
        (a reference nobody matches is left out)."""
        emails = [r.lower() for r in refs if "@" in r]
        phones = [r for r in refs if r.startswith("+")]
        ids = [number for number in (db_id(r) for r in refs) if number is not None]
        others = [r for r in refs if "@" not in r and not r.startswith("+")]
        found: dict[str, int] = {}
        c = contacts.c
        for column, values in ((c.email, emails), (c.phone, phones), (c.external_id, others)):
            for chunk in _chunks(values):
                query = sa.select(c.id, column).where(column.in_(chunk))
                for contact_id, value in self._db.execute(query).all():
                    found.setdefault(value, contact_id)
        for chunk in _chunks(ids):
            for row in self._db.execute(sa.select(c.id).where(c.id.in_(chunk))):
                found.setdefault(str(row.id), row.id)
        keyed = {ref: ref.lower() if "@" in ref else ref for ref in refs}
        return {ref: found[key] for ref, key in keyed.items() if key in found}

    def fading(self, *, after_id: int, scored_before: datetime, limit: int) -> list[Fading]:
        """Contacts with interest points not re-scored since ``scored_before``, by id after
        ``after_id``."""
        c = contacts.c
        query = (
            sa.select(c.id, c.fit, c.interest_state, c.score, c.temperature)
            .where(
                c.id > after_id,
                INTERESTED,  # the WHERE of ix_contacts_interested
                sa.or_(c.scored_at.is_(None), c.scored_at < scored_before),
            )
            .order_by(c.id)
            .limit(limit)
        )
        return [
            Fading(id_, fit, InterestState.from_json(state), score, Temperature(temperature))
            for id_, fit, state, score, temperature in self._db.execute(query)
        ]

    def quiet_prospects(self, *, since_before: datetime) -> list[int]:
        """Prospects whose last interest (else their promotion) is older than the cutoff."""
        since = sa.func.coalesce(contacts.c.last_interest_at, contacts.c.stage_changed_at)
        query = sa.select(contacts.c.id).where(
            contacts.c.stage == Stage.PROSPECT.value, since < since_before
        )
        return [row.id for row in self._db.execute(query).all()]

    def rules_pending(self) -> list[int]:
        """Contacts whose inputs changed since the stage rules last looked at them."""
        query = sa.select(contacts.c.id).where(contacts.c.rules_pending.is_(True))
        return [row.id for row in self._db.execute(query).all()]

    def lock(self, contact_ids: Sequence[int]) -> list[int]:
        """Lock these contacts until the transaction ends (PostgreSQL row locks, in id
        order; SQLite serialises writers already); returns the ids."""
        if self._db.dialect.name != "postgresql":
            return list(contact_ids)
        query = (
            sa.select(contacts.c.id)
            .where(any_of(self._db, contacts.c.id, contact_ids))
            .order_by(contacts.c.id)
            .with_for_update()
        )
        return [row.id for row in self._db.execute(query).all()]

    def for_run(self, ids: Sequence[int]) -> dict[int, Contact]:
        """What a run needs of these contacts (``RUN_COLUMNS``), by id."""
        read = contact_reader(RUN_COLUMNS)
        return {row[0]: read(row) for row in self._read(ids, RUN_COLUMNS)}

    def for_sending(self, ids: Sequence[int]) -> dict[int, ScoredContact]:
        """What a run needs of these contacts to send and re-score them, by id."""
        read = contact_reader(RUN_COLUMNS)
        state = len(RUN_COLUMNS)  # interest_state comes after them
        return {
            row[0]: ScoredContact(read(row), InterestState.from_json(row[state]))
            for row in self._read(ids, (*RUN_COLUMNS, "interest_state"))
        }

    def scored(self, ids: Sequence[int]) -> dict[int, ScoredContact]:
        """These contacts with their scoring state, by id."""
        read = contact_reader(SCORED_COLUMNS)
        state, pending, changed = (
            SCORED_COLUMNS.index(name)
            for name in ("interest_state", "pending_events", "stage_changed_at")
        )
        return {
            row[0]: ScoredContact(
                read(row),
                InterestState.from_json(row[state]),
                list(row[pending] or []),
                row[changed],
            )
            for row in self._read(ids, SCORED_COLUMNS)
        }

    def in_account(self, account: str, *, limit: int = 1000) -> list[Contact]:
        """The contacts of an account (its key, ``domain/accounts.py``), by id."""
        query = (
            sa.select(*[contacts.c[name] for name in RUN_COLUMNS])
            .where(contacts.c.account == account)
            .order_by(contacts.c.id)
            .limit(limit)
        )
        return [contact_from_row(dict(row)) for row in self._db.execute(query).mappings()]

    def get(self, ref: str) -> Contact | None:
        found = self.find(ref)
        return found.contact if found is not None else None

    def find(self, ref: str) -> ScoredContact | None:
        """A contact by id, email or external id, with its scoring state."""
        ref = ref.strip()
        condition = sa.or_(contacts.c.email == ref.lower(), contacts.c.external_id == ref)
        if db_id(ref) is not None:
            condition = sa.or_(condition, contacts.c.id == db_id(ref))
        rows = self._db.execute(sa.select(contacts).where(condition)).mappings().all()
        if not rows:
            return None
        # An id wins over an external id that happens to look like one.
        rows = sorted(rows, key=lambda r: 0 if str(r["id"]) == ref else 1)
        return _scored(rows[0])

    def _rows(
        self, ids: Sequence[int], columns: Sequence[str] | None = None
    ) -> dict[int, dict[str, Any]]:
        """Stored rows for ``ids`` (every column, or only ``columns`` and the id)."""
        selected = [contacts.c[name] for name in columns] if columns else list(contacts.c)
        if columns and "id" not in columns:
            selected.insert(0, contacts.c.id)
        keys = [column.key for column in selected]
        # zipped: faster than dict() of each row's mapping
        rows = (dict(zip(keys, row, strict=True)) for row in self._read(ids, selected))
        return {row["id"]: row for row in rows}

    def _read(self, ids: Sequence[int], columns: Sequence[str | sa.Column[Any]]) -> Iterator[Any]:
        """The rows of ``columns`` for ``ids`` (each once), a chunk of ids at a time."""
        selected = [contacts.c[c] if isinstance(c, str) else c for c in columns]
        unique = sorted(set(ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            query = sa.select(*selected).where(any_of(self._db, contacts.c.id, chunk))
            yield from self._db.execute(query).all()

    def add_stage_changes(self, contact_id: int, changes: Sequence[StageChange]) -> None:
        if not changes:
            return
        self._db.execute(
            stage_history.insert(),
            [
                {
                    "contact_id": contact_id,
                    "from_stage": change.from_stage.value,
                    "to_stage": change.to_stage.value,
                    "reason": change.reason,
                    "event": change.event,
                    "at": change.at,
                }
                for change in changes
            ],
        )
        last = changes[-1]
        self._db.execute(
            contacts.update()
            .where(contacts.c.id == contact_id)
            .values(stage=last.to_stage.value, stage_changed_at=last.at, updated_at=last.at)
        )

    def stage_history(self, contact_id: int) -> list[StageChange]:
        """Every stage change of a contact, oldest first."""
        h = stage_history.c
        query = (
            sa.select(h.from_stage, h.to_stage, h.reason, h.at, h.event)
            .where(h.contact_id == contact_id)
            .order_by(h.at, h.id)
        )
        return [
            StageChange(Stage(old), Stage(new), reason, at, event)
            for old, new, reason, at, event in self._db.execute(query)
        ]

    def iter_contacts(self, *, batch: int = 5000) -> Iterator[Contact]:
        """Every contact, by id, read ``batch`` rows at a time."""
        last = 0
        while True:
            query = (
                sa.select(contacts).where(contacts.c.id > last).order_by(contacts.c.id).limit(batch)
            )
            rows = self._db.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                yield contact_from_row(dict(row))
            last = rows[-1]["id"]

    def count(self) -> int:
        return int(self._db.execute(sa.select(sa.func.count()).select_from(contacts)).scalar_one())
