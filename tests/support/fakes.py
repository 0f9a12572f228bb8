"""In-memory fakes of the ports, for unit tests of the use cases (no database, no Prefect).

Every repository keeps its rows in plain dicts; the unit of work snapshots them at each
commit, so a rollback (or leaving without a commit) really forgets, and a savepoint really
undoes only what failed inside it: the exactly-once protocol can be tested here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from nurture.adapters.db.contacts import contact_from_row
from nurture.domain.audit import AuditEntry, from_journal
from nurture.domain.contacts import CONTACT_ATTRIBUTES, Contact
from nurture.domain.enrollment import Enrollment, EnrollmentStatus
from nurture.domain.events import EventStatus, StoredEvent
from nurture.domain.journal import JournalEntry
from nurture.domain.lifecycle import StageChange
from nurture.domain.privacy import ConsentRecord
from nurture.domain.scoring import InterestState, ScoredContact
from nurture.domain.sequences import Sequence as SequenceSpec
from nurture.domain.tasks import CallTask, TaskStatus
from nurture.domain.touches import ACTIVE, COUNTED, Touch, TouchStatus
from nurture.errors import NurtureError
from nurture.ports import (
    Erased,
    OutgoingEmail,
    OutgoingSms,
    QueuedCall,
    ScorePoint,
    SendReceipt,
    StoredContact,
    Suppression,
)

__all__ = ["FakeEmail", "FakeSms", "FakeUnitOfWork"]

#: What the database fills in when a contact row leaves it out.
_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(CONTACT_ATTRIBUTES),
    "stage": "contact",
    "score": 0,
    "fit": 0.0,
    "interest": 0.0,
    "temperature": "cold",
    "interest_state": {},
    "bant": {},
    "custom": {},
    "consent_email": True,
    "consent_sms": False,
    "basis_email": "legitimate_interest",
    "basis_sms": "none",
    "source": None,
    "forgotten_at": None,
    "rules_pending": False,
    "pending_events": [],
    "deal_band": "medium",
    **dict.fromkeys(
        ("stage_changed_at", "last_interest_at", "scored_at", "row_hash", "created_at")
    ),
}


class FakeContacts:
    """Contacts in a dict, keyed by id."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.history: list[tuple[int, StageChange]] = []

    def _stored(self, row: Mapping[str, Any]) -> StoredContact:
        return StoredContact(
            id=row["id"],
            email=row.get("email"),
            external_id=row.get("external_id"),
            row_hash=row.get("row_hash"),
            stage=row.get("stage", "contact"),
            interest_state=row.get("interest_state") or {},
            bant=row.get("bant") or {},
            attributes={"id": row["id"], **{k: row.get(k) for k in CONTACT_ATTRIBUTES}},
        )

    def find_existing(
        self, *, emails: Sequence[str], external_ids: Sequence[str]
    ) -> dict[tuple[str, str], StoredContact]:
        found = {}
        for row in self.rows.values():
            if row.get("email") in emails:
                found[("email", row["email"])] = self._stored(row)
            if row.get("external_id") in external_ids:
                found[("external_id", row["external_id"])] = self._stored(row)
        return found

    def load_details(self, stored: Sequence[StoredContact]) -> dict[int, StoredContact]:
        return {s.id: self._stored(self.rows[s.id]) for s in stored}

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            new_id = len(self.rows) + 1
            self.rows[new_id] = {**_DEFAULTS, **row, "id": new_id}

    def add(self, **row: Any) -> int:
        """Store one contact; returns its id."""
        self.add_many([row])
        return len(self.rows)

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            self.rows[row["id"]].update(row)

    def save(
        self, inserts: Sequence[Mapping[str, Any]], updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], str]]:
        self.add_many(inserts)
        self.update_many(updates)
        return []

    def resolve_refs(self, refs: Sequence[str]) -> dict[str, int]:
        out = {}
        for ref in refs:
            for row in self.rows.values():
                if ref in (str(row["id"]), row.get("email"), row.get("phone")):
                    out[ref] = row["id"]
        return out

    def lock(self, contact_ids: Sequence[int]) -> list[int]:
        return [i for i in contact_ids if i in self.rows]

    def for_run(self, ids: Sequence[int]) -> dict[int, Contact]:
        return {i: contact_from_row(self.rows[i]) for i in ids if i in self.rows}

    def for_sending(self, ids: Sequence[int]) -> dict[int, ScoredContact]:
        return self.scored(ids)

    def scored(self, ids: Sequence[int]) -> dict[int, ScoredContact]:
        return {i: self._scored(self.rows[i]) for i in ids if i in self.rows}

    def find(self, ref: str) -> ScoredContact | None:
        for row in self.rows.values():
            if ref in (str(row["id"]), row.get("email"), row.get("external_id")):
                return self._scored(row)
        return None

    def in_account(self, account: str, *, limit: int = 1000) -> list[Contact]:
        return [
            contact_from_row(row)
            for _, row in sorted(self.rows.items())
            if row.get("account") == account
        ][:limit]

    def get(self, ref: str) -> Contact | None:
        found = self.find(ref)
        return found.contact if found else None

    def stage_history(self, contact_id: int) -> list[StageChange]:
        return [change for owner, change in self.history if owner == contact_id]

    @staticmethod
    def _scored(row: Mapping[str, Any]) -> ScoredContact:
        return ScoredContact(
            contact_from_row(row),
            InterestState.from_json(row["interest_state"]),
            list(row["pending_events"] or []),
            row["stage_changed_at"],
        )

    def add_stage_changes(self, contact_id: int, changes: Sequence[StageChange]) -> None:
        self.history += [(contact_id, change) for change in changes]
        if changes:
            self.rows[contact_id]["stage"] = changes[-1].to_stage.value

    def rules_pending(self) -> list[int]:
        return sorted(i for i, row in self.rows.items() if row.get("rules_pending"))

    def iter_contacts(self, *, batch: int = 5000) -> Iterator[Contact]:
        for i in sorted(self.rows):
            yield contact_from_row(self.rows[i])

    def count(self) -> int:
        return len(self.rows)


