"""What a sequence will send, day by day, if nothing changes: ``nurture simulate``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from nurture.domain.cadence import Calendar, due_after
from nurture.domain.contacts import Contact
from nurture.domain.sequences import Sequence

__all__ = ["ForecastStart", "forecast"]


@dataclass(frozen=True)
class ForecastStart:
    """Where one contact stands: the next step and when it is due."""

    contact: Contact
    calendar: Calendar
    step_index: int
    due_at: datetime


def forecast(
    sequence: Sequence,
    starts: Iterable[ForecastStart],
    *,
    start: datetime,
    days: int,
    zone: ZoneInfo,
) -> dict[date, Counter[str]]:
    """Touches per day (in ``zone``) and channel over ``days`` days from ``start``.

    Each contact keeps its temperature and deal band; a step whose ``when`` is false for
    the contact sends nothing and the next gap counts from when it was due.
    """
    end = start + timedelta(days=days)
    out: dict[date, Counter[str]] = defaultdict(Counter)
    for item in starts:
        contact = item.contact
        at = item.calendar.next_open(max(item.due_at, start))
        for index in range(item.step_index, len(sequence.steps)):
            step = sequence.steps[index]
            if index > item.step_index:
                at = due_after(
                    at,
                    cadence=sequence.cadence,
                    step_gap=step.gap,
                    temperature=contact.temperature,
                    band=contact.deal_band,
                    calendar=item.calendar,
                )
            if at >= end:
                break
            if step.applies_to(contact):
                out[at.astimezone(zone).date()][step.channel.value] += 1
    return dict(sorted(out.items()))
