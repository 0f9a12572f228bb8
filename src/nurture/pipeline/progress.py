"""Moving an enrollment along: the next step's due time, completion and chaining."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.domain.cadence import Calendar, Holidays, calendar_for
from nurture.domain.contacts import Contact
from nurture.domain.enrollment import EnrollmentStatus
from nurture.domain.planning import Progress, next_step
from nurture.domain.sequences import Sequence
from nurture.pipeline.lifecycle import RunContext, enroll_automatically
from nurture.ports import UnitOfWork

__all__ = ["Calendars", "Progress", "advance", "next_step"]


@dataclass
class Calendars:
    """Calendars by (window, time zone, country): many contacts share one."""

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


def advance(
    *,
    uow: UnitOfWork,
    progress: list[tuple[Progress, Sequence, Contact]],
    ctx: RunContext,
    at: datetime,
) -> int:
    """Write where enrollments go next; complete finished ones and follow ``on_complete``.

    Returns how many enrollments completed.
    """
    due_rows = [
        {"_id": p.enrollment_id, "next_due_at": p.next_due_at, "last_touch_at": at}
        for p, _, _ in progress
        if not p.completed
    ]
    uow.enrollments.reschedule(due_rows)
    completed = 0
    for item, sequence, contact in progress:
        if not item.completed:
            continue
        uow.enrollments.end(
            item.enrollment_id, status=EnrollmentStatus.COMPLETED, reason=None, at=at
        )
        uow.journal.add(
            "completed",
            f"{sequence.id} v{sequence.version}: all {len(sequence.steps)} steps done",
            at=at,
            contact_id=contact.id,
            enrollment_id=item.enrollment_id,
            run_id=ctx.run_id,
        )
        completed += 1
        if sequence.on_complete is not None:
            enroll_automatically(
                uow=uow,
                contact=contact,
                sequence_id=sequence.on_complete.enroll,
                reason=f"on_complete of {sequence.id}",
                ctx=ctx,
            )
    return completed
