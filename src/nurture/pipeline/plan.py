"""Plan due touches: who gets what, when, within each contact's pressure budget.

Every due step becomes a touch in the outbox with a delivery time (the next moment inside
the contact's send window within the horizon), or is deferred (over budget), held (its
window does not open within the horizon), skipped (its condition is false, no address, no
consent) or ends its enrollment (the contact left the audience) — always with a reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nurture.domain.cadence import Calendar, Calendars
from nurture.domain.contacts import Contact
from nurture.domain.enrollment import Enrollment, EnrollmentStatus
from nurture.domain.journal import JournalEntry
from nurture.domain.planning import Budget, Decision, Progress, decide, next_step
from nurture.domain.scoring import ScoredContact
from nurture.domain.sequences import Sequence, Step
from nurture.domain.touches import Touch, TouchStatus, touch_key
from nurture.pipeline.batch import BatchReport
from nurture.pipeline.delivery import Delivery
from nurture.pipeline.execute import deliver
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.progress import advance
from nurture.ports import UnitOfWork
from nurture.views.wording import hour_label

__all__ = ["Budget", "PlanReport", "SendNow", "plan_due"]

#: Contacts planned (and their touches due now sent) together. Since planning sends, a
#: chunk is four transactions (its decisions read, its plan written, its touches checked
#: again, their outcomes written), and a planner often starts one after the other's
#: commits, which empties its SQLite page cache. The saved 1M base ran in 8.45 s with
#: chunks of 3,000 against 8.85 s with 1,000 (five alternating pairs); 5,000 was no
#: faster than 3,000.
_CHUNK = 3000


@dataclass
class PlanReport:
    """What planning decided."""

    planned: Counter[str] = field(default_factory=Counter)
    deliver_now: int = 0
    later_by_hour: Counter[str] = field(default_factory=Counter)
    held: int = 0
    deferred: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    left_audience: int = 0
    completed: int = 0
    #: What was sent as it was planned (:class:`SendNow`), else ``None``.
    sent: BatchReport | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; what was sent as it was planned under ``execution``."""
        sent = {} if self.sent is None else {"execution": self.sent.as_dict()}
        return {
            "planned": dict(self.planned),
            "deliver_now": self.deliver_now,
            "later_today_by_hour": dict(sorted(self.later_by_hour.items())),
            "held_for_later_run": self.held,
            "deferred": dict(self.deferred),
            "skipped": dict(self.skipped),
            "left_audience": self.left_audience,
            "completed": self.completed,
            **sent,
        }


@dataclass(frozen=True)
class SendNow:
    """Send each chunk's touches due now as soon as the chunk is planned, through
    ``delivery``, claimed by ``worker``: they are inserted claimed (``sending``), committed
    with the plan, then checked, rendered, sent and recorded as a claimed batch is. The
    contacts are read once for both, and no batch reads the touches back to claim them."""

    delivery: Delivery
    worker: str


