"""The due set as the run reads it (``adapters/db/enrollments.py``): how many steps are
due, and whose, on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from nurture.adapters.db.tables import enrollments
from nurture.bootstrap import App
from nurture.commands.contact_import import import_contacts
from nurture.samples import write_contacts_csv
from tests.support.people import enroll_all


def test_the_due_steps_are_counted_and_their_contacts_listed(app: App, tmp_path: Path) -> None:
    csv = write_contacts_csv(tmp_path / "contacts.csv", 60, seed=21)
    import_contacts(
        path=csv, uow=app.uow(), scoring=app.scoring, defaults=app.row_defaults, now=app.now()
    )
    enrolled = enroll_all(app, "nurture-12-months")
    assert len(enrolled) >= 30
    now = app.now()
    with app.engine.begin() as connection:
        rows = connection.execute(
            sa.select(enrollments.c.id, enrollments.c.contact_id).order_by(enrollments.c.id)
        ).all()
        for n, (enrollment_id, _) in enumerate(rows):
            # due a day ago, due now, due tomorrow, or due but exited: a quarter each
            status = "exited" if n % 4 == 3 else "active"
            due = now + timedelta(days=(-1, 0, 1, -1)[n % 4])
            connection.execute(
                enrollments.update()
                .where(enrollments.c.id == enrollment_id)
                .values(status=status, next_due_at=due)
            )
    due = [(eid, cid) for n, (eid, cid) in enumerate(rows) if n % 4 in (0, 1)]
    with app.uow(read_only=True) as uow:
        assert uow.enrollments.count_due(now) == len(due)
        assert sum(uow.enrollments.due_by_sequence(now).values()) == len(due)
        assert uow.enrollments.due_contacts(now) == sorted({cid for _, cid in due})
        earlier = [n for n in range(len(rows)) if n % 4 == 0]  # an hour ago: only those
        assert uow.enrollments.count_due(now - timedelta(hours=1)) == len(earlier)
