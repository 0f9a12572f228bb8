from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nurture.domain.contacts import Bant, Stage
from nurture.domain.events import EventType
from nurture.domain.lifecycle import ALLOWED_TRANSITIONS, change_stage, stage_changes
from nurture.domain.scoring import ScoringModel
from nurture.errors import IllegalTransition

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
QUALIFIED = Bant(need="SOC for 3 plants", authority="decision_maker")


def changes(
    stage: Stage,
    *,
    score: int = 0,
    bant: Bant | None = None,
    events: tuple[str, ...] = (),
    last_interest: datetime | None = None,
    since: datetime | None = None,
):
    return stage_changes(
        stage=stage,
        score=score,
        bant=bant or Bant(),
        new_events=events,
        last_interest_at=last_interest,
        stage_since=since,
        now=NOW,
        model=ScoringModel(),
    )


def test_every_change_carries_its_reason_and_time() -> None:
    change = change_stage(Stage.CONTACT, Stage.LEAD, reason="form fill", at=NOW, event="form_fill")
    assert (change.from_stage, change.to_stage, change.reason, change.at) == (
        Stage.CONTACT,
        Stage.LEAD,
        "form fill",
        NOW,
    )


def test_illegal_transitions_are_rejected_with_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match="cannot go from contact to prospect"):
        change_stage(Stage.CONTACT, Stage.PROSPECT, reason="x", at=NOW)
    with pytest.raises(IllegalTransition, match="allowed: none"):
        change_stage(Stage.CUSTOMER, Stage.LEAD, reason="x", at=NOW)
    with pytest.raises(IllegalTransition, match="already"):
        change_stage(Stage.LEAD, Stage.LEAD, reason="x", at=NOW)
    with pytest.raises(IllegalTransition, match="needs a reason"):
        change_stage(Stage.CONTACT, Stage.LEAD, reason=" ", at=NOW)


@pytest.mark.parametrize("intent", [None, "meeting_booked", "quote_request", "demo_request"])
def test_intent_never_makes_a_customer(intent: str | None) -> None:
    with pytest.raises(IllegalTransition, match="only a purchase"):
        change_stage(Stage.PROSPECT, Stage.CUSTOMER, reason="signed meeting", at=NOW, event=intent)


def test_first_sign_of_interest_makes_a_lead() -> None:
    [change] = changes(Stage.CONTACT, events=("email_open", "form_fill"))
    assert change.to_stage == Stage.LEAD
    assert "form_fill" in change.reason
    assert changes(Stage.CONTACT, events=("email_open", "email_delivered")) == []


def test_a_qualified_lead_becomes_a_prospect() -> None:
    [change] = changes(Stage.LEAD, score=74, bant=QUALIFIED)
    assert change.to_stage == Stage.PROSPECT
    assert "74 ≥ 70" in change.reason


def test_score_alone_does_not_qualify() -> None:
    assert changes(Stage.LEAD, score=95, bant=Bant(need="SOC")) == []
    assert changes(Stage.LEAD, score=69, bant=QUALIFIED) == []


def test_contact_can_go_through_lead_to_prospect_in_one_evaluation() -> None:
    result = changes(Stage.CONTACT, score=80, bant=QUALIFIED, events=("meeting_booked",))
    assert [c.to_stage for c in result] == [Stage.LEAD, Stage.PROSPECT]


def test_a_prospect_without_interest_is_recycled() -> None:
    [change] = changes(Stage.PROSPECT, score=75, last_interest=NOW - timedelta(days=91))
    assert change.to_stage == Stage.RECYCLED
    assert "91 days" in change.reason
    assert changes(Stage.PROSPECT, score=75, last_interest=NOW - timedelta(days=30)) == []


def test_a_recycled_contact_needs_a_fresh_signal_to_be_a_prospect_again() -> None:
    assert changes(Stage.RECYCLED, score=80, bant=QUALIFIED) == []
    [change] = changes(Stage.RECYCLED, score=80, bant=QUALIFIED, events=("replied",))
    assert change.to_stage == Stage.PROSPECT


@pytest.mark.parametrize("stage", [s for s in Stage if s != Stage.CUSTOMER])
def test_a_purchase_makes_a_customer_from_any_stage(stage: Stage) -> None:
    [change] = changes(stage, events=(EventType.PURCHASE,))
    assert change.to_stage == Stage.CUSTOMER
    assert change.event == EventType.PURCHASE


@given(
    stage=st.sampled_from(list(Stage)),
    score=st.integers(min_value=0, max_value=100),
    events=st.lists(st.sampled_from([e.value for e in EventType if e != EventType.PURCHASE])),
    need=st.booleans(),
    authority=st.booleans(),
    idle_days=st.integers(min_value=0, max_value=400),
)
def test_only_a_purchase_yields_customer(
    stage: Stage, score: int, events: list[str], need: bool, authority: bool, idle_days: int
) -> None:
    bant = Bant(need="x" if need else None, authority="y" if authority else None)
    result = changes(
        stage,
        score=score,
        bant=bant,
        events=tuple(events),
        last_interest=NOW - timedelta(days=idle_days),
    )
    assert all(c.to_stage != Stage.CUSTOMER for c in result)
    for change in result:  # and every move is one the state machine allows
        assert change.to_stage in ALLOWED_TRANSITIONS[change.from_stage]
