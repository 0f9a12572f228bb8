"""Erasure and retention: ``nurture contact forget`` and the retention rule of the daily
run. A forgotten person's data is removed, what they were counted in stays (anonymous),
and keyed hashes of their email, phone and CRM id refuse their return."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.commands.lookup import require_contact
from nurture.domain.audit import AuditEntry, Subject
from nurture.domain.contacts import Contact
from nurture.domain.enrollment import RUNNING
from nurture.domain.privacy import ErasureKeys, retention_cutoff
from nurture.errors import InputError
from nurture.pipeline.lifecycle import RunContext, end_enrollment
from nurture.ports import Erased, UnitOfWork

__all__ = [
    "Eraser",
    "ForgetReport",
    "RetentionReport",
    "apply_retention",
    "forget_contact",
]

#: The exit reason of the enrollments a forgotten person was in.
FORGOTTEN = "forgotten"


@dataclass
class ForgetReport:
    """What forgetting one person did."""

    contact_id: int
    already: datetime | None = None  # when they had been forgotten before (nothing done)
    enrollments_ended: int = 0
    tasks_cancelled: int = 0
    erased: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "contact_id": self.contact_id,
            "already_forgotten_at": self.already.isoformat() if self.already else None,
            "enrollments_ended": self.enrollments_ended,
            "tasks_cancelled": self.tasks_cancelled,
            "erased": self.erased,
            "files_removed": self.files_removed,
        }


#: Removes the stored copies (outbox files) of touches: (email ids, SMS ids) → count.
CopyEraser = Callable[[Sequence[int], Sequence[int]], int]


@dataclass(frozen=True)
class Eraser:
    """What forgetting needs besides the database: the run's context, the keys of the
    hashes that keep forgotten people out, and the removal of stored message copies."""

    ctx: RunContext
    keys: ErasureKeys
    erase_copies: CopyEraser

    def forget(self, uow: UnitOfWork, contact: Contact, *, reason: str, by: str) -> ForgetReport:
        """Forget ``contact``; commits. A contact forgotten before is left as it is."""
        ctx = self.ctx
        assert contact.id is not None
        report = ForgetReport(contact.id, already=contact.forgotten_at)
        if contact.forgotten_at is not None:
            return report
        ctx.actor = by
        for enrollment in uow.enrollments.find(contact_ids=[contact.id], statuses=RUNNING):
            end_enrollment(uow, enrollment, reason=FORGOTTEN, ctx=ctx, detail=f"{by}: {reason}")
            report.enrollments_ended += 1
        report.tasks_cancelled = uow.tasks.cancel_open(contact.id, touch_ids=None, at=ctx.now)
        erased: Erased = uow.privacy.erase(contact.id, hashes=self._hashes(contact), at=ctx.now)
        report.erased = erased.counts
        report.files_removed = self.erase_copies(erased.email_touches, erased.sms_touches)
        entry = AuditEntry(contact.id, ctx.now, by, Subject.ERASURE, "forgotten", reason)
        uow.privacy.audit([entry])
        uow.commit()
        return report

    def _hashes(self, contact: Contact) -> list[tuple[str, str]]:
        """(suppression channel, keyed hash) of the contact's email, phone and CRM id."""
        return self.keys.of_person(
            email=contact.email, phone=contact.phone, external_id=contact.external_id
        )


def forget_contact(
    *, uow: UnitOfWork, ref: str, reason: str, by: str, eraser: Eraser
) -> ForgetReport:
    """Forget one person; commits. Forgetting them again changes nothing."""
    if not reason.strip():
        raise InputError("--reason is required: say why (an erasure request, a retention rule)")
    return eraser.forget(uow, require_contact(uow, ref), reason=reason.strip(), by=by)


@dataclass
class RetentionReport:
    """Who the retention rule forgot (or would forget, in a dry run)."""

    months: int
    cutoff: datetime | None
    contact_ids: list[int] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "months": self.months,
            "no_interaction_since": self.cutoff.isoformat() if self.cutoff else None,
            "dry_run": self.dry_run,
            "forgotten": len(self.contact_ids),
            "contact_ids": self.contact_ids[:200],
        }


def apply_retention(
    *,
    uow: UnitOfWork,
    months: int,
    ctx: RunContext,
    keys: ErasureKeys | None,
    erase_copies: CopyEraser,
    dry_run: bool = False,
) -> RetentionReport:
    """Forget every contact with no interaction for ``months`` and nothing open (not a
    customer, no running enrollment, no open task); commits after each one."""
    cutoff = retention_cutoff(ctx.now, months)
    report = RetentionReport(months, cutoff, dry_run=dry_run)
    if cutoff is None:
        return report
    expired = uow.privacy.expired(before=cutoff)
    if dry_run or not expired:
        report.contact_ids = expired
        return report
    if keys is None:
        raise InputError("forgetting needs a secret key: set NURTURE_UNSUBSCRIBE_SECRET")
    why = f"retention: no interaction for {months} months and nothing open"
    eraser = Eraser(ctx, keys, erase_copies)
    for contact_id in expired:
        contact = uow.contacts.get(str(contact_id))
        if contact is None:
            continue
        eraser.forget(uow, contact, reason=why, by="retention rule")
        report.contact_ids.append(contact_id)
    return report
