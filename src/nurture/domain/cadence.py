"""When the next touch is due: business days, send windows, time zones and holidays.

All datetimes in and out are aware; arithmetic on days happens in the contact's wall-clock
time, so "two business days later at the same hour" survives a daylight-saving change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nurture.domain.contacts import Contact, DealBand, Temperature
from nurture.domain.sequences import Cadence, SendWindow, Sequence

__all__ = ["Calendar", "Calendars", "HolidayCheck", "Holidays", "calendar_for", "due_after"]

HolidayCheck = Callable[[date], bool]
#: The public holidays of a region (``FR``, ``US-NY``; ``None``: none), as a predicate.
Holidays = Callable[[str | None], HolidayCheck]

_HORIZON_DAYS = 400  # a window that never opens within this is a configuration error


# Kinds of memoised answers about a day (module constants: one name, one meaning).
_BUSINESS, _OPEN, _BOUNDS, _SKIP, _AFTER = "business", "open", "bounds", "skip", "after"
# Keys of the last moment asked about, with its answer: a batch asks about its own now
# for every touch, and planning about the run's now for every step already due.
_CLOSES, _NEXT = ("closes",), ("next",)
_UNKNOWN = object()
#: Answers a calendar keeps before it starts again.
_MEMO_LIMIT = 20_000


def _no_holidays(_day: date) -> bool:
    return False


@dataclass(frozen=True)
class Calendar:
    """One contact's send window: time zone, allowed days and hours, public holidays."""

    zone: ZoneInfo
    window: SendWindow
    is_holiday: HolidayCheck = _no_holidays
    # Days already worked out (a run asks about the same few days thousands of times).
    _days: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    def _memo(self, kind: str, day: date, compute: Callable[[], Any], *extra: Any) -> Any:
        key = (kind, day, *extra)
        value = self._days.get(key, _UNKNOWN)
        if value is _UNKNOWN:
            value = compute()
            self._keep(key, value)
        return value

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        # A calendar lives as long as its application (a run, or a server answering for
        # weeks, whose moments are ever new): past the limit, it starts again.
        if len(self._days) >= _MEMO_LIMIT:
            self._days.clear()
        self._days[key] = value

    def is_business_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday: what gaps are counted in."""
        result: bool = self._memo(
            _BUSINESS, day, lambda: day.weekday() < 5 and not self.is_holiday(day)
        )
        return result

    def is_open_day(self, day: date) -> bool:
        """A day of the send window that is not a public holiday: when touches may land."""
        result: bool = self._memo(
            _OPEN, day, lambda: day.weekday() in self.window.weekdays and not self.is_holiday(day)
        )
        return result

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        result: tuple[datetime, datetime] = self._memo(_BOUNDS, day, lambda: self._compute(day))
        return result

    def _compute(self, day: date) -> tuple[datetime, datetime]:
        start = _localise(datetime.combine(day, self.window.start), self.zone)
        end_time = self.window.end
        if end_time is None:
            end = _localise(datetime.combine(day + timedelta(days=1), time()), self.zone)
        else:
            end = _localise(datetime.combine(day, end_time), self.zone)
        return start, end

    def in_window(self, at: datetime) -> bool:
        """Whether ``at`` lies inside the window (on a business day, within the hours)."""
        local = at.astimezone(self.zone)
        if not self.is_open_day(local.date()):
            return False
        start, end = self._bounds(local.date())
        return start <= at < end

    def _last(self, key: tuple[str], at: datetime, compute: Callable[[datetime], Any]) -> Any:
        """``compute(at)``, remembered for the last moment asked under ``key`` (one tuple,
        replaced whole, so threads never see half of it)."""
        last = self._days.get(key)
        if last is not None and last[0] == at:
            return last[1]
        value = compute(at)
        self._keep(key, (at, value))
        return value

    def closes_at(self, at: datetime) -> datetime | None:
        """When the window that ``at`` lies in closes (``None`` when it is closed); the last
        answer is remembered (asked twice per touch before: 0.4 s a worker at 1M)."""
        closes: datetime | None = self._last(_CLOSES, at, self._closes_at)
        return closes

    def _closes_at(self, at: datetime) -> datetime | None:
        return self._bounds(at.astimezone(self.zone).date())[1] if self.in_window(at) else None

    def next_open(self, at: datetime) -> datetime:
        """The earliest moment at or after ``at`` inside the window (UTC); the last answer
        is remembered (planning asked it per step: 0.3 s a worker at 1M)."""
        opens: datetime = self._last(_NEXT, at, self._next_open)
        return opens

    def _next_open(self, at: datetime) -> datetime:
        day = at.astimezone(self.zone).date()
        for _ in range(_HORIZON_DAYS):
            if self.is_open_day(day):
                start, end = self._bounds(day)
                candidate = max(at, start)
                if candidate < end:
                    return candidate.astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError(f"send window {self.window.hours} never opens within a year")

    def _skip_business_days(self, start: date, whole: int) -> date:
        """The day ``whole`` business days after ``start``."""

        def compute() -> date:
            day, left = start, whole
            while left > 0:
                day += timedelta(days=1)
                if self.is_business_day(day):
                    left -= 1
            return day

        found: date = self._memo(_SKIP, start, compute, whole)
        return found

    def open_after(self, at: datetime, days: float) -> datetime:
        """The first open moment ``days`` business days after ``at``; remembered, because
        the touches of a run share their done time."""
        key = (_AFTER, at, days)
        found: datetime | None = self._days.get(key)
        if found is None:
            found = self.next_open(self.add_business_days(at, days))
            self._keep(key, found)
        return found

    def add_business_days(self, at: datetime, days: float) -> datetime:
        """``at`` plus ``days`` business days (Monday to Friday, holidays skipped); the
        fraction is added as wall-clock hours."""
        if days < 0:
            raise ValueError("cannot go back in business days")
        local = at.astimezone(self.zone).replace(tzinfo=None)
        whole = math.floor(days)
        fraction = days - whole
        day = self._skip_business_days(local.date(), whole)
        wall = datetime.combine(day, local.time()) + timedelta(hours=24 * fraction)
        return _localise(wall, self.zone).astimezone(UTC)


def _localise(wall: datetime, zone: ZoneInfo) -> datetime:
    """Attach ``zone`` to a wall-clock time; a time skipped by a DST change moves forward."""
    aware = wall.replace(tzinfo=zone, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != wall:  # in a spring-forward gap
        return round_trip
    return aware


def due_after(
    done_at: datetime,
    *,
    cadence: Cadence,
    step_gap: float,
    temperature: Temperature,
    band: DealBand,
    calendar: Calendar,
) -> datetime:
    """When a step is due, given that the previous touch was done at ``done_at``.

    The gap comes from the contact's temperature and deal band *now*, so a contact that
    heats up is followed up sooner; the result lies inside the contact's send window.
    """
    return calendar.open_after(done_at, cadence.gap_days(temperature, band, step_gap))


def calendar_for(
    window: SendWindow,
    *,
    contact_timezone: str | None,
    contact_country: str | None,
    default_timezone: str,
    default_country: str | None,
    holidays: Callable[[str | None], HolidayCheck],
) -> Calendar:
    """The calendar a sequence's window gives one contact.

    ``timezone: contact`` uses the contact's own time zone (else the default);
    ``holidays: contact`` uses the contact's country (else the default country).
    """
    zone_name = window.timezone if window.timezone != "contact" else contact_timezone
    zone = ZoneInfo(zone_name or default_timezone)
    region = window.holidays
    if region == "contact":
        region = contact_country or default_country
    return Calendar(zone=zone, window=window, is_holiday=holidays(region))


@dataclass
class Calendars:
    """Calendars by (window, time zone, country): many contacts share one, and the
    batches of a run in one process share them with what each has worked out."""

    default_timezone: str
    default_region: str | None
    holidays: Holidays
    _cache: dict[tuple[Any, ...], Calendar] = field(default_factory=dict)

    def for_contact(self, sequence: Sequence, contact: Contact) -> Calendar:
        """The calendar ``sequence``'s window gives ``contact``."""
        key = (sequence.id, sequence.version, contact.timezone, contact.country)
        calendar = self._cache.get(key)
        if calendar is None:
            calendar = calendar_for(
                sequence.send_window,
                contact_timezone=contact.timezone,
                contact_country=contact.country,
                default_timezone=self.default_timezone,
                default_country=self.default_region,
                holidays=self.holidays,
            )
            self._cache[key] = calendar
        return calendar
