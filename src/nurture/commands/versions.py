"""``nurture sequences migrate``: move running enrollments to another version."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nurture.domain.enrollment import RUNNING
from nurture.errors import Location, SpecError
from nurture.ports import UnitOfWork
from nurture.specs.project import Project

__all__ = ["MigrationReport", "edited_in_place", "migrate_enrollments"]


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


def edited_in_place(*, uow: UnitOfWork, project: Project) -> list[SpecError]:
    """Sequences whose file changed while enrollments still run the same ``version``:
    each an error at the file's ``version`` line, saying to bump it (``nurture validate``
    reports them before the next ``enroll`` or run refuses the file)."""
    problems = []
    for sequence in project.sequences.values():
        stored = uow.sequences.get(sequence.id, sequence.version)
        if stored is None or stored.model_dump(mode="json") == sequence.model_dump(mode="json"):
            continue
        running = [
            e
            for e in uow.enrollments.find(
                sequence_id=sequence.id, statuses=RUNNING, limit=1_000_000
            )
            if e.version == sequence.version
        ]
        if not running:
            continue
        file = project.sequence_files.get(sequence.id, f"sequences/{sequence.id}.yaml")
        problems.append(
            SpecError(
                f"changed while {len(running)} enrollment(s) run version {sequence.version}: "
                "bump `version` (running enrollments keep the steps they started with; "
                "`nurture sequences migrate` moves them)",
                Location(file, _version_line(project.root / file), "version"),
            )
        )
    return problems


def _version_line(path: Path) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((n for n, line in enumerate(lines, 1) if _VERSION.match(line)), None)


_VERSION = re.compile(r"^version\s*:")