class FakeEnrollments:
    """Enrollments by id."""

    def __init__(self) -> None:
        self.rows: dict[int, Enrollment] = {}

    def add_many(self, new: Sequence[Enrollment]) -> list[int]:
        ids = []
        for enrollment in new:
            stored = replace(enrollment, id=len(self.rows) + 1)
            self.rows[stored.id] = stored
            ids.append(stored.id)
        return ids

    def running_contacts(self, sequence_id: str | None, contact_ids: Iterable[int]) -> set[int]:
        wanted = set(contact_ids)
        return {
            e.contact_id
            for e in self.rows.values()
            if sequence_id in (None, e.sequence_id) and e.running and e.contact_id in wanted
        }

    def running_in(self, sequence_id: str) -> list[Enrollment]:
        return [
            replace(e) for e in self.rows.values() if e.sequence_id == sequence_id and e.running
        ]

    def _due(self, now: datetime) -> list[Enrollment]:
        return [
            e
            for e in self.rows.values()
            if e.status == EnrollmentStatus.ACTIVE
            and e.next_due_at is not None
            and e.next_due_at <= now
        ]

    def due_contacts(self, now: datetime) -> list[int]:
        return sorted({e.contact_id for e in self._due(now)})

    def due_for(self, contact_ids: Sequence[int], now: datetime) -> list[Enrollment]:
        wanted = set(contact_ids)
        due = [replace(e) for e in self._due(now) if e.contact_id in wanted]
        return sorted(due, key=lambda e: (e.contact_id, -e.priority, e.next_due_at, e.id))

    def advance_planned(self, moves: Sequence[dict[str, Any]]) -> None:
        for move in moves:
            enrollment = self.rows[move["_id"]]
            if enrollment.step_index == move["_index"]:
                for key, value in move.items():
                    if not key.startswith("_"):
                        setattr(enrollment, key, value)

    def count_due(self, now: datetime) -> int:
        return len(self._due(now))

    def due_by_sequence(self, now: datetime) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self._due(now):
            out[e.sequence_id] = out.get(e.sequence_id, 0) + 1
        return out

    def due_again(self, ids: Sequence[int], *, at: datetime) -> None:
        for i in ids:
            enrollment = self.rows[i]
            if enrollment.running and enrollment.next_due_at is None:
                enrollment.next_due_at = at

    def reschedule(self, rows: Sequence[dict[str, Any]]) -> None:
        for update in rows:
            enrollment = self.rows[update["_id"]]
            if enrollment.status == EnrollmentStatus.ACTIVE:
                enrollment.next_due_at = update["next_due_at"]
                enrollment.last_touch_at = update["last_touch_at"]

    def statuses(self, ids: Sequence[int]) -> dict[int, tuple[EnrollmentStatus, str | None]]:
        return {i: (self.rows[i].status, self.rows[i].exit_reason) for i in ids}

    def for_contact(self, contact_id: int) -> list[Enrollment]:
        mine = [replace(e) for e in self.rows.values() if e.contact_id == contact_id]
        return sorted(mine, key=lambda e: e.id, reverse=True)

    def move(self, enrollment_id: int, *, version: int, step_index: int) -> None:
        self.rows[enrollment_id].version = version
        self.rows[enrollment_id].step_index = step_index

    def pause(
        self,
        enrollment_id: int,
        *,
        at: datetime,
        until: datetime | None,
        step_index: int,
        next_due_at: datetime | None,
    ) -> None:
        enrollment = self.rows[enrollment_id]
        if enrollment.running:
            enrollment.status, enrollment.paused_at = EnrollmentStatus.PAUSED, at
            enrollment.paused_until, enrollment.step_index = until, step_index
            enrollment.next_due_at = next_due_at

    def resume(self, enrollment_id: int, *, next_due_at: datetime) -> None:
        enrollment = self.rows[enrollment_id]
        if enrollment.status == EnrollmentStatus.PAUSED:
            enrollment.status, enrollment.next_due_at = EnrollmentStatus.ACTIVE, next_due_at
            enrollment.paused_at = enrollment.paused_until = None

    def find(
        self,
        *,
        contact_ids: Sequence[int] | None = None,
        sequence_id: str | None = None,
        statuses: Iterable[EnrollmentStatus] | None = None,
        limit: int = 1000,
    ) -> list[Enrollment]:
        wanted = set(statuses) if statuses is not None else None
        found = [
            replace(e)
            for _, e in sorted(self.rows.items(), reverse=True)
            if (contact_ids is None or e.contact_id in contact_ids)
            and (sequence_id is None or e.sequence_id == sequence_id)
            and (wanted is None or e.status in wanted)
        ]
        return found[:limit]

    def pauses_ending(self, by: datetime) -> list[Enrollment]:
        return [
            replace(e)
            for _, e in sorted(self.rows.items())
            if e.status == EnrollmentStatus.PAUSED and e.paused_until and e.paused_until <= by
        ]

    def end(
        self, enrollment_id: int, *, status: EnrollmentStatus, reason: str | None, at: datetime
    ) -> None:
        enrollment = self.rows[enrollment_id]
        enrollment.status, enrollment.exit_reason = status, reason
        enrollment.ended_at, enrollment.next_due_at = at, None


