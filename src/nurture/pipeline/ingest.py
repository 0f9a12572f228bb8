"""Inbound events: store them (once), then apply them to contacts.

Applying an event updates interest points, BANT facts and opt-outs, ends the enrollments
the event exits, cancels touches that must not go out any more, and runs the stage rules
for the contacts it touched, so that an opt-out at 10:00 stops the email planned for 15:00.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.domain.events import EventStatus, EventType, StoredEvent
from nurture.domain.scoring import ScoredContact, combine, fit_score
from nurture.domain.touches import Touch
from nurture.errors import NurtureError, PayloadError
from nurture.inbound import InboundEvent
from nurture.pipeline.accounts import stop_account
from nurture.pipeline.lifecycle import (
    RunContext,
    evaluate_contacts,
    exit_enrollments,
)
from nurture.pipeline.opt_outs import apply_opt_out, suppress_address
from nurture.pipeline.targets import contacts_of, refuse_forgotten, touches_of
from nurture.ports import UnitOfWork

__all__ = [
    "ApplyReport",
    "IngestReport",
    "StoreReport",
    "apply_pending",
    "ingest_events",
    "store_events",
]

_log = logging.getLogger(__name__)

#: The exit reason an event gives running enrollments (used when a sequence lists it).
EXIT_ON_EVENT = {
    EventType.REPLIED: "replied",
    EventType.MEETING_BOOKED: "meeting_booked",
    EventType.UNSUBSCRIBE: "unsubscribed",
    EventType.EMAIL_BOUNCE: "bounced",
    EventType.SPAM_REPORT: "spam_report",
    EventType.NOT_INTERESTED: "not_interested",
    EventType.EMAIL_CLICK: "clicked",
    EventType.CONTENT_DOWNLOAD: "content_downloaded",
}
_CHUNK = 2000


@dataclass
class ApplyReport:
    """What applying pending events did."""

    applied: int = 0
    unmatched: int = 0
    failed: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    suppressed: int = 0
    #: Events about a forgotten person: emptied and not applied.
    refused: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "applied": self.applied,
            "unmatched": self.unmatched,
            "failed": self.failed,
            "by_type": dict(self.by_type),
            "suppressed": self.suppressed,
            "refused_forgotten": self.refused,
        }


@dataclass
class StoreReport:
    """What storing a batch of events did: new ones, ones seen before, and the ones that
    could not be stored or read (quarantined with their reason)."""

    new: int = 0
    duplicates: int = 0
    quarantined: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """Storing then applying one batch of inbound events."""

    received: int
    stored: StoreReport
    applied: ApplyReport | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; ``applied`` is ``None`` when applying was left to the next run."""
        return {
            "received": self.received,
            "new": self.stored.new,
            "duplicates": self.stored.duplicates,
            "quarantined": len(self.stored.quarantined),
            "applied": self.applied.applied if self.applied else None,
            "failed": self.applied.failed if self.applied else 0,
        }


def store_events(
    *,
    uow: UnitOfWork,
    events: list[InboundEvent],
    now: datetime,
    rejected: Sequence[PayloadError] = (),
) -> StoreReport:
    """Store events not seen before, each on its own: one that the database refuses is
    quarantined with the reason and the others are kept. ``rejected`` are events that
    could not be read at the edge; they are quarantined too, so that nothing is lost."""
    new, failures = uow.events.store([event.stored(received_at=now) for event in events])
    quarantine = [
        {"origin": f"{event.provider} event {event.provider_event_id}", "error": error, "raw": ""}
        for event, error in ((events[index], error) for index, error in failures)
    ]
    quarantine += [
        {"origin": str(error.location or "input"), "error": error.reason, "raw": error.raw or ""}
        for error in rejected
    ]
    uow.events.quarantine(quarantine, at=now)
    return StoreReport(
        new=new,
        duplicates=len(events) - new - len(failures),
        quarantined=[f"{item['origin']}: {item['error']}" for item in quarantine],
    )


