"""Public holidays, from the ``holidays`` package."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays as holidays_package

from nurture.domain.cadence import HolidayCheck

__all__ = ["holiday_check", "known_holiday_region"]


def _none(_day: date) -> bool:
    return False


@cache
def holiday_check(region: str | None) -> HolidayCheck:
    """A predicate for the public holidays of ``region`` (``FR``, ``US-NY``, ``CA-QC``).

    A region the package does not know has no holidays (rather than blocking every send).
    """
    if not region:
        return _none
    country, _, subdivision = region.partition("-")
    try:
        calendar = holidays_package.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError:
        return _none

    def is_holiday(day: date) -> bool:
        return day in calendar

    return is_holiday


@cache
def known_holiday_region(region: str) -> bool:
    """Whether the ``holidays`` package has a calendar for ``region`` (``FR``, ``US-NY``)."""
    country, _, subdivision = region.partition("-")
    try:
        holidays_package.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError:
        return False
    return True