class FakeTouches:
    """Touches by id, unique by key."""

    def __init__(self) -> None:
        self.rows: dict[int, Touch] = {}

    def insert_new(self, new: Sequence[Touch]) -> None:
        keys = {t.touch_key for t in self.rows.values()}
        for touch in new:
            if touch.touch_key not in keys:
                stored = replace(touch, id=len(self.rows) + 1)
                self.rows[stored.id] = stored
                keys.add(touch.touch_key)

    def counted_since(
        self, contact_ids: Iterable[int], since: datetime
    ) -> dict[int, list[datetime]]:
        wanted, out = set(contact_ids), {}
        for t in self.rows.values():
            if t.contact_id in wanted and t.deliver_at >= since and t.status in COUNTED:
                out.setdefault(t.contact_id, []).append(t.deliver_at)
        return out

    def claim(
        self, *, worker: str, due_by: datetime, claimed_at: datetime, limit: int
    ) -> list[Touch]:
        due = [t for t in self.rows.values() if t.status == TouchStatus.SCHEDULED]
        due = [t for t in due if t.deliver_at <= due_by]
        due.sort(key=lambda t: (-t.priority, t.deliver_at, t.id))
        for t in due[:limit]:
            t.status, t.claimed_by, t.claimed_at = TouchStatus.SENDING, worker, claimed_at
            t.attempts += 1
        return sorted((replace(t) for t in due[:limit]), key=lambda t: t.id)

    def claimed_ids(self, worker: str, keys: Sequence[str]) -> dict[str, int]:
        wanted = set(keys)
        return {
            t.touch_key: t.id
            for t in self.rows.values()
            if t.touch_key in wanted and t.status == TouchStatus.SENDING and t.claimed_by == worker
        }

    def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            touch = self.rows[row["id"]]
            for key, value in row.items():
                setattr(touch, key, TouchStatus(value) if key == "status" else value)

    def scheduled(
        self,
        *,
        enrollment_ids: Iterable[int] | None = None,
        contact_id: int | None = None,
        channel: str | None = None,
    ) -> list[Touch]:
        wanted = set(enrollment_ids) if enrollment_ids is not None else None
        return [
            replace(t)
            for t in self.rows.values()
            if t.status == TouchStatus.SCHEDULED
            and (wanted is None or t.enrollment_id in wanted)
            and (contact_id is None or t.contact_id == contact_id)
            and (channel is None or t.channel == channel)
        ]

    def due(self, by: datetime) -> list[Touch]:
        return [replace(t) for t in self.scheduled() if t.deliver_at <= by]

    def delivery_times(self, by: datetime) -> list[datetime]:
        return [t.deliver_at for t in self.due(by)]

    def count_due(self, by: datetime) -> int:
        return len(self.due(by))

    def with_status(self, status: TouchStatus, *, limit: int = 10_000) -> list[Touch]:
        return [
            replace(t) for t in sorted(self.rows.values(), key=lambda t: t.id) if t.status == status
        ][:limit]

    def by_provider_id(self, message_id: str) -> Touch | None:
        found = [t for t in self.rows.values() if t.provider_message_id == message_id]
        return replace(found[0]) if found else None

    def by_message_ids(self, message_ids: Sequence[str]) -> list[Touch]:
        return [replace(t) for t in self.rows.values() if t.message_id in message_ids]

    def get(self, touch_id: int) -> Touch | None:
        touch = self.rows.get(touch_id)
        return replace(touch) if touch else None

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[Touch]:
        mine = [replace(t) for t in self.rows.values() if t.contact_id == contact_id]
        return sorted(mine, key=lambda t: (t.deliver_at, t.id), reverse=True)[:limit]

    def active(self) -> list[Touch]:
        """Touches still in nurture's hands (a test helper)."""
        return [t for t in self.rows.values() if t.status in ACTIVE]


