"""Call tasks: the reps' queues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from nurture.adapters.db.bulk import execute_many
from nurture.adapters.db.tables import call_tasks, contacts
from nurture.domain.tasks import CallTask, TaskStatus
from nurture.ports import QueuedCall

__all__ = ["SqlCallTasks"]


class SqlCallTasks:
    """Call task rows."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def add_many(self, new: Sequence[CallTask]) -> None:
        """Create tasks."""
        if new:
            execute_many(self._db, call_tasks.insert(), [task.as_row() for task in new])

    def queue(
        self, *, owner: str | None = None, status: str | None = "open", limit: int = 500
    ) -> list[QueuedCall]:
        """Tasks by due time, with the contact's name, company and phone: the call
        queue's read model."""
        query = (
            sa.select(
                call_tasks,
                contacts.c.first_name,
                contacts.c.last_name,
                contacts.c.company,
                contacts.c.phone,
                contacts.c.email,
                contacts.c.score,
                contacts.c.temperature,
            )
            .join(contacts, contacts.c.id == call_tasks.c.contact_id)
            .order_by(call_tasks.c.due_at, call_tasks.c.id)
            .limit(limit)
        )
        if owner is not None:
            query = query.where(call_tasks.c.owner == owner)
        if status is not None:
            query = query.where(call_tasks.c.status == status)
        return [
            QueuedCall(
                CallTask.from_row(row),
                first_name=row["first_name"],
                last_name=row["last_name"],
                company=row["company"],
                phone=row["phone"],
                email=row["email"],
                score=row["score"],
                temperature=row["temperature"],
            )
            for row in self._db.execute(query).mappings()
        ]

    def for_contact(self, contact_id: int) -> list[CallTask]:
        """Every call task of a contact, newest first."""
        query = (
            sa.select(call_tasks)
            .where(call_tasks.c.contact_id == contact_id)
            .order_by(call_tasks.c.created_at.desc(), call_tasks.c.id.desc())
        )
        return [CallTask.from_row(row) for row in self._db.execute(query).mappings().all()]

    def for_touch(self, touch_id: int) -> int | None:
        """The id of the call task a touch made, if it made one."""
        query = sa.select(call_tasks.c.id).where(call_tasks.c.touch_id == touch_id)
        row = self._db.execute(query).first()
        return int(row.id) if row is not None else None

    def get(self, task_id: int) -> CallTask | None:
        """One task."""
        row = self._db.execute(sa.select(call_tasks).where(call_tasks.c.id == task_id)).first()
        return CallTask.from_row(row._mapping) if row else None

    def close(self, task_id: int, *, outcome: str, note: str | None, at: datetime) -> None:
        """Record a call outcome on a task."""
        self._db.execute(
            call_tasks.update()
            .where(call_tasks.c.id == task_id)
            .values(status=TaskStatus.DONE, outcome=outcome, note=note, logged_at=at)
        )

    def cancel_open(self, contact_id: int, *, touch_ids: Sequence[int] | None, at: datetime) -> int:
        """Cancel open tasks of a contact created by ``touch_ids`` (``None``: all of them)."""
        if touch_ids is not None and not touch_ids:
            return 0
        query = call_tasks.update().where(
            call_tasks.c.contact_id == contact_id, call_tasks.c.status == TaskStatus.OPEN
        )
        if touch_ids is not None:
            query = query.where(call_tasks.c.touch_id.in_(list(touch_ids)))
        result = self._db.execute(query.values(status=TaskStatus.CANCELLED, logged_at=at))
        return int(result.rowcount or 0)
