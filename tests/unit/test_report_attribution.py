"""Which step an answer without a touch id is credited to: the contact's last email in
the 7 days before it, never a call; else it is counted as unattributed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from nurture.views.reports import _Steps

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Data:
    def __init__(self, touches: list[Any], events: list[tuple[str, int | None, int, datetime]]):
        self._touches, self._events = touches, events

    def touches(self, since: datetime | None) -> Iterable[Any]:
        return self._touches

    def applied_events(self, kinds: Iterable[str], since: datetime | None) -> Iterable[Any]:
        return [e for e in self._events if e[0] in set(kinds)]

    def deferral_reasons(self, since: datetime | None) -> Iterable[str]:
        return []


def _touch(touch_id: int, step: str, channel: str, sent_at: datetime, address: str) -> Any:
    return SimpleNamespace(
        id=touch_id, contact_id=1, sequence_id="cold-outbound", step_id=step, channel=channel,
        status="sent", sent_at=sent_at, step_index=touch_id, address=address,
    )  # fmt: skip


def _steps(events: list[tuple[str, int | None, int, datetime]]) -> _Steps:
    data = _Data(
        [
            _touch(1, "email-1", "email", MONDAY, "jean@acme.fr"),
            _touch(2, "call-2", "call", MONDAY + timedelta(days=1), "+33612345678"),
        ],
        events,
    )
    steps = _Steps()
    steps.add_touches(data, None)  # type: ignore[arg-type]
    steps.add_events(data, None)  # type: ignore[arg-type]
    return steps


def test_an_open_without_a_touch_goes_to_the_last_email_not_the_call() -> None:
    steps = _steps([("email_open", None, 1, MONDAY + timedelta(days=2))])
    assert steps.counts[("cold-outbound", "email-1")]["opened"] == 1
    assert steps.counts[("cold-outbound", "call-2")]["opened"] == 0
    assert not steps.unattributed


def test_an_answer_more_than_seven_days_after_the_email_is_unattributed() -> None:
    steps = _steps([("email_click", None, 1, MONDAY + timedelta(days=8))])
    assert steps.counts[("cold-outbound", "email-1")]["clicked"] == 0
    assert steps.unattributed == {"clicked": 1}


def test_an_answer_naming_its_touch_is_credited_to_it() -> None:
    steps = _steps([("email_open", 1, 1, MONDAY + timedelta(days=30))])
    assert steps.counts[("cold-outbound", "email-1")]["opened"] == 1
