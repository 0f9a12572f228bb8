"""The lifecycle: contact → lead → prospect → customer, with disqualified and recycled.

Every change is a :class:`StageChange` with its reason and time. ``customer`` is reached
only on a ``purchase`` event: a signed meeting, an accepted proposal or a verbal promise
are intent, not a sale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nurture.domain.contacts import Bant, Stage
from nurture.domain.events import EventType
from nurture.domain.scoring import ScoringModel
from nurture.errors import IllegalTransition

__all__ = ["ALLOWED_TRANSITIONS", "StageChange", "change_stage", "stage_changes"]

ALLOWED_TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.CONTACT: frozenset({Stage.LEAD, Stage.CUSTOMER, Stage.DISQUALIFIED}),
    Stage.LEAD: frozenset({Stage.PROSPECT, Stage.CUSTOMER, Stage.DISQUALIFIED}),
    Stage.PROSPECT: frozenset({Stage.RECYCLED, Stage.CUSTOMER, Stage.DISQUALIFIED}),
    Stage.RECYCLED: frozenset({Stage.PROSPECT, Stage.CUSTOMER, Stage.DISQUALIFIED}),
    # A disqualified contact can be requalified by hand (back to contact or lead).
    Stage.DISQUALIFIED: frozenset({Stage.CONTACT, Stage.LEAD, Stage.CUSTOMER}),
    # Upsell and renewals are sequences for customers, not a change of stage.
    Stage.CUSTOMER: frozenset(),
}


@dataclass(frozen=True, slots=True)
class StageChange:
    """One move in the lifecycle, with its reason."""

    from_stage: Stage
    to_stage: Stage
    reason: str
    at: datetime
    event: str | None = None


def change_stage(
    current: Stage, target: Stage, *, reason: str, at: datetime, event: str | None = None
) -> StageChange:
    """Check a move against the state machine and return it.

    Raises :class:`IllegalTransition` for a move the lifecycle does not allow, and for any
    move to ``customer`` that is not caused by a ``purchase`` event.
    """
    if target == current:
        raise IllegalTransition(f"contact is already {current.value}")
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
        raise IllegalTransition(
            f"cannot go from {current.value} to {target.value} (allowed: {allowed})"
        )
    if target == Stage.CUSTOMER and event != EventType.PURCHASE:
        raise IllegalTransition(
            "only a purchase event makes a customer; intent (meeting, proposal, promise) does not"
        )
    if not reason.strip():
        raise IllegalTransition("a stage change needs a reason")
    return StageChange(current, target, reason, at, event)


def stage_changes(
    *,
    stage: Stage,
    score: int,
    bant: Bant,
    new_events: Iterable[str],
    last_interest_at: datetime | None,
    stage_since: datetime | None,
    now: datetime,
    model: ScoringModel,
) -> list[StageChange]:
    """The moves the stage rules of ``model`` call for, in order (possibly several).

    ``new_events`` are the event types observed since the rules last ran for this contact.
    """
    events = [str(e) for e in new_events]
    rules = model.stages
    if EventType.PURCHASE in events:
        if stage == Stage.CUSTOMER:
            return []
        return [
            change_stage(
                stage, Stage.CUSTOMER, reason="purchase recorded", at=now, event=EventType.PURCHASE
            )
        ]
    changes: list[StageChange] = []
    if stage == Stage.CONTACT:
        signal = next((e for e in events if e in rules.lead.on_events), None)
        if signal is None:
            return []
        changes.append(
            change_stage(
                stage, Stage.LEAD, reason=f"first sign of interest: {signal}", at=now, event=signal
            )
        )
        stage = Stage.LEAD
    if stage == Stage.RECYCLED and not any(model.is_interest_signal(e) for e in events):
        return changes  # back from the cold only on a fresh sign of interest
    if stage in (Stage.LEAD, Stage.RECYCLED):
        prospect = rules.prospect
        missing = bant.missing(list(prospect.require_bant))
        if score >= prospect.min_score and not missing:
            known = " and ".join(prospect.require_bant) or "no BANT fact required"
            reason = f"score {score} ≥ {prospect.min_score}; {known} known"
            changes.append(change_stage(stage, Stage.PROSPECT, reason=reason, at=now))
        return changes
    if stage == Stage.PROSPECT:
        days = rules.recycle.after_days_without_interest
        since = max(filter(None, (last_interest_at, stage_since)), default=None)
        if since is not None and now - since >= timedelta(days=days):
            reason = f"no interest event for {(now - since).days} days (rule: {days})"
            changes.append(change_stage(stage, Stage.RECYCLED, reason=reason, at=now))
    return changes