def ingest_events(
    *,
    uow: UnitOfWork,
    events: list[InboundEvent],
    ctx: RunContext,
    rejected: Sequence[PayloadError] = (),
) -> IngestReport:
    """Store a batch of inbound events (committed first: once this returns, nothing of
    it can be lost), then apply every pending event. If applying fails as a whole (the
    database went away), the stored events wait for the next run to apply them."""
    stored = store_events(uow=uow, events=events, now=ctx.now, rejected=rejected)
    uow.commit()
    try:
        applied: ApplyReport | None = apply_pending(uow=uow, ctx=ctx)
    except Exception:
        _log.exception("applying events failed; they stay pending for the next run")
        uow.rollback()
        applied = None
    return IngestReport(received=len(events) + len(rejected), stored=stored, applied=applied)


def apply_pending(*, uow: UnitOfWork, ctx: RunContext, commit: bool = True) -> ApplyReport:
    """Apply every pending event, oldest first, in chunks. Each contact's events are
    applied in a savepoint; if one of them fails, they are applied one at a time and the
    event that fails is quarantined (``failed``, with its error) while every other event,
    and every other contact, goes on. An opt-out that fails to apply still suppresses its
    address."""
    report = ApplyReport()
    seen: set[int] = set()
    while True:
        rows = [row for row in uow.events.pending(limit=_CHUNK) if row.id not in seen]
        if not rows:
            return report
        seen.update(row.id for row in rows)
        _apply_chunk(uow, rows, ctx, report)
        if commit:
            uow.commit()


def _apply_chunk(
    uow: UnitOfWork, rows: list[StoredEvent], ctx: RunContext, report: ApplyReport
) -> None:
    touches = touches_of(uow, rows)
    targets = contacts_of(uow, rows, touches)
    people = uow.contacts.scored(sorted(set(targets.values())))
    refused = refuse_forgotten(uow, rows, targets, people, ctx)
    by_contact: dict[int, list[StoredEvent]] = defaultdict(list)
    marks: list[dict[str, Any]] = []
    for row in rows:
        contact_id = targets.get(row.id)
        touch = touches.get(row.id)
        report.by_type[row.type] += 1
        if row.id in refused:
            # Nothing of a forgotten person is kept: the event stays, emptied, as a count.
            marks.append(
                _mark(row, touch, ctx, status=EventStatus.UNMATCHED, error=refused[row.id])
            )
            report.refused += 1
            continue
        if contact_id is not None and contact_id in people:
            by_contact[contact_id].append(row)
            continue
        mark = _mark(row, touch, ctx, status=EventStatus.UNMATCHED, error=_unmatched_reason(row))
        report.unmatched += 1
        try:
            with uow.savepoint():
                report.suppressed += suppress_address(uow, row, ctx)
        except Exception as exc:
            mark.update(status=EventStatus.FAILED, error=_why(exc))
            report.failed += 1
        marks.append(mark)
    for contact_id, events in by_contact.items():
        marks += _apply_isolated(
            uow, people[contact_id], events, touches=touches, ctx=ctx, report=report
        )
    uow.events.mark(marks)
    _evaluate_isolated(uow, list(by_contact), ctx)


def _apply_isolated(
    uow: UnitOfWork,
    person: ScoredContact,
    events: list[StoredEvent],
    *,
    touches: dict[int, Touch],
    ctx: RunContext,
    report: ApplyReport,
) -> list[dict[str, Any]]:
    """Apply one contact's events together, or one by one if that fails."""
    contact_id = person.contact.id
    assert contact_id is not None
    try:
        with uow.savepoint():
            report.suppressed += _apply_to_contact(uow, person, events, touches, ctx)
    except Exception:
        _log.warning("events of contact %s failed together; applying one by one", contact_id)
    else:
        report.applied += len(events)
        return [_mark(event, touches.get(event.id), ctx, contact_id=contact_id) for event in events]
    marks = []
    for event in events:
        mark = _mark(event, touches.get(event.id), ctx, contact_id=contact_id)
        try:
            with uow.savepoint():
                fresh = uow.contacts.scored([contact_id])[contact_id]
                report.suppressed += _apply_to_contact(uow, fresh, [event], touches, ctx)
            report.applied += 1
        except Exception as exc:
            _log.warning("event %s quarantined: %s", event.id, _why(exc))
            mark.update(status=EventStatus.FAILED, error=_why(exc))
            report.failed += 1
            with suppress(Exception), uow.savepoint():
                report.suppressed += suppress_address(uow, event, ctx)
        marks.append(mark)
    return marks


