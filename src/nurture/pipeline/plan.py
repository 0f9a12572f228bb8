"""Plan due touches: who gets what, when, within each contact's pressure budget.

Every due step becomes a touch in the outbox with a delivery time (the next moment inside
the contact's send window within the horizon), or is deferred (over budget), held (its
window does not open within the horizon), skipped (its condition is false, no address, no
consent) or ends its enrollment (the contact left the audience) — always with a reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nurture.domain.cadence import Calendar
from nurture.domain.contacts import Contact
from nurture.domain.sequences import Sequence, Step
from nurture.domain.touches import TouchStatus, touch_key
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.progress import Calendars, Progress, advance, next_step
from nurture.ports import UnitOfWork

__all__ = ["Budget", "PlanReport", "plan_due"]

_CHUNK = 1000


@dataclass(frozen=True)
class Budget:
    """How much pressure a contact may get, across every sequence."""

    per_day: int = 1
    per_week: int = 3
    horizon: timedelta = timedelta(hours=24)


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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "planned": dict(self.planned),
            "deliver_now": self.deliver_now,
            "later_today_by_hour": dict(sorted(self.later_by_hour.items())),
            "held_for_later_run": self.held,
            "deferred": dict(self.deferred),
            "skipped": dict(self.skipped),
            "left_audience": self.left_audience,
            "completed": self.completed,
        }


def plan_due(
    *,
    uow: UnitOfWork,
    ctx: RunContext,
    budget: Budget,
    commit: bool = True,
) -> PlanReport:
    """Plan every step due by ``ctx.now``, contact by contact, in chunks."""
    report = PlanReport()
    calendars = Calendars(ctx.default_timezone, ctx.default_region, ctx.holidays)
    # Read the due set once (one pass over the index), then plan it chunk by chunk: each
    # chunk re-reads its own enrollments, so what another planner did meanwhile is seen.
    due = uow.enrollments.due_contacts(ctx.now)
    if commit:
        uow.commit()  # release the read snapshot before the first chunk takes its locks
    for start in range(0, len(due), _CHUNK):
        locked = uow.contacts.lock(due[start : start + _CHUNK])
        if locked:
            _plan_chunk(uow, locked, ctx, (budget, calendars, report))
        if commit:
            uow.commit()
    return report


def _plan_chunk(
    uow: UnitOfWork,
    contact_ids: list[int],
    ctx: RunContext,
    plan: tuple[Budget, Calendars, PlanReport],
) -> None:
    due = uow.enrollments.due_for(contact_ids, ctx.now)
    budget, calendars, report = plan
    chunk = _Chunk(
        uow,
        ctx,
        budget=budget,
        calendars=calendars,
        report=report,
        rows=uow.contacts.run_rows(contact_ids),
    )
    for enrollment in due:
        chunk.plan(dict(enrollment))
    chunk.write()


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
        rows: dict[int, dict[str, Any]],
    ) -> None:
        self.uow, self.ctx, self.budget, self.calendars, self.report = (
            uow,
            ctx,
            budget,
            calendars,
            report,
        )
        self.people = {cid: uow.contacts.to_contact(row) for cid, row in rows.items()}
        self.suppressed = {
            "email": uow.suppressions.active("email", [c.email for c in self.people.values()]),
            "sms": uow.suppressions.active("sms", [c.phone for c in self.people.values()]),
        }
        self.counted = uow.touches.counted_since(list(rows), ctx.now - timedelta(days=7))
        self.touches: list[dict[str, Any]] = []
        self.moves: list[dict[str, Any]] = []
        self.progress: list[tuple[Progress, Sequence, Contact]] = []
        self.deferrals: list[dict[str, Any]] = []

    def plan(self, enrollment: dict[str, Any]) -> None:
        """Decide what happens to one due enrollment."""
        ctx = self.ctx
        contact = self.people[enrollment["contact_id"]]
        sequence = ctx.sequence(self.uow, enrollment["sequence_id"], enrollment["version"])
        index = enrollment["step_index"]
        if sequence is None or index >= len(sequence.steps):
            return
        refusal = sequence.audience.refusal(contact)
        if refusal is not None:
            self._left_audience(enrollment, sequence, contact, refusal)
            return
        step = sequence.steps[index]
        calendar = self.calendars.for_contact(sequence, contact)
        deliver_at = calendar.next_open(max(ctx.now, enrollment["next_due_at"]))
        if deliver_at > ctx.now + self.budget.horizon:
            self.report.held += 1
            return
        touch = self._touch(enrollment, sequence, step, contact, deliver_at)
        skip = _skip_reason(step, contact, self.suppressed)
        if skip is not None:
            self._skip(touch, skip, sequence, contact, calendar)
            return
        over = _over_budget(
            self.counted.get(contact.id or 0, []), deliver_at, calendar.zone, self.budget
        )
        if over is not None:
            self._defer(enrollment, f"{sequence.id}/{step.id}", over, contact)
            return
        self._schedule(touch, contact, step)

    def _touch(
        self,
        enrollment: dict[str, Any],
        sequence: Sequence,
        step: Step,
        contact: Contact,
        deliver_at: datetime,
    ) -> dict[str, Any]:
        """The touch row for this step, before its status is decided."""
        return {
            "touch_key": touch_key(enrollment["id"], step.id, sequence.version),
            "enrollment_id": enrollment["id"],
            "contact_id": contact.id,
            "sequence_id": sequence.id,
            "version": sequence.version,
            "step_id": step.id,
            "step_index": enrollment["step_index"],
            "channel": step.channel.value,
            "priority": sequence.priority,
            "due_at": enrollment["next_due_at"],
            "deliver_at": deliver_at,
            "created_at": self.ctx.now,
            "run_id": self.ctx.run_id,
            "attempts": 0,
            "address": contact.email if step.sends_on == "email" else contact.phone,
        }

    def _skip(
        self,
        touch: dict[str, Any],
        skip: str,
        sequence: Sequence,
        contact: Contact,
        calendar: Calendar,
    ) -> None:
        """The step cannot reach this contact: recorded as skipped, and the enrollment
        moves on to its next step."""
        index = touch["step_index"]
        self.touches.append({**touch, "status": TouchStatus.SKIPPED, "reason": skip})
        self.moves.append({"_id": touch["enrollment_id"], "_index": index, "step_index": index + 1})
        following = next_step(
            sequence=sequence,
            enrollment_id=touch["enrollment_id"],
            done_index=index,
            done_at=touch["deliver_at"],
            contact=contact,
            calendar=calendar,
        )
        self.progress.append((following, sequence, contact))
        self.report.skipped[skip.split(":", maxsplit=1)[0]] += 1

    def _defer(self, enrollment: dict[str, Any], where: str, over: str, contact: Contact) -> None:
        """Over the pressure budget: deferred with its reason, never dropped."""
        self.deferrals.append(
            {
                "kind": "deferred",
                "reason": f"{where}: {over}",
                "at": self.ctx.now,
                "contact_id": contact.id,
                "enrollment_id": enrollment["id"],
                "touch_id": None,
                "run_id": self.ctx.run_id,
            }
        )
        self.report.deferred[over.split(":", maxsplit=1)[0]] += 1

    def _schedule(self, touch: dict[str, Any], contact: Contact, step: Step) -> None:
        """Planned: counted in the budget, written, the enrollment moved past it."""
        deliver_at, index = touch["deliver_at"], touch["step_index"]
        self.counted.setdefault(contact.id or 0, []).append(deliver_at)
        self.touches.append({**touch, "status": TouchStatus.SCHEDULED, "reason": None})
        self.moves.append(
            {
                "_id": touch["enrollment_id"],
                "_index": index,
                "step_index": index + 1,
                "next_due_at": None,
            }
        )
        report = self.report
        report.planned[step.channel.value] += 1
        if deliver_at <= self.ctx.now:
            report.deliver_now += 1
        else:
            report.later_by_hour[deliver_at.strftime("%H:00Z")] += 1

    def _left_audience(
        self, enrollment: dict[str, Any], sequence: Sequence, contact: Contact, refusal: str
    ) -> None:
        ctx = self.ctx
        self.uow.enrollments.end(
            enrollment["id"], status="exited", reason="left_audience", at=ctx.now
        )
        self.uow.journal.add(
            "exited",
            f"{sequence.id}: left the audience: {refusal}",
            at=ctx.now,
            contact_id=contact.id,
            enrollment_id=enrollment["id"],
            run_id=ctx.run_id,
        )
        ctx.effects.exits["left_audience"] += 1
        self.report.left_audience += 1

    def write(self) -> None:
        """Store the chunk's touches, moves, completions and deferrals."""
        self.uow.touches.insert_new(self.touches)
        self.uow.enrollments.advance_planned(self.moves)
        self.report.completed += advance(
            uow=self.uow, progress=self.progress, ctx=self.ctx, at=self.ctx.now
        )
        self.uow.journal.add_many(self.deferrals)


