"""The sample sequences behave as the sales practice they come from says they should."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from nurture.adapters.holidays import holiday_check
from nurture.bootstrap import project_tools
from nurture.domain.cadence import calendar_for
from nurture.domain.contacts import Consent, Contact, DealBand, Stage, Temperature
from nurture.domain.forecast import ForecastStart, forecast
from nurture.specs.project import Project, load_project

START = datetime(2026, 1, 5, 8, tzinfo=UTC)  # a Monday morning in January
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def project(repo_dir) -> Project:  # type: ignore[no-untyped-def]
    return load_project(repo_dir, tools=project_tools())


def touch_days(
    project: Project,
    sequence_id: str,
    *,
    temperature: Temperature,
    band: DealBand,
    stage: Stage = Stage.LEAD,
    days: int = 400,
) -> list[date]:
    sequence = project.sequence(sequence_id)
    contact = Contact(
        id=1,
        email="a@b.fr",
        phone="+33612345678",
        consent=Consent(sms=True),
        country="FR",
        timezone="Europe/Paris",
        stage=stage,
        temperature=temperature,
        deal_band=band,
    )
    calendar = calendar_for(
        sequence.send_window,
        contact_timezone="Europe/Paris",
        contact_country="FR",
        default_timezone="Europe/Paris",
        default_country="FR",
        holidays=holiday_check,
    )
    by_day = forecast(
        sequence, [ForecastStart(contact, calendar, 0, START)], start=START, days=days, zone=PARIS
    )
    out = []
    for day, counts in by_day.items():
        out += [day] * sum(counts.values())
    return out


def test_cold_outbound_is_two_weeks_of_calls_and_personal_emails(project: Project) -> None:
    sequence = project.sequence("cold-outbound")
    channels = [s.channel.value for s in sequence.steps]
    assert 3 <= channels.count("call") <= 4
    assert channels.count("email") + channels.count("content") >= 3
    days = touch_days(project, "cold-outbound", temperature=Temperature.COLD, band=DealBand.MEDIUM)
    assert len(days) == len(sequence.steps)
    assert 10 <= (days[-1] - days[0]).days <= 18  # about two weeks, weekends included


def test_nurture_is_about_monthly_for_a_year(project: Project) -> None:
    days = touch_days(
        project, "nurture-12-months", temperature=Temperature.COLD, band=DealBand.MEDIUM
    )
    gaps = [(b - a).days for a, b in pairwise(days)]
    assert len(days) == 12
    assert all(25 <= gap <= 40 for gap in gaps), gaps
    assert 300 <= (days[-1] - days[0]).days <= 400


def test_a_warmer_lead_hears_from_the_nurture_sooner(project: Project) -> None:
    cold = touch_days(
        project, "nurture-12-months", temperature=Temperature.COLD, band=DealBand.MEDIUM
    )
    warm = touch_days(
        project, "nurture-12-months", temperature=Temperature.WARM, band=DealBand.MEDIUM
    )
    assert warm[-1] < cold[-1]


def test_hot_prospects_are_followed_weekly_or_faster(project: Project) -> None:
    days = touch_days(
        project,
        "hot-prospect",
        temperature=Temperature.HOT,
        band=DealBand.LARGE,
        stage=Stage.PROSPECT,
    )
    gaps = [(b - a).days for a, b in pairwise(days)]
    assert max(gaps) <= 7, gaps


def test_a_large_ticket_is_followed_more_slowly(project: Project) -> None:
    small = touch_days(
        project,
        "hot-prospect",
        temperature=Temperature.HOT,
        band=DealBand.SMALL,
        stage=Stage.PROSPECT,
    )
    large = touch_days(
        project,
        "hot-prospect",
        temperature=Temperature.HOT,
        band=DealBand.LARGE,
        stage=Stage.PROSPECT,
    )
    assert small[-1] < large[-1]


def test_the_hand_off_starts_the_same_day(project: Project) -> None:
    days = touch_days(
        project,
        "sales-handoff",
        temperature=Temperature.HOT,
        band=DealBand.MEDIUM,
        stage=Stage.PROSPECT,
    )
    assert days[0] == START.astimezone(PARIS).date()
    assert project.sequence("sales-handoff").enroll_on == [Stage.PROSPECT]


def test_onboarding_welcomes_at_once_and_reviews_after_a_quarter(project: Project) -> None:
    days = touch_days(
        project,
        "customer-onboarding",
        temperature=Temperature.COLD,
        band=DealBand.SMALL,
        stage=Stage.CUSTOMER,
    )
    assert days[0] == START.astimezone(PARIS).date()
    assert 75 <= (days[-1] - days[0]).days <= 110
    assert project.sequence("customer-onboarding").enroll_on == [Stage.CUSTOMER]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_template_the_samples_use_exists_in_french_and_english(
    project: Project, language: str
) -> None:
    parts = {"email": ("subject", "html", "txt"), "sms": ("txt",), "call": ("md",)}
    for sequence in project.sequences.values():
        for step in sequence.steps:
            for part in parts[step.sends_on]:
                assert language in project.templates.languages(step.carrier_template, part), (
                    sequence.id,
                    step.id,
                    part,
                )
