"""What follows from a contact's changes: re-scoring, stage rules, exits, chained
enrollments and the owner's hand-off task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nurture.commands.enrollment import enroll_contacts
from nurture.domain.cadence import Calendars, Holidays, calendar_for
from nurture.domain.contacts import Contact, Stage
from nurture.domain.enrollment import Enrollment, EnrollmentStatus
from nurture.domain.lifecycle import StageChange, stage_changes
from nurture.domain.privacy import ErasureKeys
from nurture.domain.scoring import ScoredContact, combine, fit_score
from nurture.domain.sequences import SendWindow, Sequence
from nurture.domain.tasks import CallTask, TaskKind
from nurture.domain.touches import Touch, TouchStatus
from nurture.errors import TemplateError
from nurture.pipeline.rendering import Sender, owner_view, touch_context
from nurture.ports import UnitOfWork
from nurture.specs.project import Project

__all__ = [
    "Effects",
    "RunContext",
    "cancel_touches",
    "evaluate_contacts",
    "exit_enrollments",
    "pending_rules",
    "refresh_decay",
    "stale_prospects",
]

#: The exit reason each stage change gives running enrollments.
_STAGE_EXIT = {
    Stage.PROSPECT: "promoted",
    Stage.CUSTOMER: "customer",
    Stage.RECYCLED: "recycled",
    Stage.DISQUALIFIED: "disqualified",
}
_OFFICE_HOURS = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], hours="09:00-18:00")
_CHUNK = 2000
_HANDOFF_SCRIPT = "calls/handoff"


@dataclass
class Effects:
    """What a run (or a webhook) changed, for summaries and artifacts."""

    stage_changes: Counter[str] = field(default_factory=Counter)
    promotions: list[dict[str, Any]] = field(default_factory=list)
    exits: Counter[str] = field(default_factory=Counter)
    enrolled: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)
    handoff_tasks: int = 0
    rescored: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "stage_changes": dict(self.stage_changes),
            "promotions": self.promotions[:200],
            "exits": dict(self.exits),
            "enrolled": dict(self.enrolled),
            "cancelled": dict(self.cancelled),
            "handoff_tasks": self.handoff_tasks,
            "rescored": self.rescored,
        }


@dataclass
class RunContext:
    """What the services of one run share."""

    project: Project
    sender: Sender
    now: datetime
    #: Public holidays by region (the `holidays` package, through bootstrap).
    holidays: Holidays
    run_id: str | None = None
    default_timezone: str = "Europe/Paris"
    default_region: str = "FR"
    handoff_sla_business_days: float = 1.0
    effects: Effects = field(default_factory=Effects)
    #: Who acts, when a person does (``--by``, an import file); else the run.
    actor: str | None = None
    #: Recognise forgotten people in inbound events (``None``: no key configured).
    erasure: ErasureKeys | None = None
    #: The contacts' calendars, shared by the phases and batches of a run in one process
    #: (``App.run_context`` passes the application's); made here when not given.
    calendars: Calendars | None = None

    def calendar_book(self) -> Calendars:
        """The calendars of this run (see ``calendars``)."""
        if self.calendars is None:
            self.calendars = Calendars(self.default_timezone, self.default_region, self.holidays)
        return self.calendars

    def note(
        self,
        uow: UnitOfWork,
        kind: str,
        reason: str,
        *,
        contact_id: int | None = None,
        enrollment_id: int | None = None,
        touch_id: int | None = None,
    ) -> None:
        """Journal one decision of this run, now."""
        uow.journal.add(
            kind,
            reason,
            at=self.now,
            run_id=self.run_id,
            actor=self.actor,
            contact_id=contact_id,
            enrollment_id=enrollment_id,
            touch_id=touch_id,
        )

    def sequence(self, uow: UnitOfWork, sequence_id: str, version: int) -> Sequence | None:
        """The version an enrollment is pinned to (the file's, if it is that one)."""
        current = self.project.sequences.get(sequence_id)
        if current is not None and current.version == version:
            return current
        return uow.sequences.get(sequence_id, version) or current


def cancel_touches(
    uow: UnitOfWork, touches: Iterable[Touch], *, reason: str, ctx: RunContext
) -> int:
    """Cancel scheduled touches (and the call tasks they made) with ``reason``."""
    cancelled = [t for t in touches if t.status == TouchStatus.SCHEDULED]
    if not cancelled:
        return 0
    uow.touches.update_many(
        [{"id": t.id, "status": TouchStatus.CANCELLED, "reason": reason} for t in cancelled]
    )
    for t in cancelled:
        ctx.note(
            uow,
            "cancelled",
            f"{t.channel} {t.sequence_id}/{t.step_id} due {t.deliver_at.isoformat()}: {reason}",
            contact_id=t.contact_id,
            enrollment_id=t.enrollment_id,
            touch_id=t.id,
        )
    ctx.effects.cancelled[reason.split(":", maxsplit=1)[0]] += len(cancelled)
    return len(cancelled)


def end_enrollment(
    uow: UnitOfWork,
    enrollment: Enrollment,
    *,
    reason: str,
    ctx: RunContext,
    detail: str | None = None,
) -> None:
    """End one enrollment as ``exited:<reason>``, cancel what it had planned, and journal
    it (``detail``: who or what, in words)."""
    uow.enrollments.end(enrollment.id, status=EnrollmentStatus.EXITED, reason=reason, at=ctx.now)
    cancel_touches(
        uow,
        uow.touches.scheduled(enrollment_ids=[enrollment.id]),
        reason=f"exited: {reason}",
        ctx=ctx,
    )
    ctx.note(
        uow,
        "exited",
        f"{enrollment.sequence_id} v{enrollment.version}: exited:{reason}"
        + (f" ({detail})" if detail else ""),
        contact_id=enrollment.contact_id,
        enrollment_id=enrollment.id,
    )


def exit_enrollments(
    *,
    uow: UnitOfWork,
    contact: Contact,
    reason: str,
    ctx: RunContext,
    detail: str | None = None,
) -> list[str]:
    """End the contact's running enrollments whose sequence exits on ``reason``; cancel
    their scheduled touches; enroll per ``on_exit``. Returns the sequences left."""
    assert contact.id is not None
    left = []
    for enrollment in uow.enrollments.for_contact(contact.id):
        if not enrollment.running:
            continue
        sequence = ctx.sequence(uow, enrollment.sequence_id, enrollment.version)
        if sequence is None or not sequence.exits_on(reason):
            continue
        end_enrollment(uow, enrollment, reason=reason, ctx=ctx, detail=detail)
        ctx.effects.exits[reason] += 1
        left.append(sequence.id)
        chained = sequence.on_exit.get(reason)  # type: ignore[call-overload]
        if chained is not None:
            enroll_automatically(
                uow=uow,
                contact=contact,
                sequence_id=chained.enroll,
                reason=f"on_exit {reason} of {sequence.id}",
                ctx=ctx,
            )
    return left


def enroll_automatically(
    *, uow: UnitOfWork, contact: Contact, sequence_id: str, reason: str, ctx: RunContext
) -> bool:
    """Enroll ``contact`` in the current version of ``sequence_id``; refusals other than
    "already enrolled" are journaled."""
    sequence = ctx.project.sequences.get(sequence_id)
    if sequence is None:
        ctx.note(
            uow,
            "enroll_refused",
            f"unknown sequence {sequence_id!r} ({reason})",
            contact_id=contact.id,
        )
        return False
    uow.sequences.register(sequence, now=ctx.now, file=ctx.project.sequence_files.get(sequence.id))
    report = enroll_contacts(
        uow=uow,
        sequence=sequence,
        contacts=[contact],
        now=ctx.now,
        reason=reason,
        run_id=ctx.run_id,
    )
    for _, _, refusal in report.refused:
        if not refusal.startswith("already enrolled"):
            ctx.note(
                uow,
                "enroll_refused",
                f"{sequence.id}: {refusal} ({reason})",
                contact_id=contact.id,
            )
    if report.enrolled:
        ctx.effects.enrolled[sequence.id] += 1
    return bool(report.enrolled)


def evaluate_contacts(
    *,
    uow: UnitOfWork,
    contact_ids: Iterable[int],
    ctx: RunContext,
    known: dict[int, ScoredContact] | None = None,
) -> None:
    """Re-score contacts and apply the stage rules, with every consequence. ``known``
    contacts, as they are stored now, are not read again."""
    ids = sorted(set(contact_ids))
    model = ctx.project.scoring
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if known is not None and all(i in known for i in chunk):
            people = {i: known[i] for i in chunk}
        else:
            people = uow.contacts.scored(chunk)
        updates = []
        for contact_id in sorted(people):
            person = people[contact_id]
            contact = person.contact
            fit, fit_parts = fit_score(model, contact)
            card = combine(model, fit, fit_parts, person.state, ctx.now)
            contact.score, contact.fit, contact.interest = card.score, card.fit, card.interest
            contact.temperature = card.temperature
            contact.deal_band = model.deal_bands.of(contact.deal_value)
            update: dict[str, Any] = {
                "id": contact_id,
                "fit": card.fit,
                "interest": card.interest,
                "score": card.score,
                "temperature": card.temperature.value,
                "deal_band": contact.deal_band.value,
                "scored_at": ctx.now,
                "rules_pending": False,
                "pending_events": [],
            }
            changes = stage_changes(
                stage=contact.stage,
                score=card.score,
                bant=contact.bant,
                new_events=person.pending_events,
                last_interest_at=contact.last_interest_at,
                stage_since=person.stage_changed_at,
                now=ctx.now,
                model=model,
            )
            if not changes:
                updates.append(update)
                continue
            # Written now: the consequences (exits, enrollments) read the new stage and score.
            uow.contacts.update_many([update])
            uow.contacts.add_stage_changes(contact_id, changes)
            for change in changes:
                contact.stage = change.to_stage
                _follow(uow=uow, contact=contact, change=change, card=card, ctx=ctx)
        uow.contacts.update_many(updates)
        ctx.effects.rescored += len(people)


def _follow(
    *, uow: UnitOfWork, contact: Contact, change: StageChange, card: Any, ctx: RunContext
) -> None:
    ctx.effects.stage_changes[change.to_stage.value] += 1
    ctx.note(
        uow,
        "stage",
        f"{change.from_stage.value} → {change.to_stage.value}: {change.reason}",
        contact_id=contact.id,
    )
    reason = _STAGE_EXIT.get(change.to_stage)
    if reason is not None:
        exit_enrollments(uow=uow, contact=contact, reason=reason, ctx=ctx)
    if change.to_stage == Stage.PROSPECT:
        _handoff_task(uow=uow, contact=contact, change=change, card=card, ctx=ctx)
        ctx.effects.promotions.append(
            {
                "contact_id": contact.id,
                "owner": contact.owner,
                "score": card.score,
                "reason": change.reason,
            }
        )
    for sequence in ctx.project.sequences.values():
        if change.to_stage in sequence.enroll_on:
            enroll_automatically(
                uow=uow,
                contact=contact,
                sequence_id=sequence.id,
                reason=f"became {change.to_stage.value}",
                ctx=ctx,
            )


def _handoff_task(
    *, uow: UnitOfWork, contact: Contact, change: StageChange, card: Any, ctx: RunContext
) -> None:
    """The owner's call, due within the hand-off SLA (business days, office hours)."""
    calendar = calendar_for(
        _OFFICE_HOURS,
        contact_timezone=contact.timezone,
        contact_country=contact.country,
        default_timezone=ctx.default_timezone,
        default_country=ctx.default_region,
        holidays=ctx.holidays,
    )
    due = calendar.next_open(calendar.add_business_days(ctx.now, ctx.handoff_sla_business_days))
    script = ""
    if ctx.project.templates.resolve(_HANDOFF_SCRIPT, "md", contact.language):
        context = touch_context(contact=contact, sender=ctx.sender, touch_id=None)
        try:
            script = ctx.project.templates.render_call(
                _HANDOFF_SCRIPT, language=contact.language, context=context
            ).script
        except TemplateError as exc:
            script = f"(the hand-off script could not be rendered: {exc})"
    owner = owner_view(contact.owner)
    name = contact.full_name or contact.email or f"#{contact.id}"
    uow.tasks.add_many(
        [
            CallTask(
                contact_id=contact.id or 0,
                owner=contact.owner,
                kind=TaskKind.HANDOFF,
                title=f"Hand-off: call {name}"
                + (f" ({contact.company})" if contact.company else "")
                + f" — qualified, score {card.score}",
                script=script,
                context={
                    "reason": change.reason,
                    "score": card.score,
                    "temperature": card.temperature.value,
                    "bant": contact.bant.as_dict(),
                    "owner": owner,
                    "breakdown": [
                        {
                            "part": c.part,
                            "rule": c.rule,
                            "points": round(c.points, 2),
                            "detail": c.detail,
                        }
                        for c in card.contributions
                    ],
                },
                due_at=due,
                created_at=ctx.now,
            )
        ]
    )
    ctx.effects.handoff_tasks += 1


def refresh_decay(*, uow: UnitOfWork, ctx: RunContext) -> int:
    """Let interest fade: re-score contacts with interest points not scored today.

    Only scores, interest and temperatures change (time alone never promotes); returns
    how many contacts changed temperature or score.
    """
    model = ctx.project.scoring
    cutoff = ctx.now - timedelta(hours=12)
    changed = 0
    last = 0
    while True:
        rows = uow.contacts.fading(after_id=last, scored_before=cutoff, limit=_CHUNK)
        if not rows:
            return changed
        updates = []
        for contact_id, fit, state, score, temperature in rows:
            card = combine(model, fit, [], state, ctx.now)
            update = {"id": contact_id, "interest": card.interest, "scored_at": ctx.now}
            if card.score != score or card.temperature != temperature:
                update.update(score=card.score, temperature=card.temperature.value)
                changed += 1
            updates.append(update)
        uow.contacts.update_many(updates)
        last = rows[-1][0]


def stale_prospects(*, uow: UnitOfWork, ctx: RunContext) -> list[int]:
    """Prospects with no interest event for the recycle period."""
    days = ctx.project.scoring.stages.recycle.after_days_without_interest
    cutoff = ctx.now - timedelta(days=days)
    return uow.contacts.quiet_prospects(since_before=cutoff)


def pending_rules(*, uow: UnitOfWork) -> list[int]:
    """Contacts whose inputs changed since the stage rules last looked at them."""
    return uow.contacts.rules_pending()
