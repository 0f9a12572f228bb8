"""Applying inbound events to their contacts: interest points, BANT facts, opt-outs and
the enrollments an event ends.

A chunk's contacts are applied together, in one savepoint, with their rows and points
written in two statements; if anything fails, the chunk is rolled back and applied
contact by contact, and a contact whose events fail together, event by event, so that
one bad event is quarantined and nothing else is lost.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from nurture.domain.events import EventStatus, EventType, StoredEvent
from nurture.domain.scoring import ScoredContact, interest_score
from nurture.domain.touches import Touch
from nurture.errors import NurtureError
from nurture.pipeline.accounts import stop_account
from nurture.pipeline.lifecycle import RunContext, exit_enrollments
from nurture.pipeline.opt_outs import apply_opt_out, suppress_address
from nurture.ports import UnitOfWork

__all__ = ["EXIT_ON_EVENT", "ApplyReport", "apply_together", "mark", "why"]

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


def apply_together(
    uow: UnitOfWork,
    people: dict[int, ScoredContact],
    by_contact: dict[int, list[StoredEvent]],
    *,
    touches: dict[int, Touch],
    ctx: RunContext,
    report: ApplyReport,
) -> tuple[list[dict[str, Any]], bool]:
    """Apply every contact's events in one savepoint, their writes batched; if anything
    fails, roll it all back and apply contact by contact (:func:`_apply_isolated`).
    Returns the events' marks, and whether ``people`` are now as stored (applied
    together) or must be read again."""
    if not by_contact:
        return [], True
    writes = _Writes(
        running=uow.enrollments.running_contacts(None, by_contact),
        enrolled_before=sum(ctx.effects.enrolled.values()),
    )
    try:
        with _attempt(uow, ctx):
            suppressed = sum(
                _apply_to_contact(uow, people[contact_id], events, touches, ctx, writes=writes)
                for contact_id, events in by_contact.items()
            )
            writes.flush(uow)
    except Exception:
        _log.warning("events of %d contacts failed together; contact by contact", len(by_contact))
        fresh = uow.contacts.scored(sorted(by_contact))
        marks = [
            outcome
            for contact_id, events in by_contact.items()
            for outcome in _apply_isolated(
                uow, fresh[contact_id], events, touches=touches, ctx=ctx, report=report
            )
        ]
        return marks, False
    report.suppressed += suppressed
    report.applied += sum(len(events) for events in by_contact.values())
    return [
        mark(event, touches.get(event.id), ctx, contact_id=contact_id)
        for contact_id, events in by_contact.items()
        for event in events
    ], True


@dataclass
class _Writes:
    """The contacts' new interest and their score points, written in two statements."""

    contacts: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    #: The contacts with a running enrollment when the chunk began (``None``: not known),
    #: and how many enrollments the run had made then.
    running: set[int] | None = None
    enrolled_before: int = 0

    def may_be_enrolled(self, contact_id: int | None, ctx: RunContext) -> bool:
        """Whether the contact may have an enrollment to end: not known, known to have
        one, or anybody was enrolled since the chunk began (a chained sequence)."""
        if self.running is not None and sum(ctx.effects.enrolled.values()) != self.enrolled_before:
            self.running = None
        return self.running is None or contact_id in self.running

    def flush(self, uow: UnitOfWork) -> None:
        uow.contacts.update_many(self.contacts)
        uow.events.add_points(self.points)
        self.contacts, self.points = [], []


@contextmanager
def _attempt(uow: UnitOfWork, ctx: RunContext) -> Iterator[None]:
    """A savepoint that also forgets what the run counted inside it (exits,
    cancellations, enrollments) when it fails: a failed attempt wrote nothing and
    counted nothing, and whatever is applied again is counted once."""
    before = copy.deepcopy(ctx.effects)
    try:
        with uow.savepoint():
            yield
    except Exception:
        ctx.effects = before
        raise


def _apply_isolated(
    uow: UnitOfWork,
    person: ScoredContact,
    events: list[StoredEvent],
    *,
    touches: dict[int, Touch],
    ctx: RunContext,
    report: ApplyReport,
) -> list[dict[str, Any]]:
    """Apply one contact's events together, or one by one if that fails. What a failed
    attempt counted (exits, cancellations, suppressions) is forgotten with its writes."""
    contact_id = person.contact.id
    assert contact_id is not None
    try:
        with _attempt(uow, ctx):
            writes = _Writes()
            suppressed = _apply_to_contact(uow, person, events, touches, ctx, writes=writes)
            writes.flush(uow)
    except Exception:
        _log.warning("events of contact %s failed together; applying one by one", contact_id)
    else:
        report.suppressed += suppressed
        report.applied += len(events)
        return [mark(event, touches.get(event.id), ctx, contact_id=contact_id) for event in events]
    marks = []
    for event in events:
        outcome = mark(event, touches.get(event.id), ctx, contact_id=contact_id)
        try:
            with _attempt(uow, ctx):
                fresh = uow.contacts.scored([contact_id])[contact_id]
                writes = _Writes()
                suppressed = _apply_to_contact(uow, fresh, [event], touches, ctx, writes=writes)
                writes.flush(uow)
            report.suppressed += suppressed
            report.applied += 1
        except Exception as exc:
            _log.warning("event %s quarantined: %s", event.id, why(exc))
            outcome.update(status=EventStatus.FAILED, error=why(exc))
            report.failed += 1
            with suppress(Exception), uow.savepoint():
                report.suppressed += suppress_address(uow, event, ctx)
        marks.append(outcome)
    return marks


def mark(
    row: StoredEvent,
    touch: Touch | None,
    ctx: RunContext,
    *,
    status: EventStatus = EventStatus.APPLIED,
    contact_id: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    outcome: dict[str, Any] = {"id": row.id, "status": status, "applied_at": ctx.now}
    # Only what changed: on SQLite each indexed column set costs an index update.
    touch_id = touch.id if touch else row.touch_id
    for key, value, stored in (
        ("contact_id", contact_id, row.contact_id),
        ("touch_id", touch_id, row.touch_id),
        ("error", error, row.error),
    ):
        if value != stored:
            outcome[key] = value
    return outcome


def why(exc: BaseException) -> str:
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
    *,
    writes: _Writes,
) -> int:
    """Apply one contact's events; its row and points go to ``writes``, written later."""
    model = ctx.project.scoring
    contact, state = person.contact, person.state
    last_interest = contact.last_interest_at
    pending = list(person.pending_events)
    exits: list[str] = []
    suppressed = 0
    for event in events:
        kind = event.type
        rule = state.record(model, kind, event.occurred_at)
        if rule is not None:
            writes.points.append(
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
    # The person in memory is kept as stored, so that the stage rules can read it again.
    contact.interest = interest_score(model, state, ctx.now)
    contact.last_interest_at = last_interest
    person.pending_events = pending[-50:]
    writes.contacts.append(
        {
            "id": contact.id,
            "interest_state": state.to_json(),
            "interest": contact.interest,
            "last_interest_at": last_interest,
            "bant": {k: v for k, v in contact.bant.as_dict().items() if v},
            "rules_pending": True,
            "pending_events": person.pending_events,
            "updated_at": ctx.now,
        }
    )
    for reason in exits:
        if writes.may_be_enrolled(contact.id, ctx):
            exit_enrollments(uow=uow, contact=contact, reason=reason, ctx=ctx)
        stop_account(uow=uow, contact=contact, reason=reason, ctx=ctx)
    return suppressed
