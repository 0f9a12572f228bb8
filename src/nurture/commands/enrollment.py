"""``nurture enroll``: put contacts into a sequence, or say why not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.commands.lookup import require_contact
from nurture.domain.contacts import CONTACT_FIELDS, Contact
from nurture.domain.enrollment import Enrollment, EnrollmentStatus, enrollment_refusal
from nurture.domain.expressions import compile_expression
from nurture.domain.journal import JournalEntry
from nurture.domain.sequences import Sequence
from nurture.ports import UnitOfWork
from nurture.specs.project import Project

__all__ = ["EnrollReport", "enroll", "enroll_contacts"]


@dataclass
class EnrollReport:
    """Who joined, and who could not and why."""

    sequence_id: str
    version: int
    enrolled: list[int] = field(default_factory=list)
    refused: list[tuple[int | None, str, str]] = field(default_factory=list)

    def as_dict(self, *, limit: int = 200) -> dict[str, Any]:
        """JSON-ready, with refusals counted by reason and the first ``limit`` listed."""
        reasons = Counter(reason for _, _, reason in self.refused)
        return {
            "sequence": self.sequence_id,
            "version": self.version,
            "enrolled": len(self.enrolled),
            "refused": len(self.refused),
            "refused_by_reason": dict(reasons.most_common()),
            "refusals": [
                {"contact_id": cid, "contact": ref, "reason": reason}
                for cid, ref, reason in self.refused[:limit]
            ],
        }


def enroll_contacts(
    *,
    uow: UnitOfWork,
    sequence: Sequence,
    contacts: list[Contact],
    now: datetime,
    reason: str,
    run_id: str | None = None,
) -> EnrollReport:
    """Enroll ``contacts`` in ``sequence`` (already registered), refusing with reasons."""
    report = EnrollReport(sequence.id, sequence.version)
    ids = [c.id for c in contacts if c.id is not None]
    running = uow.enrollments.running_contacts(sequence.id, ids)
    suppressed = uow.suppressions.active("email", [c.email for c in contacts])
    rows = []
    accepted: list[Contact] = []
    for contact in contacts:
        refusal = enrollment_refusal(
            sequence,
            contact,
            already_enrolled=contact.id in running,
            email_suppressed=suppressed.get(contact.email or ""),
        )
        if refusal is not None:
            report.refused.append((contact.id, contact.email or contact.external_id or "", refusal))
            continue
        running.add(contact.id)  # type: ignore[arg-type]
        accepted.append(contact)
        rows.append(
            Enrollment(
                contact_id=contact.id or 0,
                sequence_id=sequence.id,
                version=sequence.version,
                status=EnrollmentStatus.ACTIVE,
                step_index=0,
                next_due_at=now,
                priority=sequence.priority,
                enrolled_at=now,
                reason=reason,
            )
        )
    report.enrolled = uow.enrollments.add_many(rows)
    uow.journal.add_many(
        [
            JournalEntry(
                "enrolled",
                f"{sequence.id} v{sequence.version}: {reason}",
                now,
                contact_id=contact.id,
                enrollment_id=enrollment_id,
                run_id=run_id,
            )
            for contact, enrollment_id in zip(accepted, report.enrolled, strict=True)
        ]
    )
    return report


def enroll(
    *,
    uow: UnitOfWork,
    project: Project,
    sequence_id: str,
    now: datetime,
    contact_ref: str | None = None,
    where: str | None = None,
) -> EnrollReport:
    """``nurture enroll SEQUENCE --contact ID | --where EXPR``."""
    sequence = project.sequence(sequence_id)
    uow.sequences.register(sequence, now=now, file=project.sequence_files.get(sequence.id))
    if contact_ref is not None:
        candidates = [require_contact(uow, contact_ref)]
        reason = "enrolled by hand"
    else:
        expression = compile_expression(where or "True", roots={"contact": CONTACT_FIELDS})
        candidates = [c for c in uow.contacts.iter_contacts() if expression({"contact": c})]
        reason = f"enrolled where {expression.source}"
    report = enroll_contacts(
        uow=uow, sequence=sequence, contacts=candidates, now=now, reason=reason
    )
    uow.commit()
    return report
