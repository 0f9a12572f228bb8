"""Claiming touches to send (``SqlTouches.claim``): the most urgent first, each touch to
one worker, and a batch read through the claim's own index."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nurture.adapters.db.tables import contacts
from nurture.adapters.db.touches import SqlTouches
from nurture.domain.touches import Touch, TouchStatus

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _touches(engine: Engine, plan: list[tuple[int, int, str]]) -> None:
    """One touch per (priority, minutes from AT to its delivery, status)."""
    with engine.begin() as db:
        contact_id = db.execute(
            contacts.insert().returning(contacts.c.id),
            {"email": "ines@durand.example", "created_at": AT, "updated_at": AT},
        ).scalar_one()
        SqlTouches(db).insert_new(
            [
                Touch(
                    touch_key=f"t{n}",
                    enrollment_id=None,  # type: ignore[arg-type]
                    contact_id=contact_id,
                    sequence_id="s",
                    version=1,
                    step_id=f"step{n}",
                    step_index=n,
                    channel="email",
                    status=TouchStatus(status),
                    due_at=AT,
                    deliver_at=AT + timedelta(minutes=minutes),
                    created_at=AT,
                    priority=priority,
                )
                for n, (priority, minutes, status) in enumerate(plan)
            ]
        )


def _claim(db: sa.Connection, worker: str, limit: int) -> list[str]:
    claimed = SqlTouches(db).claim(
        worker=worker, due_by=AT + timedelta(minutes=30), claimed_at=AT, limit=limit
    )
    assert all(t.status == TouchStatus.SENDING and t.claimed_by == worker for t in claimed)
    return sorted(t.touch_key for t in claimed)


def test_the_most_urgent_due_touches_first(engine: Engine) -> None:
    _touches(
        engine,
        [
            (0, 0, "scheduled"),  # t0
            (5, 20, "scheduled"),  # t1: the highest priority
            (0, -10, "scheduled"),  # t2: the oldest
            (9, 60, "scheduled"),  # t3: not due yet
            (9, 0, "sent"),  # t4: sent already
            (5, 10, "scheduled"),  # t5
        ],
    )
    with engine.begin() as db:
        assert _claim(db, "w1", 3) == ["t1", "t2", "t5"]
        assert _claim(db, "w1", 3) == ["t0"]
        assert _claim(db, "w1", 3) == []
        attempts = db.execute(sa.text("SELECT attempts FROM touches WHERE touch_key = 't1'"))
        assert attempts.scalar_one() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_workers_claiming_at_once_take_different_touches(engine: Engine) -> None:
    _touches(engine, [(n % 3, n, "scheduled") for n in range(20)])
    with engine.connect() as first, engine.connect() as second:
        # the first claim's transaction is still open when the second claims
        taken = _claim(first, "w1", 8)
        other = _claim(second, "w2", 20)
        first.commit()
        second.commit()
    assert (len(taken), len(other)) == (8, 12)
    assert not set(taken) & set(other)


def _claim_and_its_plan(engine: Engine, limit: int, *, tiny: bool = False) -> tuple[int, str]:
    """Claim up to ``limit`` touches, then explain the claim's UPDATE under the settings
    its transaction made first (``SET ...``); returns how many were claimed, and the plan.
    ``tiny``: a table so small that PostgreSQL would rather read it whole."""
    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", capture)
    with engine.begin() as db:
        claimed = len(_claim(db, "w1", limit))
    sa.event.remove(engine, "before_cursor_execute", capture)
    updates = [at for at, (statement, _) in enumerate(seen) if statement.startswith("UPDATE")]
    ((statement, params),) = [seen[at] for at in updates]
    with engine.begin() as db:
        for setting, values in seen[: updates[0]]:
            if setting.startswith("SET "):
                db.exec_driver_sql(setting, values)  # type: ignore[arg-type]
        if engine.dialect.name == "postgresql":
            if tiny:
                db.exec_driver_sql("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN " + statement
        else:
            explain = "EXPLAIN QUERY PLAN " + statement
        plan = " | ".join(str(row[-1]) for row in db.exec_driver_sql(explain, params))  # type: ignore[arg-type]
    return claimed, plan


def test_a_claim_reads_the_claims_own_index(engine: Engine) -> None:
    """A claim walks the waiting touches in its order and stops at its batch, instead of
    reading and sorting every touch due (once per batch of a run)."""
    _touches(engine, [(n % 3, n, "scheduled") for n in range(20)])
    _, plan = _claim_and_its_plan(engine, 5, tiny=True)
    assert "ix_touches_claim" in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_claim_after_a_days_planning_walks_the_claims_index(engine: Engine) -> None:
    """Planning writes the day's touches after the table's statistics were taken: a claim
    must still walk ix_touches_claim and stop at its batch, not read and sort every touch
    due (PostgreSQL chose that when it expected a handful)."""
    with engine.connect() as db:
        db.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE touches")
    _touches(engine, [(n % 3, n % 30, "scheduled") for n in range(30_000)])
    claimed, plan = _claim_and_its_plan(engine, 100)
    assert claimed == 100
    assert "ix_touches_claim" in plan, plan
    assert "Sort" not in plan, plan


def test_a_planner_finds_the_touches_it_inserted_claimed_and_no_other(engine: Engine) -> None:
    """Planning inserts the touches due now as ``sending`` under its name (plan.SendNow);
    a key that was there already keeps its row, and is not the planner's to send."""
    _touches(engine, [(0, 0, "sending"), (0, 0, "sent"), (0, 0, "scheduled")])  # t0, t1, t2
    with engine.begin() as db:
        db.execute(sa.text("UPDATE touches SET claimed_by = 'an-earlier-run/p0'"))
        ids = dict(db.execute(sa.text("SELECT touch_key, id FROM touches")).all())
        rows = SqlTouches(db)
        first = rows.scheduled()[0]
        claimed = {"status": "sending", "claimed_by": "r/p0", "claimed_at": AT, "attempts": 1}
        new = replace(first, id=0, touch_key="t9", step_id="step9", **claimed)
        again = replace(new, touch_key="t0")  # decided again: t0 is there already
        rows.insert_new([new, again])
        found = rows.claimed_ids("r/p0", ["t0", "t1", "t2", "t9", "t404"])
        earlier = rows.claimed_ids("an-earlier-run/p0", ["t0", "t1"])
        stored = db.execute(sa.text("SELECT status, claimed_at, attempts FROM touches "
                                    "WHERE touch_key = 't9'")).one()  # fmt: skip
    assert set(found) == {"t9"}
    assert earlier == {"t0": ids["t0"]}  # its sending touch, not the sent one
    assert found["t9"] not in ids.values()
    assert (stored.status, stored.attempts) == ("sending", 1)
    assert stored.claimed_at is not None
