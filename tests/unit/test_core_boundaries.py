"""The domain core at its boundaries: windows that close exactly at their end, scores
exactly at a threshold, caps exactly reached, and every reason word for word."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nurture.domain.cadence import Calendar, _localise, calendar_for
from nurture.domain.contacts import Bant, Contact, Stage, Temperature
from nurture.domain.events import EventType
from nurture.domain.lifecycle import change_stage, stage_changes
from nurture.domain.scoring import (
    Contribution,
    FitRule,
    FitSpec,
    InterestRule,
    InterestSpec,
    InterestState,
    ProspectRule,
    RuleState,
    ScoreCard,
    ScoringModel,
    StageRules,
    combine,
    fit_score,
)
from nurture.domain.sequences import SendWindow
from nurture.errors import IllegalTransition

PARIS = ZoneInfo("Europe/Paris")
WINDOW = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], hours="09:00-18:00")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


# -- cadence -----------------------------------------------------------------------------


def test_without_a_holiday_calendar_every_weekday_is_a_business_day() -> None:
    calendar = Calendar(PARIS, WINDOW)
    assert calendar.is_business_day(date(2026, 5, 1))  # Labour Day, but no calendar given
    assert calendar.is_open_day(date(2026, 5, 1))
    assert not calendar.is_business_day(date(2026, 5, 2))


def test_the_window_closes_at_its_end_exactly() -> None:
    calendar = Calendar(PARIS, WINDOW)
    end = datetime(2026, 3, 2, 18, 0, tzinfo=PARIS)
    assert calendar.in_window(end - timedelta(seconds=1))
    assert not calendar.in_window(end)
    assert calendar.closes_at(end - timedelta(minutes=30)) == end
    assert calendar.closes_at(end) is None
    assert calendar.closes_at(datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)) is None


def test_at_the_closing_time_the_next_opening_is_the_next_day() -> None:
    calendar = Calendar(PARIS, WINDOW)
    opening = calendar.next_open(datetime(2026, 3, 2, 18, 0, tzinfo=PARIS))
    assert opening == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert opening.tzinfo is UTC


def test_a_window_open_all_day_ends_at_midnight() -> None:
    calendar = Calendar(PARIS, SendWindow(days=["mon"], hours="00:00-24:00"))
    assert calendar.closes_at(datetime(2026, 3, 2, 23, 0, tzinfo=PARIS)) == datetime(
        2026, 3, 3, 0, 0, tzinfo=PARIS
    )
    assert not calendar.in_window(datetime(2026, 3, 3, 0, 0, tzinfo=PARIS))


def test_a_window_that_never_opens_says_so() -> None:
    calendar = Calendar(PARIS, WINDOW, lambda _day: True)
    with pytest.raises(ValueError, match=r"^send window 09:00-18:00 never opens within a year$"):
        calendar.next_open(NOW)


def test_business_days_cannot_go_back_and_fractions_are_hours() -> None:
    calendar = Calendar(PARIS, WINDOW)
    with pytest.raises(ValueError, match=r"^cannot go back in business days$"):
        calendar.add_business_days(NOW, -1)
    half = calendar.add_business_days(NOW, 0.5)
    assert half == NOW + timedelta(hours=12)
    assert half.tzinfo is UTC


def test_a_repeated_hour_is_read_as_its_first_occurrence() -> None:
    second = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=1)  # 01:30 UTC
    assert Calendar(PARIS, WINDOW).add_business_days(second, 0) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_a_skipped_hour_moves_forward_and_a_normal_one_stays() -> None:
    skipped = _localise(datetime(2026, 3, 29, 2, 30), PARIS)
    assert (skipped.hour, skipped.minute) == (3, 30)
    assert skipped.utcoffset() == timedelta(hours=2)
    normal = _localise(datetime(2026, 3, 30, 10, 0), PARIS)
    assert (normal.hour, normal.tzinfo) == (10, PARIS)


def test_a_window_in_its_own_time_zone_ignores_the_contacts() -> None:
    window = SendWindow(days=["mon"], hours="09:00-10:00", timezone="Asia/Tokyo")
    calendar = calendar_for(
        window,
        contact_timezone="Europe/Paris",
        contact_country="FR",
        default_timezone="Europe/Paris",
        default_country="FR",
        holidays=lambda _region: lambda _day: False,
    )
    assert calendar.zone == ZoneInfo("Asia/Tokyo")


# -- lifecycle ---------------------------------------------------------------------------


def _changes(stage: Stage, **kwargs: object) -> list:  # type: ignore[type-arg]
    defaults: dict[str, object] = {
        "score": 0,
        "bant": Bant(),
        "new_events": [],
        "last_interest_at": None,
        "stage_since": None,
        "now": NOW,
        "model": ScoringModel(),
    }
    return stage_changes(stage=stage, **(defaults | kwargs))  # type: ignore[arg-type]


def test_refusals_say_exactly_why() -> None:
    with pytest.raises(IllegalTransition) as caught:
        change_stage(Stage.CONTACT, Stage.PROSPECT, reason="x", at=NOW)
    assert str(caught.value) == (
        "cannot go from contact to prospect (allowed: customer, disqualified, lead)"
    )
    with pytest.raises(IllegalTransition) as caught:
        change_stage(Stage.CUSTOMER, Stage.LEAD, reason="x", at=NOW)
    assert str(caught.value) == "cannot go from customer to lead (allowed: none)"
    with pytest.raises(IllegalTransition) as caught:
        change_stage(Stage.LEAD, Stage.CUSTOMER, reason="x", at=NOW, event="meeting_booked")
    assert str(caught.value) == (
        "only a purchase event makes a customer; intent (meeting, proposal, promise) does not"
    )
    with pytest.raises(IllegalTransition) as caught:
        change_stage(Stage.LEAD, Stage.PROSPECT, reason="  ", at=NOW)
    assert str(caught.value) == "a stage change needs a reason"


def test_a_purchase_is_recorded_with_its_event_and_time() -> None:
    [change] = _changes(Stage.LEAD, new_events=[EventType.PURCHASE])
    assert (change.to_stage, change.reason, change.at, change.event) == (
        Stage.CUSTOMER,
        "purchase recorded",
        NOW,
        EventType.PURCHASE,
    )


def test_a_first_signal_is_recorded_with_its_event_and_time() -> None:
    [change] = _changes(Stage.CONTACT, new_events=["email_open", "email_click"])
    assert (change.to_stage, change.reason, change.at, change.event) == (
        Stage.LEAD,
        "first sign of interest: email_click",
        NOW,
        "email_click",
    )


def test_a_lead_exactly_at_the_threshold_becomes_a_prospect() -> None:
    qualified = Bant(need="SOC", authority="dg")
    [change] = _changes(Stage.LEAD, score=70, bant=qualified)
    assert (change.to_stage, change.at, change.event) == (Stage.PROSPECT, NOW, None)
    assert change.reason == "score 70 ≥ 70; need and authority known"
    assert _changes(Stage.LEAD, score=69, bant=qualified) == []


def test_without_required_facts_the_reason_says_so() -> None:
    model = ScoringModel(stages=StageRules(prospect=ProspectRule(require_bant=[])))
    [change] = _changes(Stage.LEAD, score=80, model=model)
    assert change.reason == "score 80 ≥ 70; no BANT fact required known"


def test_a_prospect_is_recycled_exactly_after_the_configured_days() -> None:
    quiet = NOW - timedelta(days=90)
    [change] = _changes(Stage.PROSPECT, last_interest_at=quiet, stage_since=quiet - timedelta(1))
    assert (change.to_stage, change.at) == (Stage.RECYCLED, NOW)
    assert change.reason == "no interest event for 90 days (rule: 90)"
    almost = NOW - timedelta(days=90) + timedelta(seconds=1)
    assert _changes(Stage.PROSPECT, last_interest_at=almost) == []
    assert _changes(Stage.PROSPECT) == []  # nothing to count from


# -- scoring -----------------------------------------------------------------------------

RULE = InterestRule(event=EventType.EMAIL_CLICK, points=10, half_life_days=1, cap=25)


def test_decay_starts_at_once() -> None:
    assert RULE.decay(0) == 1.0
    assert RULE.decay(1) < 1.0
    assert RULE.decay(86_400) == 0.5


@pytest.mark.parametrize(
    ("event", "signal"),
    [
        (EventType.EMAIL_OPEN, True),  # 1 point, not a lead signal: still interest
        (EventType.WEB_VISIT, False),  # a rule worth 0 points is not interest
        (EventType.NOT_INTERESTED, False),
        (EventType.FORM_FILL, True),
        (EventType.SMS_DELIVERED, False),
    ],
)
def test_interest_signals_are_lead_events_and_rules_worth_points(event: str, signal: bool) -> None:
    model = ScoringModel(
        interest=InterestSpec(
            rules=[
                InterestRule(event=EventType.EMAIL_OPEN, points=1),
                InterestRule(event=EventType.WEB_VISIT, points=0),
                InterestRule(event=EventType.NOT_INTERESTED, points=-5),
            ]
        )
    )
    assert model.is_interest_signal(event) is signal


def test_a_rule_state_counts_every_event_and_adds_same_moment_events_fully() -> None:
    state = RuleState()
    state.add(RULE, 1000.0)
    state.add(RULE, 1000.0)
    state.add(RULE, 1000.0 - 86_400)  # a day earlier: faded to the reference
    assert state.count == 3
    assert state.value == 25.0
    assert state.ref == 1000.0


def test_contributions_say_count_points_half_life_and_cap() -> None:
    model = ScoringModel(
        interest=InterestSpec(
            cap=50,
            rules=[
                RULE,
                InterestRule(event=EventType.FORM_FILL, points=20, cap=20),
                InterestRule(event=EventType.NOT_INTERESTED, points=-15),
            ],
        )
    )
    state = InterestState()
    at = NOW
    for _ in range(3):
        state.record(model, EventType.EMAIL_CLICK, at)
    state.record(model, EventType.FORM_FILL, at)
    state.rules["call_voicemail"] = RuleState(5.0, at.timestamp(), 1)  # no rule any more
    state.record(model, EventType.NOT_INTERESTED, at)
    parts = state.contributions(model, at)
    assert parts == [
        Contribution("interest", "email_click", 25.0, "3 × 10, half-life 1 d, capped at 25"),
        Contribution("interest", "form_fill", 20.0, "1 × 20"),
        Contribution("interest", "not_interested", -15.0, "1 × -15"),
    ]


def test_fit_contributions_and_caps_are_explained() -> None:
    model = ScoringModel(
        fit=FitSpec(
            cap=20,
            rules=[
                FitRule(id="size", when="contact.company_size >= 10", points=15, description="big"),
                FitRule(id="sector", when="contact.sector == 'it'", points=10),
            ],
        )
    )
    fit, parts = fit_score(model, Contact(company_size=50, sector="it"))
    assert fit == 20
    assert parts == [
        Contribution("fit", "size", 15, "big"),
        Contribution("fit", "sector", 10, "contact.sector == 'it'"),
        Contribution("fit", "cap", -5, "fit capped at 20"),
    ]
    exactly = ScoringModel(fit=FitSpec(cap=25, rules=model.fit.rules))
    assert fit_score(exactly, Contact(company_size=50, sector="it"))[1][-1].rule == "sector"
    low = ScoringModel(fit=FitSpec(cap=20, rules=[FitRule(id="n", when="True", points=-5)]))
    assert fit_score(low, Contact())[1][-1] == Contribution(
        "fit", "cap", 5, "fit cannot go below 0"
    )


def test_a_score_is_capped_at_100_and_rounded_half_up() -> None:
    model = ScoringModel(
        fit=FitSpec(cap=100),
        interest=InterestSpec(cap=100, rules=[InterestRule(event=EventType.FORM_FILL, points=60)]),
    )
    state = InterestState()
    state.record(model, EventType.FORM_FILL, NOW)
    card = combine(model, 60.0, [], state, NOW)
    assert (card.score, card.fit, card.interest, card.temperature) == (
        100,
        60.0,
        60.0,
        Temperature.HOT,
    )
    assert combine(model, 10.125, [], InterestState(), NOW).fit == 10.12
    half = combine(model, 40.5, [], InterestState(), NOW)
    assert half.score == 41
    assert combine(model, 40.4999999, [], InterestState(), NOW).score == 41  # 6 decimals
    assert [c.part for c in card.contributions] == ["interest"]


def test_a_score_card_explains_itself_line_by_line() -> None:
    card = ScoreCard(
        score=42,
        fit=30.0,
        interest=12.5,
        temperature=Temperature.WARM,
        contributions=(
            Contribution("fit", "size", 30.0, "big"),
            Contribution("interest", "email_click", 12.5, "2 × 10"),
        ),
    )
    assert card.explain() == (
        "score 42 = fit 30 + interest 12.5\n"
        "  fit       +30.00  size: big\n"
        "  interest  +12.50  email_click: 2 × 10"
    )
