"""``nurture sequences migrate``: move running enrollments to another version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nurture.errors import SpecError
from nurture.ports import UnitOfWork
from nurture.specs.project import Project

__all__ = ["MigrationReport", "migrate_enrollments"]


@dataclass
class MigrationReport:
    """Who moves where, and who cannot move and why."""

    sequence_id: str
    to_version: int
    dry_run: bool
    moves: list[dict[str, Any]] = field(default_factory=list)
    stuck: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "sequence": self.sequence_id,
            "to_version": self.to_version,
            "dry_run": self.dry_run,
            "moved": len(self.moves),
            "cannot_move": len(self.stuck),
            "already_there": self.unchanged,
            "moves": self.moves,
            "stuck": self.stuck,
        }


def migrate_enrollments(
    *,
    uow: UnitOfWork,
    project: Project,
    sequence_id: str,
    to_version: int,
    now: datetime,
    dry_run: bool,
) -> MigrationReport:
    """Move running enrollments to ``to_version`` by matching the id of their next step."""
    current = project.sequence(sequence_id)
    uow.sequences.register(current, now=now, file=project.sequence_files.get(current.id))
    target = uow.sequences.get(sequence_id, to_version)
    if target is None:
        known = ", ".join(str(v) for v in uow.sequences.versions(sequence_id))
        raise SpecError(f"{sequence_id} has no version {to_version} (known: {known})")
    report = MigrationReport(sequence_id, to_version, dry_run)
    for enrollment in uow.enrollments.running_in(sequence_id):
        if enrollment.version == to_version:
            report.unchanged += 1
            continue
        pinned = uow.sequences.get(sequence_id, enrollment.version)
        index = enrollment.step_index
        who = {"enrollment_id": enrollment.id, "contact_id": enrollment.contact_id}
        if pinned is None or index >= len(pinned.steps):
            report.stuck.append({**who, "reason": "its version is unknown or finished"})
            continue
        step_id = pinned.steps[index].id
        new_index = target.step_index(step_id)
        if new_index is None:
            report.stuck.append(
                {**who, "reason": f"next step {step_id!r} does not exist in version {to_version}"}
            )
            continue
        report.moves.append(
            {
                **who,
                "from": f"v{enrollment.version} step {index + 1} ({step_id})",
                "to": f"v{to_version} step {new_index + 1} ({step_id})",
            }
        )
        if not dry_run:
            uow.enrollments.move(enrollment.id, version=to_version, step_index=new_index)
            uow.journal.add(
                "migrated",
                f"{sequence_id} v{enrollment.version} → v{to_version} at step {step_id!r}",
                at=now,
                contact_id=enrollment.contact_id,
                enrollment_id=enrollment.id,
            )
    if not dry_run:
        uow.commit()
    return report
