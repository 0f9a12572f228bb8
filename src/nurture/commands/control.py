"""A rep's hand on enrollments: pause, resume and stop them (``nurture enrollments
pause|resume|stop``), each change recorded with its reason and who made it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nurture.commands.lookup import contact_id
from nurture.domain.contacts import CONTACT_FIELDS
from nurture.domain.enrollment import RUNNING, Enrollment, EnrollmentStatus
from nurture.domain.expressions import compile_expression
from nurture.errors import InputError
from nurture.pipeline.lifecycle import RunContext, end_enrollment
from nurture.pipeline.pauses import pause_enrollment, resume_enrollment
from nurture.ports import UnitOfWork

__all__ = ["ControlReport", "change_enrollments", "select_enrollments"]

#: What ``stop`` records as the exit reason (shown as ``exited:manual``).
MANUAL = "manual"


@dataclass
class ControlReport:
    """What one pause, resume or stop did."""

    action: str
    changed: list[int] = field(default_factory=list)
    unchanged: list[tuple[int, str]] = field(default_factory=list)  # (enrollment, why)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "action": self.action,
            "changed": self.changed,
            "unchanged": [{"enrollment": i, "why": why} for i, why in self.unchanged],
        }


def select_enrollments(
    *,
    uow: UnitOfWork,
    contact_ref: str | None = None,
    sequence_id: str | None = None,
    where: str | None = None,
) -> list[Enrollment]:
    """The running enrollments of one contact (``--contact``, optionally in one
    sequence) or of every contact matching ``--where``."""
    if (contact_ref is None) == (where is None):
        raise InputError("give --contact ID or --where EXPR (one of them)")
    if contact_ref is not None:
        ids = [contact_id(uow, contact_ref)]
    else:
        expression = compile_expression(where or "", roots={"contact": CONTACT_FIELDS})
        ids = [c.id for c in uow.contacts.iter_contacts() if c.id and expression({"contact": c})]
    if not ids:
        return []
    return uow.enrollments.find(
        contact_ids=ids, sequence_id=sequence_id, statuses=RUNNING, limit=1_000_000
    )


def change_enrollments(
    *,
    uow: UnitOfWork,
    enrollments: list[Enrollment],
    action: str,
    reason: str,
    by: str,
    ctx: RunContext,
) -> ControlReport:
    """Pause, resume or stop ``enrollments``; commits."""
    if not reason.strip():
        raise InputError("--reason is required: say why, for whoever reads the history")
    act = _ACTIONS.get(action)
    if act is None:
        raise InputError(f"unknown action {action!r} (pause, resume or stop)")
    report = ControlReport(action)
    why = f"{action} by {by}: {reason.strip()}"
    ctx.actor = by
    for enrollment in enrollments:
        refusal = act(uow, enrollment, why, ctx)
        if refusal is None:
            report.changed.append(enrollment.id)
        else:
            report.unchanged.append((enrollment.id, refusal))
    uow.commit()
    return report


def _pause(uow: UnitOfWork, enrollment: Enrollment, why: str, ctx: RunContext) -> str | None:
    if enrollment.status == EnrollmentStatus.PAUSED:
        return "already paused"
    pause_enrollment(uow=uow, enrollment=enrollment, until=None, reason=why, ctx=ctx)
    return None


def _resume(uow: UnitOfWork, enrollment: Enrollment, why: str, ctx: RunContext) -> str | None:
    if enrollment.status != EnrollmentStatus.PAUSED:
        return "not paused"
    resume_enrollment(uow=uow, enrollment=enrollment, reason=why, ctx=ctx)
    return None


def _stop(uow: UnitOfWork, enrollment: Enrollment, why: str, ctx: RunContext) -> str | None:
    end_enrollment(uow, enrollment, reason=MANUAL, ctx=ctx, detail=why)
    return None


_ACTIONS: dict[str, Callable[[UnitOfWork, Enrollment, str, RunContext], str | None]] = {
    "pause": _pause,
    "resume": _resume,
    "stop": _stop,
}
