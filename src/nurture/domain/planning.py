"""The decisions of the run, as pure functions: what happens to a due step (planning), and
what a touch's outcome does to it and to its enrollment (settling).

Nothing here reads or writes anything: the pipeline (``nurture.pipeline``) loads what
these functions need, calls them, and stores what they decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from nurture.domain.cadence import Calendar, due_after
from nurture.domain.contacts import Contact
from nurture.domain.privacy import Basis, Channel, no_basis_reason
from nurture.domain.scoring import InterestState, ScoringModel, combine
from nurture.domain.sequences import Sequence, Step
from nurture.domain.touches import SETTLED, STATUS_AFTER, Outcome, Touch, TouchStatus

__all__ = [
    "Budget",
    "Decision",
    "Plan",
    "Progress",
    "Settlement",
    "decide",
    "next_step",
    "over_budget",
    "rescore",
    "settle",
    "skip_reason",
]

#: A requeued touch waits this long per attempt already made before it is tried again.
REQUEUE_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class Budget:
    """How much pressure a contact may get, across every sequence."""

    per_day: int = 1
    per_week: int = 3
    horizon: timedelta = timedelta(hours=24)


class Decision(StrEnum):
    """What planning does with one due step."""

    SCHEDULE = "scheduled"  # a touch with a delivery time within the horizon
    HOLD = "held"  # the window does not open within the horizon: a later run plans it
    DEFER = "deferred"  # over the pressure budget: stays due, never dropped
    SKIP = "skipped"  # cannot reach this contact: recorded, the enrollment moves on
    LEAVE = "left_audience"  # the contact no longer fits the audience: the enrollment ends


@dataclass(frozen=True)
class Plan:
    """A planning decision, with its reason and the delivery time it computed."""

    decision: Decision
    reason: str | None = None
    deliver_at: datetime | None = None


def decide(
    sequence: Sequence,
    step: Step,
    contact: Contact,
    *,
    due_at: datetime,
    now: datetime,
    calendar: Calendar,
    budget: Budget,
    suppressed: Mapping[str, Mapping[str, str]],
    counted: list[datetime],
) -> Plan:
    """Decide what happens to ``step``, due at ``due_at``, for ``contact`` at ``now``.

    ``suppressed`` maps a medium (``email``, ``sms``) to its suppressed addresses and their
    reasons; ``counted`` holds the delivery times of the contact's touches that count
    against its budget.
    """
    refusal = sequence.audience.refusal(contact)
    if refusal is not None:
        return Plan(Decision.LEAVE, refusal)
    deliver_at = calendar.next_open(max(now, due_at))
    if deliver_at > now + budget.horizon:
        return Plan(Decision.HOLD, "the send window does not open within the horizon")
    skip = skip_reason(step, contact, suppressed)
    if skip is not None:
        return Plan(Decision.SKIP, skip, deliver_at)
    over = over_budget(counted, deliver_at, calendar.zone, budget)
    if over is not None:
        return Plan(Decision.DEFER, over, deliver_at)
    return Plan(Decision.SCHEDULE, None, deliver_at)


def skip_reason(
    step: Step, contact: Contact, suppressed: Mapping[str, Mapping[str, str]]
) -> str | None:
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
        channel: Channel = "email" if medium == "email" else "sms"
        basis = contact.consent.email_basis if medium == "email" else contact.consent.sms_basis
        return no_basis_reason(channel, Basis(basis), contact.email)
    refused = suppressed.get(medium, {})
    if address in refused:
        return f"suppressed: {refused[address]}"
    return None


def over_budget(
    counted: list[datetime], deliver_at: datetime, zone: ZoneInfo, budget: Budget
) -> str | None:
    """Why one more touch at ``deliver_at`` would be too much pressure, if it would."""
    day = deliver_at.astimezone(zone).date()
    same_day = sum(1 for t in counted if t.astimezone(zone).date() == day)
    if same_day >= budget.per_day:
        return (
            f"daily budget: {same_day} touch(es) already on {day.isoformat()} "
            f"(max {budget.per_day})"
        )
    start, end = deliver_at - timedelta(days=7), deliver_at + budget.horizon
    week = sum(1 for t in counted if start < t <= end)
    if week >= budget.per_week:
        return f"weekly budget: {week} touches within 7 days (max {budget.per_week})"
    return None


@dataclass(frozen=True)
class Settlement:
    """What an outcome does to a touch: its new status and reason, and a new delivery
    time and attempt count when it goes back to the queue."""

    status: TouchStatus
    reason: str | None = None
    deliver_at: datetime | None = None
    attempts: int | None = None

    @property
    def moves_on(self) -> bool:
        """Whether the enrollment goes on to its next step."""
        return self.status in SETTLED


def settle(
    touch: Touch,
    outcome: Outcome | None,
    reason: str | None,
    *,
    now: datetime,
    max_attempts: int,
    reschedule_at: datetime | None = None,
) -> Settlement:
    """Settle ``touch`` after ``outcome`` at ``now``.

    A transient failure goes back to the queue, later at each attempt, and fails for good
    once ``max_attempts`` runs have tried it; a touch whose window had closed at release
    waits for ``reschedule_at`` and that release does not count as an attempt. No outcome
    leaves the touch scheduled.
    """
    if outcome == Outcome.REQUEUED:
        if touch.attempts >= max_attempts:
            return Settlement(
                TouchStatus.FAILED, f"retries exhausted after {touch.attempts} runs: {reason}"
            )
        return Settlement(TouchStatus.SCHEDULED, reason, now + REQUEUE_DELAY * touch.attempts)
    if outcome == Outcome.RESCHEDULED:
        assert reschedule_at is not None, "a rescheduled touch needs its next opening"
        return Settlement(
            TouchStatus.SCHEDULED, reason, reschedule_at, attempts=max(touch.attempts - 1, 0)
        )
    if outcome is None:
        return Settlement(TouchStatus.SCHEDULED, reason)
    return Settlement(STATUS_AFTER[outcome], reason)


@dataclass
class Progress:
    """Where an enrollment goes after a step is done (or skipped)."""

    enrollment_id: int
    next_index: int
    next_due_at: datetime | None
    completed: bool


def next_step(
    *,
    sequence: Sequence,
    enrollment_id: int,
    done_index: int,
    done_at: datetime,
    contact: Contact,
    calendar: Calendar,
) -> Progress:
    """The due time of the step after ``done_index``, from the contact's temperature and
    deal band now; or completion after the last step."""
    following = done_index + 1
    if following >= len(sequence.steps):
        return Progress(enrollment_id, following, None, completed=True)
    due = due_after(
        done_at,
        cadence=sequence.cadence,
        step_gap=sequence.steps[following].gap,
        temperature=contact.temperature,
        band=contact.deal_band,
        calendar=calendar,
    )
    return Progress(enrollment_id, following, due, completed=False)


def rescore(
    contact: Contact, state: InterestState | None, model: ScoringModel, now: datetime
) -> bool:
    """Re-score ``contact`` at ``now`` (interest fades with time), so that its next step's
    gap follows the temperature it has now; returns whether anything changed.

    The stored fit is current (imports and evaluations keep it up to date), so only the
    interest part is recomputed, from ``state``.
    """
    if state is None and contact.interest == 0:
        return False  # no interest to fade: the stored score is the score
    card = combine(model, contact.fit, [], state or InterestState(), now)
    changed = (card.score, card.temperature, card.interest) != (
        contact.score,
        contact.temperature,
        contact.interest,
    )
    contact.score, contact.interest, contact.temperature = (
        card.score,
        card.interest,
        card.temperature,
    )
    return changed
