from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nurture.adapters.holidays import holiday_check
from nurture.domain.cadence import Calendar, calendar_for, due_after
from nurture.domain.contacts import DealBand, Temperature
from nurture.domain.sequences import Cadence, SendWindow

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], hours="09:00-18:00")
CADENCE = Cadence()  # cold 7, warm 4, hot 2; small 0.75, medium 1, large 1.5


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def test_gap_is_temperature_times_deal_size_times_step_gap() -> None:
    assert CADENCE.gap_days(Temperature.COLD, DealBand.LARGE, 0.5) == 7 * 1.5 * 0.5
    assert CADENCE.gap_days(Temperature.HOT, DealBand.SMALL, 1.0) == 2 * 0.75


def test_business_days_skip_weekends_and_french_holidays() -> None:
    calendar = Calendar(PARIS, WINDOW, holiday_check("FR"))
    thursday = paris(date(2026, 4, 30), 10)  # Friday 1 May is Labour Day
    later = calendar.add_business_days(thursday, 1)
    assert later.astimezone(PARIS) == paris(date(2026, 5, 4), 10)  # Monday


def test_due_time_moves_into_the_next_window() -> None:
    calendar = Calendar(PARIS, WINDOW, holiday_check("FR"))
    friday_evening = paris(date(2026, 3, 6), 19, 30)
    assert calendar.next_open(friday_evening).astimezone(PARIS) == paris(date(2026, 3, 9), 9)
    inside = paris(date(2026, 3, 9), 11, 15)
    assert calendar.next_open(inside) == inside


def test_a_window_can_be_a_few_days_a_week_without_stretching_the_gaps() -> None:
    window = SendWindow(days=["tue", "wed", "thu"], hours="09:30-11:30")
    calendar = Calendar(PARIS, window, holiday_check("FR"))
    monday = paris(date(2026, 3, 2), 10)
    # 5 business days = one calendar week; then the next Tuesday-to-Thursday morning.
    due = calendar.next_open(calendar.add_business_days(monday, 5))
    assert due.astimezone(PARIS) == paris(date(2026, 3, 10), 9, 30)


def test_the_contacts_own_time_zone_and_country_are_used() -> None:
    calendar = calendar_for(
        WINDOW,
        contact_timezone="America/New_York",
        contact_country="US",
        default_timezone="Europe/Paris",
        default_country="FR",
        holidays=holiday_check,
    )
    # 08:00 in Paris on a Monday is 02:00 in New York: wait for 09:00 New York time.
    due = calendar.next_open(paris(date(2026, 3, 16), 8))
    assert due.astimezone(NEW_YORK).hour == 9
    # July 4th is a holiday in New York, not in Paris.
    assert not calendar.in_window(datetime(2026, 7, 3, 14, tzinfo=NEW_YORK))  # observed Fri
    assert calendar.is_holiday(date(2026, 7, 3))


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Europe/Paris springs forward on 29 March 2026, falls back on 25 October 2026.
        ("Europe/Paris", datetime(2026, 3, 27, 10), datetime(2026, 3, 30, 10)),
        ("Europe/Paris", datetime(2026, 10, 23, 10), datetime(2026, 10, 26, 10)),
        # America/New_York: 8 March and 1 November 2026.
        ("America/New_York", datetime(2026, 3, 6, 10), datetime(2026, 3, 9, 10)),
        ("America/New_York", datetime(2026, 10, 30, 10), datetime(2026, 11, 2, 10)),
    ],
)
def test_a_business_day_keeps_the_wall_clock_hour_across_daylight_saving(
    zone: str, before: datetime, after: datetime
) -> None:
    tz = ZoneInfo(zone)
    calendar = Calendar(tz, WINDOW)
    due = calendar.add_business_days(before.replace(tzinfo=tz), 1)
    assert due.astimezone(tz).replace(tzinfo=None) == after
    assert due - before.replace(tzinfo=tz) != timedelta(days=3)  # 71 or 73 real hours


# --- properties ----------------------------------------------------------------------

_zones = st.sampled_from(
    ["Europe/Paris", "America/New_York", "America/Montreal", "Asia/Tokyo", "Australia/Sydney"]
)
_moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
_windows = st.builds(
    SendWindow,
    days=st.lists(
        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat"]), min_size=1, unique=True
    ),
    hours=st.sampled_from(["09:00-18:00", "08:30-12:00", "14:00-17:30", "00:00-24:00"]),
)
_cadences = st.builds(
    lambda cold, warm_share, hot_share, small, medium_extra, large_extra: Cadence(
        gaps={
            Temperature.COLD: cold,
            Temperature.WARM: cold * warm_share,
            Temperature.HOT: cold * warm_share * hot_share,
        },
        deal_size={
            DealBand.SMALL: small,
            DealBand.MEDIUM: small + medium_extra,
            DealBand.LARGE: small + medium_extra + large_extra,
        },
    ),
    st.floats(0, 30),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0.1, 2),
    st.floats(0, 2),
    st.floats(0, 2),
)
_temperatures = st.sampled_from(list(Temperature))
_bands = st.sampled_from(list(DealBand))


def _calendar(zone: str, window: SendWindow, region: str | None = "FR") -> Calendar:
    return Calendar(ZoneInfo(zone), window, holiday_check(region))


