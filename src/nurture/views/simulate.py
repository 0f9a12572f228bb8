"""``nurture simulate``: forecast touches per day and channel; sends and changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nurture.domain.cadence import Calendar, Holidays, calendar_for
from nurture.domain.contacts import Contact
from nurture.domain.forecast import ForecastStart, forecast
from nurture.domain.scoring import ScoringModel, fit_score
from nurture.domain.sequences import Sequence
from nurture.ports import UnitOfWork
from nurture.samples import generate_contacts
from nurture.specs.contact_rows import RowDefaults
from nurture.specs.project import Project

__all__ = ["sample_contacts", "simulate"]


def sample_contacts(count: int, scoring: ScoringModel, defaults: RowDefaults) -> list[Contact]:
    """Generated (never stored) contacts, scored on fit, for forecasts on an empty base."""
    out = []
    for index, persona in enumerate(generate_contacts(count), start=1):
        row = persona.row
        contact = Contact(
            id=-index,
            email=row["email"],
            first_name=row["first_name"],
            company=row["company"],
            role=row["role"],
            sector=row["sector"],
            company_size=int(row["company_size"]),
            country=row["country"],
            timezone=row["timezone"] or defaults.timezone,
            language=row["language"],
            phone=row["phone"] or None,
            deal_value=float(row["deal_value"]) if row["deal_value"] else None,
        )
        contact.consent.sms = row["consent_sms"] == "yes"
        contact.fit, _ = fit_score(scoring, contact)
        contact.score = round(contact.fit)
        contact.temperature = scoring.temperature.of(contact.score)
        contact.deal_band = scoring.deal_bands.of(contact.deal_value)
        out.append(contact)
    return out


def simulate(
    *,
    uow: UnitOfWork,
    project: Project,
    sequence_id: str,
    days: int,
    now: datetime,
    defaults: RowDefaults,
    holidays: Holidays,
    sample: int | None = None,
) -> dict[str, Any]:
    """Touches per day and channel over ``days`` days for the current contacts.

    Contacts already running in the sequence continue from their step; contacts in its
    audience that are not enrolled start now. With ``sample`` (or an empty base), generated
    sample contacts are used instead. Nothing is written.
    """
    sequence = project.sequence(sequence_id)
    starts: list[ForecastStart] = []
    source = "sample"
    if sample is None and uow.contacts.count() > 0:
        source = "contacts"
        starts = _current_starts(uow, sequence, now, defaults, holidays)
    else:
        contacts = sample_contacts(sample or 1000, project.scoring, defaults)
        starts = [
            ForecastStart(c, _calendar(sequence, c, defaults, holidays), 0, now)
            for c in contacts
            if sequence.audience.refusal(c) is None
        ]
    zone = ZoneInfo(defaults.timezone)
    by_day = forecast(sequence, starts, start=now, days=days, zone=zone)
    totals: Counter[str] = Counter()
    for counts in by_day.values():
        totals.update(counts)
    peak = max(by_day.items(), key=lambda kv: sum(kv[1].values()), default=None)
    return {
        "sequence": sequence.id,
        "version": sequence.version,
        "from": now.isoformat(),
        "days": days,
        "source": source,
        "contacts": len(starts),
        "by_day": [{"date": d.isoformat(), **dict(c)} for d, c in by_day.items()],
        "totals": dict(totals),
        "peak": {"date": peak[0].isoformat(), "touches": sum(peak[1].values())} if peak else None,
    }


def _calendar(
    sequence: Sequence, contact: Contact, defaults: RowDefaults, holidays: Holidays
) -> Calendar:
    return calendar_for(
        sequence.send_window,
        contact_timezone=contact.timezone,
        contact_country=contact.country,
        default_timezone=defaults.timezone,
        default_country=defaults.region,
        holidays=holidays,
    )


def _current_starts(
    uow: UnitOfWork,
    sequence: Sequence,
    now: datetime,
    defaults: RowDefaults,
    holidays: Holidays,
) -> list[ForecastStart]:
    running = {e.contact_id: e for e in uow.enrollments.running_in(sequence.id)}
    people = uow.contacts.for_run(list(running))
    starts = []
    for contact_id, enrollment in running.items():
        if enrollment.version != sequence.version:
            continue  # pinned to an older version: `nurture sequences migrate` first
        if enrollment.step_index >= len(sequence.steps):
            continue
        contact = people[contact_id]
        due = enrollment.next_due_at or now
        starts.append(
            ForecastStart(
                contact,
                _calendar(sequence, contact, defaults, holidays),
                enrollment.step_index,
                due,
            )
        )
    for contact in uow.contacts.iter_contacts():
        if contact.id in running or sequence.audience.refusal(contact) is not None:
            continue
        starts.append(
            ForecastStart(contact, _calendar(sequence, contact, defaults, holidays), 0, now)
        )
    return starts