def plan_due(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    budget: Budget,
    commit: bool = True,
    shard: tuple[int, int] | None = None,
    send: SendNow | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PlanReport:
    """Plan every step due by ``ctx.now``, contact by contact, in chunks; with ``shard``
    ``(i, n)``, only the contacts whose id is ``i`` modulo ``n`` (planners in parallel
    never share a contact, so each contact's budget stays whole). With ``send``, each
    chunk's touches due now are sent once the chunk is committed. ``progress`` hears
    ``(contacts done, contacts due)`` after each chunk."""
    if send is not None and not commit:
        raise ValueError("sending while planning needs the plan committed first")
    report = PlanReport(sent=BatchReport() if send is not None else None)
    calendars = ctx.calendar_book()
    # Read the due set once (one pass over the index), then plan it chunk by chunk: each
    # chunk re-reads its own enrollments, so what another planner did meanwhile is seen.
    # In a read transaction when committing: parallel planners read the due set side by
    # side instead of queueing for SQLite's write lock (0.1 s each at 1M contacts).
    with uow.reading() if commit else nullcontext():
        due = uow.enrollments.due_contacts(ctx.now)
    if shard is not None:
        due = [contact_id for contact_id in due if contact_id % shard[1] == shard[0]]
    if progress is not None:
        progress(0, len(due))
    for start in range(0, len(due), _CHUNK):
        ids = due[start : start + _CHUNK]
        chunk: _Chunk | None = None
        if commit and uow.serialises_writers:
            # SQLite has one writer at a time: decide in a read snapshot, so that parallel
            # planners (their shards never share a contact) only queue for the writes.
            with uow.reading():
                chunk = _decide_chunk(uow, ids, ctx, (budget, calendars, report), send)
            chunk.write()
        else:
            locked = uow.contacts.lock(ids)
            if locked:
                chunk = _decide_chunk(uow, locked, ctx, (budget, calendars, report), send)
                chunk.write()
        if send is not None and chunk is not None and chunk.claimed:
            _take_claimed(uow, send, chunk)  # in the plan's write: no read of its own
        if commit:
            uow.commit()
        if send is not None and chunk is not None and chunk.claimed:
            _send_now(uow, ctx, send, chunk, report)
        if progress is not None:
            progress(start + len(ids), len(due))
    return report


def _take_claimed(uow: UnitOfWork, send: SendNow, chunk: _Chunk) -> None:
    """Give the chunk's claimed touches their ids, and keep only those the planner holds:
    a key that was there already keeps its row, and is not the planner's to send."""
    ids = uow.touches.claimed_ids(send.worker, [t.touch_key for t in chunk.claimed])
    held = []
    for touch in chunk.claimed:
        if touch.touch_key in ids:
            touch.id = ids[touch.touch_key]
            held.append(touch)
    chunk.claimed = held


def _send_now(
    uow: UnitOfWork, ctx: RunContext, send: SendNow, chunk: _Chunk, report: PlanReport
) -> None:
    """Send the chunk's touches due now, which it inserted claimed and committed, and
    record what became of them (steps 2 to 4 of ``execute.py``). Recording them in the
    next chunk's write instead, one transaction fewer a chunk, was slower: 8.84 s against
    8.54 s a run at 1M contacts (four pairs), the planners queueing longer for each
    other's longer writes."""
    assert report.sent is not None
    deliver(uow=uow, ctx=ctx, delivery=send.delivery, claimed=chunk.claimed, report=report.sent,
            people=chunk.scored)  # fmt: skip


def _decide_chunk(
    uow: UnitOfWork,
    contact_ids: list[int],
    ctx: RunContext,
    plan: tuple[Budget, Calendars, PlanReport],
    send: SendNow | None = None,
) -> _Chunk:
    """Every decision for these contacts' due steps; nothing is written yet."""
    due = uow.enrollments.due_for(contact_ids, ctx.now)
    budget, calendars, report = plan
    scored: dict[int, ScoredContact] = {}
    if send is None:
        people = uow.contacts.for_run(contact_ids)
    else:  # with what sending re-scores: read once for both
        scored = uow.contacts.for_sending(contact_ids)
        people = {contact_id: person.contact for contact_id, person in scored.items()}
    chunk = _Chunk(
        uow,
        ctx,
        budget=budget,
        calendars=calendars,
        report=report,
        people=people,
        send=send,
        scored=scored,
    )
    for enrollment in due:
        chunk.plan(enrollment)
    return chunk


class _Chunk:
    """The decisions for one chunk of contacts, written together."""

    def __init__(
        self,
        uow: UnitOfWork,
        ctx: RunContext,
        *,
        budget: Budget,
        calendars: Calendars,
        report: PlanReport,
        people: dict[int, Contact],
        send: SendNow | None = None,
        scored: dict[int, ScoredContact] | None = None,
    ) -> None:
        self.uow, self.ctx, self.budget, self.calendars, self.report = (
            uow,
            ctx,
            budget,
            calendars,
            report,
        )
        self.people = people
        #: How to send what is due now, and the contacts as sending needs them.
        self.send, self.scored = send, scored or {}
        #: Touches due now, inserted claimed by ``send.worker`` (with ``send`` only).
        self.claimed: list[Touch] = []
        self.suppressed = {
            "email": uow.suppressions.active("email", [c.email for c in self.people.values()]),
            "sms": uow.suppressions.active("sms", [c.phone for c in self.people.values()]),
        }
        self.counted = uow.touches.counted_since(list(people), ctx.now - timedelta(days=7))
        self.touches: list[Touch] = []
        self.moves: list[dict[str, Any]] = []
        self.progress: list[tuple[Progress, Sequence, Contact]] = []
        self.deferrals: list[JournalEntry] = []
        self.leaving: list[tuple[Enrollment, Sequence, Contact, str]] = []

    def plan(self, enrollment: Enrollment) -> None:
        """Decide what happens to one due enrollment, and note it for the chunk's write."""
        ctx = self.ctx
        contact = self.people[enrollment.contact_id]
        sequence = ctx.sequence(self.uow, enrollment.sequence_id, enrollment.version)
        index = enrollment.step_index
        if sequence is None or index >= len(sequence.steps):
            return
        step = sequence.steps[index]
        calendar = self.calendars.for_contact(sequence, contact)
        plan = decide(
            sequence,
            step,
            contact,
            due_at=enrollment.next_due_at or ctx.now,
            now=ctx.now,
            calendar=calendar,
            budget=self.budget,
            suppressed=self.suppressed,
            counted=self.counted.get(contact.id or 0, []),
        )
        reason = plan.reason or ""
        if plan.decision == Decision.LEAVE:
            self.leaving.append((enrollment, sequence, contact, reason))
        elif plan.decision == Decision.HOLD:
            self.report.held += 1
        elif plan.decision == Decision.DEFER:
            self._defer(enrollment, f"{sequence.id}/{step.id}", reason, contact)
        else:
            assert plan.deliver_at is not None
            # Scheduled, or skipped with its reason (a scheduled plan has none).
            touch = _touch(
                enrollment, sequence, step, contact, ctx=ctx, at=plan.deliver_at, skip=plan.reason
            )
            if touch.status == TouchStatus.SKIPPED:
                self._skip(touch, sequence, contact, calendar)
            else:
                self._schedule(touch, contact, step)

    def _skip(self, touch: Touch, sequence: Sequence, contact: Contact, calendar: Calendar) -> None:
        """The step cannot reach this contact: recorded as skipped, and the enrollment
        moves on to its next step."""
        index = touch.step_index
        self.touches.append(touch)
        self.moves.append({"_id": touch.enrollment_id, "_index": index, "step_index": index + 1})
        following = next_step(
            sequence=sequence,
            enrollment_id=touch.enrollment_id,
            done_index=index,
            done_at=touch.deliver_at,
            contact=contact,
            calendar=calendar,
        )
        self.progress.append((following, sequence, contact))
        self.report.skipped[(touch.reason or "").split(":", maxsplit=1)[0]] += 1

    def _defer(self, enrollment: Enrollment, where: str, over: str, contact: Contact) -> None:
        """Over the pressure budget: deferred with its reason, never dropped."""
        self.deferrals.append(
            JournalEntry(
                "deferred",
                f"{where}: {over}",
                self.ctx.now,
                contact_id=contact.id,
                enrollment_id=enrollment.id,
                run_id=self.ctx.run_id,
            )
        )
        self.report.deferred[over.split(":", maxsplit=1)[0]] += 1

    def _schedule(self, touch: Touch, contact: Contact, step: Step) -> None:
        """Planned: counted in the budget, written, the enrollment moved past it."""
        deliver_at, index = touch.deliver_at, touch.step_index
        self.counted.setdefault(contact.id or 0, []).append(deliver_at)
        self.touches.append(touch)
        self.moves.append(
            {
                "_id": touch.enrollment_id,
                "_index": index,
                "step_index": index + 1,
                "next_due_at": None,
            }
        )
        report = self.report
        report.planned[step.channel.value] += 1
        if deliver_at <= self.ctx.now:
            report.deliver_now += 1
            if self.send is not None:  # claimed as a batch claims it (execute.py, step 1)
                touch.status, touch.attempts = TouchStatus.SENDING, 1
                touch.claimed_by, touch.claimed_at = self.send.worker, self.ctx.now
                self.claimed.append(touch)
        else:
            report.later_by_hour[hour_label(deliver_at, self.ctx.default_timezone)] += 1

    def _left_audience(
        self, enrollment: Enrollment, sequence: Sequence, contact: Contact, refusal: str
    ) -> None:
        ctx = self.ctx
        self.uow.enrollments.end(
            enrollment.id, status=EnrollmentStatus.EXITED, reason="left_audience", at=ctx.now
        )
        ctx.note(
            self.uow,
            "exited",
            f"{sequence.id}: left the audience: {refusal}",
            contact_id=contact.id,
            enrollment_id=enrollment.id,
        )
        ctx.effects.exits["left_audience"] += 1
        self.report.left_audience += 1

    def write(self) -> None:
        """Store the chunk's touches, moves, exits, completions and deferrals."""
        for leaving in self.leaving:
            self._left_audience(*leaving)
        self.uow.touches.insert_new(self.touches)
        self.uow.enrollments.advance_planned(self.moves)
        self.report.completed += advance(
            uow=self.uow, progress=self.progress, ctx=self.ctx, at=self.ctx.now
        )
        self.uow.journal.add_many(self.deferrals)


def _touch(
    enrollment: Enrollment,
    sequence: Sequence,
    step: Step,
    contact: Contact,
    *,
    ctx: RunContext,
    at: datetime,
    skip: str | None,
) -> Touch:
    """The touch for this step, delivered at ``at``: scheduled, or skipped for ``skip``."""
    return Touch(
        touch_key=touch_key(enrollment.id, step.id, sequence.version),
        enrollment_id=enrollment.id,
        contact_id=contact.id or 0,
        sequence_id=sequence.id,
        version=sequence.version,
        step_id=step.id,
        step_index=enrollment.step_index,
        channel=step.channel.value,
        status=TouchStatus.SKIPPED if skip else TouchStatus.SCHEDULED,
        reason=skip,
        priority=sequence.priority,
        due_at=enrollment.next_due_at or ctx.now,
        deliver_at=at,
        created_at=ctx.now,
        run_id=ctx.run_id,
        address=contact.email if step.sends_on == "email" else contact.phone,
    )


def due_counts(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """How many enrollments are due, by sequence (for reports)."""
    return uow.enrollments.due_by_sequence(now)
