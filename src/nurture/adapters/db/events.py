"""Inbound events: stored first (deduplicated by provider event id), applied after."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nurture.adapters.db.bulk import any_of, execute_many, update_rows
from nurture.adapters.db.tables import contacts, events, score_events
from nurture.domain.events import EventStatus, StoredEvent
from nurture.domain.records import field_names
from nurture.ports import ScorePoint

__all__ = ["SqlEvents"]


class SqlEvents:
    """Event rows and the score ledger."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def store(self, new: Sequence[StoredEvent]) -> tuple[int, list[tuple[int, str]]]:
        """Insert events not seen before (by provider and provider event id). Returns how
        many were new, and the rows the database refused (index, reason): the batch is
        tried whole, then row by row, each in a savepoint, so one bad row costs no other.

        A ``contact_id`` that names no contact (a contact removed since the message went
        out) is kept in the payload as ``_claimed_contact_id``; the event is stored and
        later marked unmatched.
        """
        return self._insert([event.as_row() for event in new])

    def _insert(self, rows: list[dict[str, Any]]) -> tuple[int, list[tuple[int, str]]]:
        if not rows:
            return 0, []
        rows = self._known_contacts(rows)
        new, failures = 0, []
        try:
            with self._db.begin_nested():
                return self._count_inserted(rows), []
        except sa.exc.DBAPIError:
            pass
        for index, row in enumerate(rows):
            try:
                with self._db.begin_nested():
                    new += self._count_inserted([row])
            except sa.exc.DBAPIError as exc:
                failures.append((index, _reason(exc)))
        return new, failures

    def _count_inserted(self, rows: list[dict[str, Any]]) -> int:
        """Insert the rows whose provider id is new; how many were."""
        postgres = self._db.dialect.name == "postgresql"
        module: Any = postgresql if postgres else sqlite
        statement = module.insert(events).on_conflict_do_nothing(
            index_elements=["provider", "provider_event_id"]
        )
        if postgres:
            # RETURNING counts what was really inserted: the rowcount of a batch is -1
            # there, and a conflict skipped is no row.
            return len(self._db.execute(statement.returning(events.c.id), rows).all())
        # SQLite counts every row changed by an executemany, a skipped conflict none.
        return execute_many(self._db, statement, rows)

    def _known_contacts(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        claimed = {row["contact_id"] for row in rows if row.get("contact_id") is not None}
        if not claimed:
            return list(rows)
        query = sa.select(contacts.c.id).where(any_of(self._db, contacts.c.id, sorted(claimed)))
        known = set(self._db.execute(query).scalars())
        out = []
        for row in rows:
            if row.get("contact_id") is not None and row["contact_id"] not in known:
                payload = {**row["payload"], "_claimed_contact_id": row["contact_id"]}
                out.append({**row, "contact_id": None, "payload": payload})
            else:
                out.append(row)
        return out

    def quarantine(self, items: Sequence[dict[str, str]], *, at: datetime) -> None:
        """Keep what could not be read or stored (``origin``, ``error``, ``raw``: what was
        received) as ``failed`` events, so that nothing is lost and ops see it in
        ``nurture events list --failed``; the same item quarantined twice (a retry) is
        kept once."""
        rows = []
        for item in items:
            key = f"{item['origin']}|{item['error']}|{item.get('raw', '')}"
            digest = hashlib.sha256(key.encode()).hexdigest()
            rows.append(
                {
                    "provider": "quarantine",
                    "provider_event_id": digest[:40],
                    "type": "unreadable",
                    "occurred_at": at,
                    "received_at": at,
                    "payload": {"origin": item["origin"][:300], "raw": item.get("raw", "")},
                    "status": EventStatus.FAILED,
                    "error": item["error"][:500],
                    "applied_at": at,
                }
            )
        self._insert(rows)

    def failed(self, *, limit: int = 200) -> list[StoredEvent]:
        """Quarantined events, newest first."""
        return self._with_status(EventStatus.FAILED, limit)

    def unmatched(self, *, limit: int = 200) -> list[StoredEvent]:
        """Events that matched no contact, newest first."""
        return self._with_status(EventStatus.UNMATCHED, limit)

    def _with_status(self, status: str, limit: int) -> list[StoredEvent]:
        query = (
            sa.select(events)
            .where(events.c.status == status)
            .order_by(events.c.received_at.desc(), events.c.id.desc())
            .limit(limit)
        )
        return [StoredEvent.from_row(row) for row in self._db.execute(query).mappings()]

    def pending(self, *, limit: int) -> list[StoredEvent]:
        """Events stored but not applied yet, oldest first."""
        # The columns in field order, so that each row builds its event positionally.
        query = (
            sa.select(*(events.c[name] for name in field_names(StoredEvent)))
            .where(events.c.status == EventStatus.PENDING)
            .order_by(events.c.occurred_at, events.c.id)
            .limit(limit)
        )
        if self._db.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [StoredEvent(*row) for row in self._db.execute(query)]

    def mark(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record each event's outcome: ``id``, ``status``, ``applied_at``, and whichever
        of ``contact_id``, ``touch_id`` and ``error`` changed; rows are grouped by the
        columns they set."""
        if not rows:
            return
        update_rows(self._db, events, rows, id_key="id")

    def scrub(self, ids: Sequence[int]) -> None:
        """Empty these events of anything personal (their payload and address)."""
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            self._db.execute(
                events.update().where(events.c.id.in_(chunk)).values(payload={}, address=None)
            )

    def applied_history(self, contact_ids: Sequence[int]) -> list[tuple[int, str, datetime]]:
        """(contact id, type, occurred at) of every applied event of these contacts."""
        out: list[tuple[int, str, datetime]] = []
        for start in range(0, len(contact_ids), 500):
            query = sa.select(events.c.contact_id, events.c.type, events.c.occurred_at).where(
                events.c.contact_id.in_(list(contact_ids[start : start + 500])),
                events.c.status == EventStatus.APPLIED,
            )
            out += [(row[0], row[1], row[2]) for row in self._db.execute(query)]
        return out

    def add_points(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append to the score ledger: ``contact_id``, ``event_id``, ``event_type``,
        ``points``, ``occurred_at``."""
        if rows:
            execute_many(self._db, score_events.insert(), rows)

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[StoredEvent]:
        """A contact's events, newest first."""
        query = (
            sa.select(events)
            .where(events.c.contact_id == contact_id)
            .order_by(events.c.occurred_at.desc(), events.c.id.desc())
            .limit(limit)
        )
        return [StoredEvent.from_row(row) for row in self._db.execute(query).mappings()]

    def score_history(self, contact_id: int) -> list[ScorePoint]:
        """Every interest point a contact earned, oldest first."""
        s = score_events.c
        query = (
            sa.select(s.event_type, s.points, s.occurred_at, s.event_id)
            .where(s.contact_id == contact_id)
            .order_by(s.occurred_at, s.id)
        )
        return [ScorePoint(*row) for row in self._db.execute(query).all()]

    def count_pending(self) -> int:
        """Events waiting to be applied."""
        query = (
            sa.select(sa.func.count())
            .select_from(events)
            .where(events.c.status == EventStatus.PENDING)
        )
        return int(self._db.execute(query).scalar_one())

    def stored_since(self, since: datetime) -> int:
        """Events received since ``since``."""
        query = sa.select(sa.func.count()).select_from(events).where(events.c.received_at >= since)
        return int(self._db.execute(query).scalar_one())


def _reason(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()
    return f"refused by the database: {text[0] if text else type(exc.orig).__name__}"[:500]