class FakeEvents:
    """Stored events by id, unique by (provider, provider event id)."""

    def __init__(self) -> None:
        self.rows: dict[int, StoredEvent] = {}
        self.points: list[dict[str, Any]] = []

    def store(self, new: Sequence[StoredEvent]) -> tuple[int, list[tuple[int, str]]]:
        seen = {(e.provider, e.provider_event_id) for e in self.rows.values()}
        count = 0
        for event in new:
            if (event.provider, event.provider_event_id) in seen:
                continue
            stored = replace(event, id=len(self.rows) + 1)
            self.rows[stored.id] = stored
            seen.add((stored.provider, stored.provider_event_id))
            count += 1
        return count, []

    def quarantine(self, items: Sequence[dict[str, str]], *, at: datetime) -> None:
        self.store(
            [
                StoredEvent(
                    id=0,
                    provider="quarantine",
                    provider_event_id=f"{i['origin']}|{i['error']}",
                    type="unreadable",
                    occurred_at=at,
                    received_at=at,
                    status=EventStatus.FAILED,
                    payload={"origin": i["origin"], "raw": i.get("raw", "")},
                    error=i["error"],
                )
                for i in items
            ]
        )

    def _with(self, status: EventStatus) -> list[StoredEvent]:
        return [replace(e) for e in self.rows.values() if e.status == status]

    def failed(self, *, limit: int = 200) -> list[StoredEvent]:
        return self._with(EventStatus.FAILED)[:limit]

    def unmatched(self, *, limit: int = 200) -> list[StoredEvent]:
        return self._with(EventStatus.UNMATCHED)[:limit]

    def pending(self, *, limit: int) -> list[StoredEvent]:
        pending = self._with(EventStatus.PENDING)
        return sorted(pending, key=lambda e: (e.occurred_at, e.id))[:limit]

    def mark(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            event = self.rows[row["id"]]
            for key, value in row.items():
                setattr(event, key, EventStatus(value) if key == "status" else value)

    def scrub(self, ids: Sequence[int]) -> None:
        for event_id in ids:
            self.rows[event_id] = replace(self.rows[event_id], payload={}, address=None)

    def applied_history(self, contact_ids: Sequence[int]) -> list[tuple[int, str, datetime]]:
        wanted = set(contact_ids)
        return [
            (e.contact_id, e.type, e.occurred_at)
            for e in self._with(EventStatus.APPLIED)
            if e.contact_id is not None and e.contact_id in wanted
        ]

    def add_points(self, rows: Sequence[dict[str, Any]]) -> None:
        self.points += rows

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[StoredEvent]:
        return [replace(e) for e in self.rows.values() if e.contact_id == contact_id][:limit]

    def score_history(self, contact_id: int) -> list[ScorePoint]:
        return [
            ScorePoint(p["event_type"], p["points"], p["occurred_at"], p.get("event_id"))
            for p in self.points
            if p["contact_id"] == contact_id
        ]

    def count_pending(self) -> int:
        return len(self._with(EventStatus.PENDING))

    def stored_since(self, since: datetime) -> int:
        return sum(1 for e in self.rows.values() if e.received_at >= since)


class FakeRuns:
    """Runs by id; every run started here is alive until it finishes."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def start(
        self, run_id: str, *, kind: str, as_of: datetime, started_at: datetime, dry_run: bool
    ) -> None:
        self.rows[run_id] = {"id": run_id, "kind": kind, "status": "running", "beat": started_at}

    def beat(self, run_id: str, *, at: datetime) -> None:
        if run_id in self.rows:
            self.rows[run_id]["beat"] = at

    def finish(self, run_id: str, *, status: str, at: datetime, summary: dict[str, Any]) -> None:
        self.rows[run_id].update(status=status, summary=summary)

    def parts(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {"id": i, "status": r["status"], "summary": r.get("summary", {})}
            for i, r in sorted(self.rows.items())
            if i.startswith(f"{run_id}/")
        ]

    def live(self, *, stale_before: datetime) -> set[str]:
        return {i for i, r in self.rows.items() if r["status"] == "running"}


class FakeTasks:
    """Call tasks by id."""

    def __init__(self) -> None:
        self.rows: dict[int, CallTask] = {}

    def add_many(self, new: Sequence[CallTask]) -> None:
        for task in new:
            stored = replace(task, id=len(self.rows) + 1)
            self.rows[stored.id] = stored

    def queue(
        self, *, owner: str | None = None, status: str | None = "open", limit: int = 500
    ) -> list[QueuedCall]:
        tasks = sorted(
            (
                t
                for t in self.rows.values()
                if (owner is None or t.owner == owner) and (status is None or t.status == status)
            ),
            key=lambda t: (t.due_at, t.id),
        )
        return [QueuedCall(t, None, None, None, None, None, 0, "cold") for t in tasks[:limit]]

    def for_contact(self, contact_id: int) -> list[CallTask]:
        return [replace(t) for _, t in sorted(self.rows.items(), reverse=True)
                if t.contact_id == contact_id]  # fmt: skip

    def for_touch(self, touch_id: int) -> int | None:
        found = [i for i, t in self.rows.items() if t.touch_id == touch_id]
        return found[0] if found else None

    def get(self, task_id: int) -> CallTask | None:
        task = self.rows.get(task_id)
        return replace(task) if task else None

    def close(self, task_id: int, *, outcome: str, note: str | None, at: datetime) -> None:
        task = self.rows[task_id]
        task.status, task.outcome, task.note, task.logged_at = TaskStatus.DONE, outcome, note, at

    def cancel_open(self, contact_id: int, *, touch_ids: Sequence[int] | None, at: datetime) -> int:
        mine = [
            t
            for t in self.rows.values()
            if t.contact_id == contact_id and t.status == TaskStatus.OPEN
            if touch_ids is None or t.touch_id in touch_ids
        ]
        for task in mine:
            task.status = TaskStatus.CANCELLED
        return len(mine)


class FakeJournal:
    """Decisions, in order."""

    def __init__(self) -> None:
        self.rows: list[JournalEntry] = []
        self.audit: list[AuditEntry] = []  # shared with FakePrivacy by the unit of work

    def add(self, kind: str, reason: str, *, at: datetime, **ids: Any) -> None:
        self.add_many([JournalEntry(kind, reason, at, **ids)])

    def add_many(self, entries: Sequence[JournalEntry]) -> None:
        self.rows += [replace(e, id=len(self.rows) + n + 1) for n, e in enumerate(entries)]
        self.audit += [a for a in (from_journal(e, e.actor) for e in entries) if a is not None]

    def for_contact(self, contact_id: int, *, limit: int = 200) -> list[JournalEntry]:
        return [e for e in reversed(self.rows) if e.contact_id == contact_id][:limit]

    def kinds(self) -> list[str]:
        """Every decision's kind, in order (a test helper)."""
        return [e.kind for e in self.rows]


class FakeSequences:
    """Sequence snapshots by (id, version)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], SequenceSpec] = {}

    def register(self, sequence: SequenceSpec, *, now: datetime, file: str | None = None) -> None:
        self.rows.setdefault((sequence.id, sequence.version), sequence)

    def get(self, sequence_id: str, version: int) -> SequenceSpec | None:
        return self.rows.get((sequence_id, version))

    def versions(self, sequence_id: str) -> list[int]:
        return sorted(v for s, v in self.rows if s == sequence_id)


class FakeSuppressions:
    """(channel, address) → reason."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}

    def active(self, channel: str, addresses: Iterable[str | None]) -> dict[str, str]:
        return {a: self.rows[(channel, a)] for a in addresses if a and (channel, a) in self.rows}

    def suppress(
        self, channel: str, address: str, *, reason: str, at: datetime, event_id: int | None = None
    ) -> bool:
        new = (channel, address) not in self.rows
        self.rows.setdefault((channel, address), reason)
        return new

    def lift(self, channel: str, address: str, *, at: datetime) -> bool:
        return self.rows.pop((channel, address), None) is not None

    def for_addresses(self, addresses: Iterable[str | None]) -> list[Suppression]:
        wanted = {a for a in addresses if a}
        since = datetime(2026, 1, 1, tzinfo=UTC)  # the fake keeps no dates
        return [
            Suppression(channel, address, True, reason, since, since)
            for (channel, address), reason in self.rows.items()
            if address in wanted
        ]


class FakePrivacy:
    """Consent history and audit lines in lists; erasure over the other fakes."""

    def __init__(self, state: _State) -> None:
        self._state = state

    def add_consents(self, records: Sequence[ConsentRecord]) -> None:
        self._state.consents += records

    def consents(self, contact_id: int) -> list[ConsentRecord]:
        return [r for r in self._state.consents if r.contact_id == contact_id]

    def audit(self, entries: Sequence[AuditEntry]) -> None:
        self._state.journal.audit += entries

    def audit_for(self, contact_id: int) -> list[AuditEntry]:
        return [a for a in self._state.journal.audit if a.contact_id == contact_id]

    def forgotten(self, candidates: Sequence[str]) -> dict[str, datetime]:
        since = datetime(2026, 1, 1, tzinfo=UTC)  # the fake keeps no dates
        rows = self._state.suppressions.rows
        return {c: since for c in candidates if any(a == c for _, a in rows)}

    def erase(self, contact_id: int, *, hashes: Sequence[tuple[str, str]], at: datetime) -> Erased:
        state, erased = self._state, Erased()
        row = state.contacts.rows[contact_id]
        for key in [k for k in state.suppressions.rows if k[1] in (row["email"], row["phone"])]:
            del state.suppressions.rows[key]
        for channel, digest in hashes:
            state.suppressions.rows[(channel, digest)] = "forgotten"
        touches = [t for t in state.touches.rows.values() if t.contact_id == contact_id]
        erased.email_touches = [t.id for t in touches if t.channel == "email"]
        erased.sms_touches = [t.id for t in touches if t.channel == "sms"]
        for touch in touches:
            touch.address = touch.subject = None
        personal = ("external_id", "email", "phone", "first_name", "last_name", "company")
        row.update(dict.fromkeys(personal), custom={}, bant={}, forgotten_at=at)
        row.update(consent_email=False, consent_sms=False)
        erased.counts["touches"] = len(touches)
        return erased

    def expired(self, *, before: datetime, limit: int = 10_000) -> list[int]:
        state = self._state
        running = {
            e.contact_id for e in state.enrollments.rows.values()
            if e.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)
        }  # fmt: skip
        open_tasks = {t.contact_id for t in state.tasks.rows.values() if t.status == "open"}
        return [
            i for i, row in sorted(state.contacts.rows.items())
            if row.get("forgotten_at") is None and row["stage"] != "customer"
            and (row["last_interest_at"] or row["created_at"]) < before
            and i not in running and i not in open_tasks
        ][:limit]  # fmt: skip

    def count_forgotten(self) -> int:
        return sum(1 for r in self._state.contacts.rows.values() if r.get("forgotten_at"))