def _skip_reason(step: Step, contact: Contact, suppressed: dict[str, dict[str, str]]) -> str | None:
    """Why a step cannot reach this contact (its condition, address, consent, opt-out)."""
    if not step.applies_to(contact):
        return f"condition false: {step.when}"
    medium = step.sends_on
    if medium == "call":
        return None if contact.phone else "no phone number"
    address = contact.email if medium == "email" else contact.phone
    consent = contact.consent.email if medium == "email" else contact.consent.sms
    if not address:
        return "no email address" if medium == "email" else "no phone number"
    if not consent:
        return "no email consent" if medium == "email" else "no SMS consent"
    if address in suppressed[medium]:
        return f"suppressed: {suppressed[medium][address]}"
    return None


def _over_budget(
    scheduled: list[datetime], deliver_at: datetime, zone: ZoneInfo, budget: Budget
) -> str | None:
    """Why one more touch at ``deliver_at`` would be too much pressure, if it would."""
    day = deliver_at.astimezone(zone).date()
    same_day = sum(1 for t in scheduled if t.astimezone(zone).date() == day)
    if same_day >= budget.per_day:
        return (
            f"daily budget: {same_day} touch(es) already on {day.isoformat()} "
            f"(max {budget.per_day})"
        )
    start, end = deliver_at - timedelta(days=7), deliver_at + budget.horizon
    week = sum(1 for t in scheduled if start < t <= end)
    if week >= budget.per_week:
        return f"weekly budget: {week} touches within 7 days (max {budget.per_week})"
    return None


def due_counts(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """How many enrollments are due, by sequence (for reports)."""
    return uow.enrollments.due_by_sequence(now)