def _evaluate_isolated(uow: UnitOfWork, contact_ids: list[int], ctx: RunContext) -> None:
    """Run the stage rules for the contacts; one whose evaluation fails keeps its rules
    pending (the next run tries again) and does not stop the others."""
    try:
        with uow.savepoint():
            evaluate_contacts(uow=uow, contact_ids=contact_ids, ctx=ctx)
        return
    except Exception:
        _log.warning("stage rules failed for a chunk of %d contacts; one by one", len(contact_ids))
    for contact_id in contact_ids:
        try:
            with uow.savepoint():
                evaluate_contacts(uow=uow, contact_ids=[contact_id], ctx=ctx)
        except Exception as exc:
            _log.warning("stage rules failed for contact %s: %s", contact_id, _why(exc))


def _mark(
    row: StoredEvent,
    touch: Touch | None,
    ctx: RunContext,
    *,
    status: EventStatus = EventStatus.APPLIED,
    contact_id: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": status,
        "contact_id": contact_id,
        "touch_id": touch.id if touch else row.touch_id,
        "error": error,
        "applied_at": ctx.now,
    }


def _unmatched_reason(row: StoredEvent) -> str:
    given = row.payload.get("_unmatched")
    if isinstance(given, str) and given:
        return given
    claimed = row.payload.get("_claimed_contact_id")
    if claimed:
        return f"no contact {claimed} (removed?)"
    return f"no contact for {row.address or 'this event'}"


def _why(exc: BaseException) -> str:
    """An error as ops read it in `nurture events list --failed`."""
    if isinstance(exc, NurtureError):
        text = str(exc)
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:500]


def _apply_to_contact(
    uow: UnitOfWork,
    person: ScoredContact,
    events: list[StoredEvent],
    touches: dict[int, Touch],
    ctx: RunContext,
) -> int:
    model = ctx.project.scoring
    contact, state = person.contact, person.state
    last_interest = contact.last_interest_at
    pending = list(person.pending_events)
    ledger = []
    exits: list[str] = []
    suppressed = 0
    for event in events:
        kind = event.type
        rule = state.record(model, kind, event.occurred_at)
        if rule is not None:
            ledger.append(
                {
                    "contact_id": contact.id,
                    "event_id": event.id,
                    "event_type": kind,
                    "points": rule.points,
                    "occurred_at": event.occurred_at,
                }
            )
        if model.is_interest_signal(kind) and (
            last_interest is None or event.occurred_at > last_interest
        ):
            last_interest = event.occurred_at
        pending.append(kind)
        facts = (event.payload.get("data") or {}).get("bant") or {}
        if facts:
            contact.bant = contact.bant.merged({k: str(v) for k, v in facts.items() if v})
        suppressed += apply_opt_out(uow, contact, event, touches.get(event.id), ctx)
        reason = EXIT_ON_EVENT.get(EventType(kind))
        if reason is not None and reason not in exits:
            exits.append(reason)
    fit, _ = fit_score(model, contact)
    card = combine(model, fit, [], state, ctx.now)
    uow.contacts.update_many(
        [
            {
                "id": contact.id,
                "interest_state": state.to_json(),
                "interest": card.interest,
                "last_interest_at": last_interest,
                "bant": {k: v for k, v in contact.bant.as_dict().items() if v},
                "rules_pending": True,
                "pending_events": pending[-50:],
                "updated_at": ctx.now,
            }
        ]
    )
    uow.events.add_points(ledger)
    for reason in exits:
        exit_enrollments(uow=uow, contact=contact, reason=reason, ctx=ctx)
        stop_account(uow=uow, contact=contact, reason=reason, ctx=ctx)
    return suppressed