@dataclass
class _State:
    contacts: FakeContacts = field(default_factory=FakeContacts)
    enrollments: FakeEnrollments = field(default_factory=FakeEnrollments)
    touches: FakeTouches = field(default_factory=FakeTouches)
    events: FakeEvents = field(default_factory=FakeEvents)
    runs: FakeRuns = field(default_factory=FakeRuns)
    tasks: FakeTasks = field(default_factory=FakeTasks)
    journal: FakeJournal = field(default_factory=FakeJournal)
    sequences: FakeSequences = field(default_factory=FakeSequences)
    suppressions: FakeSuppressions = field(default_factory=FakeSuppressions)
    consents: list[ConsentRecord] = field(default_factory=list)


class FakeUnitOfWork:
    """Every repository in memory. ``commit`` keeps a snapshot; ``rollback`` (and leaving
    the block without a commit) returns to it; a savepoint undoes only what failed in it.
    """

    serialises_writers = False

    def __init__(self) -> None:
        self._state = _State()
        self._committed = copy.deepcopy(self._state)
        self.commits = 0

    contacts = property(lambda self: self._state.contacts)
    enrollments = property(lambda self: self._state.enrollments)
    touches = property(lambda self: self._state.touches)
    events = property(lambda self: self._state.events)
    runs = property(lambda self: self._state.runs)
    tasks = property(lambda self: self._state.tasks)
    journal = property(lambda self: self._state.journal)
    sequences = property(lambda self: self._state.sequences)
    suppressions = property(lambda self: self._state.suppressions)
    privacy = property(lambda self: FakePrivacy(self._state))

    @property
    def reports(self) -> Any:
        raise NotImplementedError("reports read SQL: tested in the integration tier")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        before = copy.deepcopy(self._state)
        try:
            yield
        except BaseException:
            self._state = before
            raise

    @contextmanager
    def reading(self) -> Iterator[Self]:
        self.commit()
        yield self

    def commit(self) -> None:
        self._committed = copy.deepcopy(self._state)
        self.commits += 1

    def rollback(self) -> None:
        self._state = copy.deepcopy(self._committed)


