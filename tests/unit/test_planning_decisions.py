"""The run's decisions as pure functions: planning one due step, settling one outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from nurture.adapters.holidays import holiday_check
from nurture.domain.cadence import Calendar, calendar_for
from nurture.domain.contacts import Consent, Contact, Stage, Temperature
from nurture.domain.planning import (
    REQUEUE_DELAY,
    Budget,
    Decision,
    decide,
    next_step,
    rescore,
    settle,
)
from nurture.domain.scoring import InterestState, RuleState, ScoringModel
from nurture.domain.sequences import Sequence
from nurture.domain.touches import Outcome, Touch, TouchStatus

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Paris

SEQUENCE = Sequence.model_validate(
    yaml.safe_load(
        """
id: demo
name: Demo
version: 1
audience: {stages: [contact, lead]}
cadence:
  gaps: {cold: 2, warm: 1, hot: 0.5}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/a}
  - {id: sms-1, channel: sms, template: sms/a, gap: 2}
  - {id: call-1, channel: call, script: calls/a, when: "contact.score >= 50"}
"""
    )
)


def _calendar() -> Calendar:
    return calendar_for(
        SEQUENCE.send_window,
        contact_timezone="Europe/Paris",
        contact_country="FR",
        default_timezone="Europe/Paris",
        default_country="FR",
        holidays=holiday_check,
    )


def _contact(**fields: object) -> Contact:
    base: dict[str, object] = {
        "id": 7,
        "email": "jean@client.fr",
        "phone": "+33612345678",
        "stage": Stage.LEAD,
        "consent": Consent(email=True, sms=True),
    }
    return Contact(**{**base, **fields})  # type: ignore[arg-type]


def _decide(step: int = 0, contact: Contact | None = None, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "due_at": NOW,
        "now": NOW,
        "calendar": _calendar(),
        "budget": Budget(),
        "suppressed": {},
        "counted": [],
    }
    args.update(kw)
    return decide(SEQUENCE, SEQUENCE.steps[step], contact or _contact(), **args)  # type: ignore[arg-type]


def test_a_due_step_inside_the_window_is_scheduled_now() -> None:
    plan = _decide()
    assert (plan.decision, plan.deliver_at, plan.reason) == (Decision.SCHEDULE, NOW, None)


def test_a_step_due_at_night_is_scheduled_at_the_next_opening() -> None:
    night = NOW.replace(hour=20)  # 21:00 in Paris
    plan = _decide(due_at=night, now=night)
    assert plan.deliver_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_beyond_the_horizon_the_step_is_held() -> None:
    friday_night = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
    plan = _decide(due_at=friday_night, now=friday_night)
    assert plan.decision == Decision.HOLD


def test_a_contact_outside_the_audience_leaves_with_the_reason() -> None:
    plan = _decide(contact=_contact(stage=Stage.CUSTOMER))
    assert plan.decision == Decision.LEAVE
    assert plan.reason
    assert "customer" in plan.reason


@pytest.mark.parametrize(
    ("step", "contact", "suppressed", "reason"),
    [
        (0, _contact(email=None), {}, "no email address"),
        (
            0,
            _contact(consent=Consent(email=False)),
            {},
            "no lawful basis for email: no consent or legitimate interest recorded",
        ),
        (
            1,
            _contact(consent=Consent(sms=False)),
            {},
            "no lawful basis for SMS: an SMS needs recorded consent",
        ),
        (1, _contact(phone=None), {}, "no phone number"),
        (0, _contact(), {"email": {"jean@client.fr": "bounce"}}, "suppressed: bounce"),
        (2, _contact(score=10), {}, "condition false: contact.score >= 50"),
    ],
)
def test_a_step_that_cannot_reach_the_contact_is_skipped_with_its_reason(
    step: int, contact: Contact, suppressed: dict[str, dict[str, str]], reason: str
) -> None:
    plan = _decide(step, contact, suppressed=suppressed)
    assert (plan.decision, plan.reason) == (Decision.SKIP, reason)


def test_the_daily_then_weekly_budget_defers() -> None:
    daily = _decide(counted=[NOW - timedelta(hours=1)])
    assert daily.decision == Decision.DEFER
    assert daily.reason == "daily budget: 1 touch(es) already on 2026-03-02 (max 1)"
    week = [NOW - timedelta(days=d) for d in (1, 2, 3)]
    weekly = _decide(counted=week)
    assert (weekly.decision, weekly.reason) == (
        Decision.DEFER,
        "weekly budget: 3 touches within 7 days (max 3)",
    )
    assert _decide(counted=week[:2]).decision == Decision.SCHEDULE


def _touch(attempts: int = 1) -> Touch:
    return Touch(
        touch_key="1:email-1:v1",
        enrollment_id=1,
        contact_id=7,
        sequence_id="demo",
        version=1,
        step_id="email-1",
        step_index=0,
        channel="email",
        status=TouchStatus.SENDING,
        due_at=NOW,
        deliver_at=NOW,
        created_at=NOW,
        attempts=attempts,
        id=1,
    )


@pytest.mark.parametrize(
    ("outcome", "status", "moves_on"),
    [
        (Outcome.SENT, TouchStatus.SENT, True),
        (Outcome.FAILED, TouchStatus.FAILED, True),
        (Outcome.CANCELLED, TouchStatus.CANCELLED, True),
        (Outcome.UNKNOWN, TouchStatus.UNKNOWN, False),
        (None, TouchStatus.SCHEDULED, False),
    ],
)
def test_an_outcome_settles_the_touch(
    outcome: Outcome | None, status: TouchStatus, moves_on: bool
) -> None:
    settled = settle(_touch(), outcome, "why", now=NOW, max_attempts=5)
    assert (settled.status, settled.reason, settled.moves_on) == (status, "why", moves_on)


def test_a_transient_failure_backs_off_then_fails_once_retries_are_spent() -> None:
    again = settle(_touch(attempts=2), Outcome.REQUEUED, "429", now=NOW, max_attempts=3)
    assert (again.status, again.deliver_at) == (TouchStatus.SCHEDULED, NOW + 2 * REQUEUE_DELAY)
    spent = settle(_touch(attempts=3), Outcome.REQUEUED, "429", now=NOW, max_attempts=3)
    assert (spent.status, spent.reason) == (
        TouchStatus.FAILED,
        "retries exhausted after 3 runs: 429",
    )


def test_a_release_outside_the_window_waits_and_is_not_counted_as_an_attempt() -> None:
    later = NOW + timedelta(days=1)
    settled = settle(
        _touch(attempts=1),
        Outcome.RESCHEDULED,
        "closed",
        now=NOW,
        max_attempts=3,
        reschedule_at=later,
    )
    assert (settled.status, settled.deliver_at, settled.attempts) == (
        TouchStatus.SCHEDULED,
        later,
        0,
    )


def test_the_next_step_follows_the_temperature_now_and_the_last_completes() -> None:
    cold = next_step(
        sequence=SEQUENCE,
        enrollment_id=1,
        done_index=0,
        done_at=NOW,
        contact=_contact(temperature=Temperature.COLD),
        calendar=_calendar(),
    )
    hot = next_step(
        sequence=SEQUENCE,
        enrollment_id=1,
        done_index=0,
        done_at=NOW,
        contact=_contact(temperature=Temperature.HOT),
        calendar=_calendar(),
    )
    assert cold.next_due_at is not None
    assert hot.next_due_at is not None
    assert hot.next_due_at < cold.next_due_at
    assert (cold.next_index, cold.completed) == (1, False)
    last = next_step(
        sequence=SEQUENCE,
        enrollment_id=1,
        done_index=2,
        done_at=NOW,
        contact=_contact(),
        calendar=_calendar(),
    )
    assert (last.completed, last.next_due_at) == (True, None)


def test_rescoring_fades_interest_and_says_whether_anything_changed(
    scoring_model: ScoringModel,
) -> None:
    quiet = _contact()
    assert rescore(quiet, None, scoring_model, NOW) is False
    rule = next(r for r in scoring_model.interest.rules if r.half_life_days)
    long_ago = (NOW - timedelta(days=120)).timestamp()
    state = InterestState({rule.event.value: RuleState(20.0, long_ago, 1)})
    faded = _contact(interest=20.0, score=20)
    assert rescore(faded, state, scoring_model, NOW) is True
    assert faded.interest < 20.0