@settings(max_examples=300, deadline=None)
@given(
    at=_moments,
    zone=_zones,
    window=_windows,
    cadence=_cadences,
    temperature=_temperatures,
    band=_bands,
    step_gap=st.floats(0, 3),
)
def test_a_computed_due_time_always_lies_inside_the_window(
    at: datetime,
    zone: str,
    window: SendWindow,
    cadence: Cadence,
    temperature: Temperature,
    band: DealBand,
    step_gap: float,
) -> None:
    calendar = _calendar(zone, window)
    due = due_after(
        at,
        cadence=cadence,
        step_gap=step_gap,
        temperature=temperature,
        band=band,
        calendar=calendar,
    )
    assert calendar.in_window(due)
    assert due >= at


@settings(max_examples=300, deadline=None)
@given(
    at=_moments,
    zone=_zones,
    window=_windows,
    cadence=_cadences,
    band=_bands,
    step_gap=st.floats(0, 3),
)
def test_a_hotter_contact_never_waits_longer_than_a_colder_one(
    at: datetime, zone: str, window: SendWindow, cadence: Cadence, band: DealBand, step_gap: float
) -> None:
    calendar = _calendar(zone, window)
    due = {
        t: due_after(
            at, cadence=cadence, step_gap=step_gap, temperature=t, band=band, calendar=calendar
        )
        for t in Temperature
    }
    assert due[Temperature.HOT] <= due[Temperature.WARM] <= due[Temperature.COLD]


@settings(max_examples=300, deadline=None)
@given(
    at=_moments,
    zone=_zones,
    window=_windows,
    cadence=_cadences,
    temperature=_temperatures,
    step_gap=st.floats(0, 3),
)
def test_a_larger_deal_band_never_waits_less_than_a_smaller_one(
    at: datetime,
    zone: str,
    window: SendWindow,
    cadence: Cadence,
    temperature: Temperature,
    step_gap: float,
) -> None:
    calendar = _calendar(zone, window)
    due = {
        b: due_after(
            at,
            cadence=cadence,
            step_gap=step_gap,
            temperature=temperature,
            band=b,
            calendar=calendar,
        )
        for b in DealBand
    }
    assert due[DealBand.SMALL] <= due[DealBand.MEDIUM] <= due[DealBand.LARGE]


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    zone=st.sampled_from(["Europe/Paris", "America/New_York"]),
    minutes=st.integers(0, 24 * 60 - 1),
)
def test_daylight_saving_days_never_yield_a_time_outside_the_window(
    day: date, zone: str, minutes: int
) -> None:
    calendar = _calendar(zone, WINDOW, None)
    tz = ZoneInfo(zone)
    local = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=minutes)
    assume(local.tzinfo is not None)
    due = calendar.next_open(local.astimezone(UTC))
    assert calendar.in_window(due)
    hour = due.astimezone(tz).hour
    assert 9 <= hour < 18


def test_a_calendar_that_lives_long_keeps_a_bounded_memory_and_right_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server's calendars answer for weeks about ever new moments: past its limit a
    calendar forgets what it worked out, and its answers stay those of a fresh one."""
    from nurture.domain import cadence

    monkeypatch.setattr(cadence, "_MEMO_LIMIT", 8)
    window = SendWindow(hours="09:00-18:00", days=["mon", "tue", "wed", "thu", "fri"])
    kept = Calendar(ZoneInfo("Europe/Paris"), window, holiday_check("FR"))
    start = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)
    for hour in range(0, 24 * 12, 5):
        at = start + timedelta(hours=hour)
        fresh = Calendar(ZoneInfo("Europe/Paris"), window, holiday_check("FR"))
        assert kept.next_open(at) == fresh.next_open(at)
        assert kept.closes_at(at) == fresh.closes_at(at)
        assert kept.open_after(at, 2.5) == fresh.open_after(at, 2.5)
        assert len(kept._days) <= 8


def test_the_batches_of_a_run_share_their_calendars() -> None:
    """Each batch of a run has its own run context; the application's calendars, with
    what they have worked out, go from one to the next."""
    from types import SimpleNamespace

    from nurture.bootstrap import App
    from nurture.pipeline.lifecycle import RunContext

    settings = SimpleNamespace(project=SimpleNamespace(default_timezone="Europe/Paris",
                                                       default_region="FR"))  # fmt: skip
    app = SimpleNamespace(settings=settings, holidays=holiday_check)
    shared = App.calendars.func(app)  # type: ignore[attr-defined]
    assert shared.default_region == "FR"
    first = RunContext(project=None, sender=None, now=datetime.now(UTC),  # type: ignore[arg-type]
                       holidays=holiday_check, calendars=shared)  # fmt: skip
    second = RunContext(project=None, sender=None, now=datetime.now(UTC),  # type: ignore[arg-type]
                        holidays=holiday_check, calendars=shared)  # fmt: skip
    assert first.calendar_book() is second.calendar_book() is shared
    alone = RunContext(project=None, sender=None, now=datetime.now(UTC),  # type: ignore[arg-type]
                       holidays=holiday_check)  # fmt: skip
    assert alone.calendar_book() is alone.calendar_book() is not shared