@dataclass
class FakeEmail:
    """An email provider: records what it accepts; ``refuse`` maps an address to the
    error to raise for it (once per send)."""

    sent: list[OutgoingEmail] = field(default_factory=list)
    refuse: dict[str, Exception] = field(default_factory=dict)
    provider: str = "fake"

    def send(self, email: OutgoingEmail) -> SendReceipt:
        if email.to in self.refuse:
            raise self.refuse[email.to]
        self.sent.append(email)
        return SendReceipt(provider=self.provider, message_id=f"em-{email.touch_id}")

    def find(self, touch_id: int) -> list[str] | None:
        return [f"em-{e.touch_id}" for e in self.sent if e.touch_id == touch_id]


@dataclass
class FakeSms:
    """An SMS provider: records what it accepts."""

    sent: list[OutgoingSms] = field(default_factory=list)
    refuse: dict[str, Exception] = field(default_factory=dict)
    provider: str = "fake"

    def send(self, sms: OutgoingSms) -> SendReceipt:
        if sms.to in self.refuse:
            raise self.refuse[sms.to]
        self.sent.append(sms)
        return SendReceipt(provider=self.provider, message_id=f"SM{len(self.sent)}")

    def find(self, sms: OutgoingSms, *, since: datetime) -> list[str] | None:
        return [f"SM{i}" for i, s in enumerate(self.sent, 1) if s.touch_id == sms.touch_id]

    def cancel(self, message_id: str) -> None:
        raise NurtureError("the fake SMS provider schedules nothing")
