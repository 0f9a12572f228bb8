"""Inbound events: store them (once), then apply them to contacts.

Applying an event updates interest points, BANT facts and opt-outs, ends the enrollments
the event exits, cancels touches that must not go out any more, and runs the stage rules
for the contacts it touched, so that an opt-out at 10:00 stops the email planned for 15:00.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.domain.events import EventStatus, StoredEvent
from nurture.domain.scoring import ScoredContact
from nurture.errors import PayloadError
from nurture.inbound import InboundEvent
from nurture.pipeline.event_effects import ApplyReport, apply_together, mark, why
from nurture.pipeline.lifecycle import (
    RunContext,
    evaluate_contacts,
)
from nurture.pipeline.opt_outs import suppress_address
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

_CHUNK = 2000


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
    """Apply every pending event, oldest first, in chunks. A chunk's contacts are applied
    together in a savepoint (``event_effects.apply_together``); if that fails, contact by
    contact, then a failing contact's events one at a time, and the event that fails is
    quarantined (``failed``, with its error) while every other event, and every other
    contact, goes on. An opt-out that fails to apply still suppresses its address."""
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
            marks.append(mark(row, touch, ctx, status=EventStatus.UNMATCHED, error=refused[row.id]))
            report.refused += 1
            continue
        if contact_id is not None and contact_id in people:
            by_contact[contact_id].append(row)
            continue
        unmatched = mark(
            row, touch, ctx, status=EventStatus.UNMATCHED, error=_unmatched_reason(row)
        )
        report.unmatched += 1
        try:
            with uow.savepoint():
                report.suppressed += suppress_address(uow, row, ctx)
        except Exception as exc:
            unmatched.update(status=EventStatus.FAILED, error=why(exc))
            report.failed += 1
        marks.append(unmatched)
    applied, as_stored = apply_together(
        uow, people, by_contact, touches=touches, ctx=ctx, report=report
    )
    uow.events.mark(marks + applied)
    _evaluate_isolated(uow, list(by_contact), ctx, known=people if as_stored else None)


def _evaluate_isolated(
    uow: UnitOfWork,
    contact_ids: list[int],
    ctx: RunContext,
    *,
    known: dict[int, ScoredContact] | None = None,
) -> None:
    """Run the stage rules for the contacts (``known``: as they are stored now, not read
    again); one whose evaluation fails keeps its rules pending (the next run tries again)
    and does not stop the others."""
    try:
        with uow.savepoint():
            evaluate_contacts(uow=uow, contact_ids=contact_ids, ctx=ctx, known=known)
        return
    except Exception:
        _log.warning("stage rules failed for a chunk of %d contacts; one by one", len(contact_ids))
    for contact_id in contact_ids:
        try:
            with uow.savepoint():
                evaluate_contacts(uow=uow, contact_ids=[contact_id], ctx=ctx)
        except Exception as exc:
            _log.warning("stage rules failed for contact %s: %s", contact_id, why(exc))


def _unmatched_reason(row: StoredEvent) -> str:
    given = row.payload.get("_unmatched")
    if isinstance(given, str) and given:
        return given
    claimed = row.payload.get("_claimed_contact_id")
    if claimed:
        return f"no contact {claimed} (removed?)"
    return f"no contact for {row.address or 'this event'}"
