"""A touch's states: every outcome of a batch leaves the touch in a known status."""

from __future__ import annotations

from nurture.domain.touches import ACTIVE, COUNTED, SETTLED, STATUS_AFTER, Outcome, TouchStatus


def test_every_outcome_leaves_a_status() -> None:
    assert set(STATUS_AFTER) == set(Outcome)
    assert STATUS_AFTER[Outcome.REQUEUED] is TouchStatus.SCHEDULED
    assert STATUS_AFTER[Outcome.RESCHEDULED] is TouchStatus.SCHEDULED
    assert STATUS_AFTER[Outcome.UNKNOWN] is TouchStatus.UNKNOWN


def test_only_settled_touches_move_the_enrollment_on() -> None:
    assert {TouchStatus.SENT, TouchStatus.FAILED, TouchStatus.CANCELLED} == SETTLED
    assert TouchStatus.UNKNOWN not in SETTLED  # reconciled first, never resent blindly


def test_the_budget_counts_what_left_or_will() -> None:
    assert {
        TouchStatus.SCHEDULED,
        TouchStatus.SENDING,
        TouchStatus.SENT,
        TouchStatus.UNKNOWN,
    } == COUNTED
    assert ACTIVE <= COUNTED
    assert "scheduled" in COUNTED  # rows read back from the database hold plain text
