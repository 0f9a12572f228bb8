"""Query plans that keep the daily run linear in the number of contacts.

Without statistics, SQLite prices ``contact_id IN (900 ids)`` (or a JSON list of them)
above a range on a status index, so a chunk's query picked ``(status, deliver_at)`` or
``(status, next_due_at)`` and walked every due row once per chunk: planning a million
contacts took minutes, not seconds.
The reads every planner makes first take no write lock, so planners in parallel make them
side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import enrollments
from nurture.bootstrap import App
from nurture.commands.contact_import import import_contacts
from nurture.samples import write_contacts_csv
from tests.support.people import enroll_all
from tests.support.run import run_once

#: Indexes that serve whole-table scans by status: wrong for a chunk of contacts.
_SCAN_INDEXES = ("ix_enrollments_due", "ix_touches_status_deliver")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def _first_steps_due(app: App, tmp_path: Path, contacts: int, *, seed: int) -> int:
    """Import ``contacts`` sample contacts, enroll them all, make every first step due
    now; returns how many were enrolled."""
    csv = write_contacts_csv(tmp_path / "contacts.csv", contacts, seed=seed)
    report = import_contacts(
        path=csv, uow=app.uow(), scoring=app.scoring, defaults=app.row_defaults, now=app.now()
    )
    assert not report.rejected, report.rejected[:3]
    enrolled = len(enroll_all(app, "nurture-12-months"))
    with app.engine.begin() as connection:
        connection.execute(enrollments.update().values(next_due_at=app.now()))
    return enrolled


def test_per_chunk_queries_use_the_per_contact_indexes(app: App, tmp_path: Path) -> None:
    assert _first_steps_due(app, tmp_path, 1500, seed=11) >= 1000

    chunked: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        # A chunk's keys go as one JSON list (bulk.any_of), or as a parameter each.
        wide = "json_each(" in statement or (
            isinstance(params, tuple | list) and len(params) >= 500
        )
        if statement.lstrip().upper().startswith("SELECT") and wide:
            chunked.append((statement, params))

    sa.event.listen(app.engine, "before_cursor_execute", capture)
    try:
        run_once(app)
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", capture)

    tables = {
        table
        for statement, _ in chunked
        for table in ("enrollments", "touches")
        if f"FROM {table}" in statement
    }
    assert tables == {"enrollments", "touches"}, "the chunk queries were not seen"
    with app.engine.connect() as connection:
        for statement, params in chunked:
            plan = " | ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )
            wrong = [name for name in _SCAN_INDEXES if name in plan]
            assert not wrong, f"{statement[:120]}… uses {wrong}: {plan}"


def test_fading_reads_only_the_contacts_with_interest(app: App, tmp_path: Path) -> None:
    csv = write_contacts_csv(tmp_path / "contacts.csv", 200, seed=12)
    import_contacts(
        path=csv, uow=app.uow(), scoring=app.scoring, defaults=app.row_defaults, now=app.now()
    )
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "interest > 0" in statement:
            seen.append((statement, params))

    sa.event.listen(app.engine, "before_cursor_execute", capture)
    try:
        with app.uow() as uow:
            uow.contacts.fading(after_id=0, scored_before=app.now(), limit=100)
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", capture)
    assert seen, "the fading query was not seen"
    with app.engine.connect() as connection:
        statement, params = seen[0]
        plan = " | ".join(
            str(row[-1])
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        )
    assert "ix_contacts_interested" in plan, plan


def test_the_due_set_is_read_from_its_index_alone(app: App, tmp_path: Path) -> None:
    """How many steps are due and whose: each planner reads every due contact, and the
    run counts the due steps before it starts (no table lookup per due row)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM enrollments" in statement and "next_due_at <=" in statement:
            seen.append((statement, params))

    sa.event.listen(app.engine, "before_cursor_execute", capture)
    try:
        with app.uow(read_only=True) as uow:
            uow.enrollments.count_due(app.now())
            uow.enrollments.due_contacts(app.now())
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", capture)
    assert len(seen) == 2, seen
    with app.engine.connect() as connection:
        for statement, params in seen:
            plan = " | ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )
            assert "COVERING INDEX ix_enrollments_due" in plan, plan


def test_planners_read_the_due_set_without_the_write_lock(app: App, tmp_path: Path) -> None:
    """Parallel planners each read every due contact first: in a read transaction, side
    by side, not one after the other behind SQLite's write lock (BEGIN IMMEDIATE)."""
    assert _first_steps_due(app, tmp_path, 40, seed=13)
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(app.engine, "before_cursor_execute", capture)
    try:
        run_once(app)
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", capture)
    due_set = [
        at
        for at, statement in enumerate(statements)
        if statement.startswith("SELECT enrollments.contact_id FROM enrollments")
    ]
    assert due_set, "the due set was not read"
    for at in due_set:
        began = [s for s in statements[:at] if s.startswith("BEGIN")][-1]
        assert began == "BEGIN", f"the due set was read after {began}"
    assert any(s == "BEGIN IMMEDIATE" for s in statements), "no write was seen"
