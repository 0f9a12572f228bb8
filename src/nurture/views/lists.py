"""``nurture contacts list`` and ``nurture enrollments list``: who is in the base, and
where each one stands in their sequences."""

from __future__ import annotations

from typing import Any

from nurture.commands.lookup import contact_id
from nurture.domain.contacts import CONTACT_FIELDS, Stage
from nurture.domain.enrollment import EnrollmentStatus
from nurture.domain.expressions import compile_expression
from nurture.errors import InputError
from nurture.ports import UnitOfWork
from nurture.views.wording import iso

__all__ = ["list_contacts", "list_enrollments"]

_SHOWN_STATUSES = (*(s.value for s in EnrollmentStatus), "running")


def list_contacts(
    *, uow: UnitOfWork, where: str | None = None, stage: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Contacts by id, filtered by an expression and a stage, at most ``limit``."""
    if stage is not None and stage not in {s.value for s in Stage}:
        known = ", ".join(s.value for s in Stage)
        raise InputError(f"--stage {stage!r} is not a stage (known: {known})")
    expression = compile_expression(where or "True", roots={"contact": CONTACT_FIELDS})
    out = []
    for contact in uow.contacts.iter_contacts():
        if stage is not None and contact.stage != stage:
            continue
        if not expression({"contact": contact}):
            continue
        out.append(
            {
                "id": contact.id,
                "name": contact.full_name,
                "email": contact.email,
                "company": contact.company,
                "stage": contact.stage.value,
                "score": contact.score,
                "temperature": contact.temperature.value,
                "owner": contact.owner,
            }
        )
        if len(out) >= limit:
            break
    return out


def list_enrollments(
    *,
    uow: UnitOfWork,
    contact_ref: str | None = None,
    sequence_id: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Enrollments, newest first, with the contact's email and where each one stands."""
    if status is not None and status not in _SHOWN_STATUSES:
        raise InputError(f"--status {status!r} is not known (known: {', '.join(_SHOWN_STATUSES)})")
    contact_ids = None
    if contact_ref is not None:
        contact_ids = [contact_id(uow, contact_ref)]
    statuses = None
    if status == "running":
        statuses = [EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED]
    elif status is not None:
        statuses = [EnrollmentStatus(status)]
    found = uow.enrollments.find(
        contact_ids=contact_ids, sequence_id=sequence_id, statuses=statuses, limit=limit
    )
    people = uow.contacts.for_run(sorted({e.contact_id for e in found}))
    return [
        {
            "id": e.id,
            "contact_id": e.contact_id,
            "email": people[e.contact_id].email if e.contact_id in people else None,
            "sequence": e.sequence_id,
            "version": e.version,
            "status": e.shown_status,
            "step": e.step_index + 1,
            "next_due_at": iso(e.next_due_at),
            "paused_until": iso(e.paused_until),
            "enrolled_at": iso(e.enrolled_at),
        }
        for e in found
    ]
