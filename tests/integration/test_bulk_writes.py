"""Updating many rows at once (``adapters/db/bulk.py``): a thousand to a statement on
PostgreSQL, executemany on SQLite; the same rows come out on both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from nurture.adapters.db.bulk import execute_many, update_rows
from nurture.adapters.db.tables import contacts, enrollments, events

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _contacts(db: sa.Connection, count: int) -> list[int]:
    return [
        db.execute(
            contacts.insert().returning(contacts.c.id),
            {"email": f"c{n}@durand.example", "created_at": AT, "updated_at": AT},
        ).scalar_one()
        for n in range(count)
    ]


def _enrollments(db: sa.Connection, count: int) -> list[int]:
    (contact_id,) = _contacts(db, 1)
    rows = [
        {
            "contact_id": contact_id,
            "sequence_id": f"s{i}",
            "version": 1,
            "status": "active" if i % 10 else "exited",
            "step_index": 0,
            "enrolled_at": AT,
        }
        for i in range(count)
    ]
    db.execute(enrollments.insert(), rows)
    return list(db.execute(sa.select(enrollments.c.id).order_by(enrollments.c.id)).scalars())


def test_updates_by_id_with_guards_and_conditions_over_pages(engine: Engine) -> None:
    with engine.begin() as db:
        ids = _enrollments(db, 2500)  # three pages of a thousand on PostgreSQL
        moves = [
            # every third row names a step the enrollment is not at: it must not move
            {
                "_id": e,
                "_index": 1 if n % 3 == 0 else 0,
                "step_index": 1,
                "next_due_at": AT + timedelta(minutes=n),
            }
            for n, e in enumerate(ids)
        ]
        moves.append({"_id": ids[1], "_index": 0, "step_index": 7})  # another set of columns
        update_rows(db, enrollments, moves, guards={"_index": "step_index"})
        update_rows(
            db,
            enrollments,
            [{"_id": e, "last_touch_at": AT} for e in ids],
            where=[enrollments.c.status == "active"],
        )
        got = {
            row.id: row
            for row in db.execute(
                sa.select(
                    enrollments.c.id,
                    enrollments.c.step_index,
                    enrollments.c.next_due_at,
                    enrollments.c.last_touch_at,
                    enrollments.c.status,
                )
            )
        }
    for n, e in enumerate(ids):
        row = got[e]
        moved = n % 3 != 0
        assert row.step_index == (1 if moved else 0)
        expected_due = AT + timedelta(minutes=n) if moved else None
        assert (row.next_due_at.astimezone(UTC) if row.next_due_at else None) == expected_due
        assert (row.last_touch_at is not None) == (row.status == "active")
    # ids[1] moved to step 1 by the first group; the second group's guard (0) then failed.
    assert got[ids[1]].step_index == 1


def test_a_page_naming_an_id_twice_applies_in_order_like_executemany(engine: Engine) -> None:
    with engine.begin() as db:
        first, second = _enrollments(db, 2)
        update_rows(
            db,
            enrollments,
            [
                {"_id": first, "_index": 0, "step_index": 1},
                {"_id": second, "_index": 0, "step_index": 1},
                {"_id": first, "_index": 1, "step_index": 2},  # after the first move
            ],
            guards={"_index": "step_index"},
        )
        steps = dict(db.execute(sa.select(enrollments.c.id, enrollments.c.step_index)).all())
    assert steps == {first: 2, second: 1}


def test_a_column_set_to_nothing_in_every_row(engine: Engine) -> None:
    with engine.begin() as db:
        ids = _enrollments(db, 3)
        update_rows(db, enrollments, [{"_id": e, "next_due_at": AT} for e in ids])
        update_rows(db, enrollments, [{"_id": e, "next_due_at": None} for e in ids])
        dues = db.execute(sa.select(enrollments.c.next_due_at)).scalars().all()
    assert dues == [None, None, None]


def test_json_columns_and_text_update_by_id(engine: Engine) -> None:
    with engine.begin() as db:
        ids = _contacts(db, 3)
        update_rows(
            db,
            contacts,
            [
                {"_id": c, "pending_events": [{"type": "click", "n": n}], "temperature": "hot"}
                for n, c in enumerate(ids)
            ],
        )
        got = db.execute(
            sa.select(contacts.c.pending_events, contacts.c.temperature).order_by(contacts.c.id)
        ).all()
    assert [tuple(row) for row in got] == [([{"type": "click", "n": n}], "hot") for n in range(3)]


def test_whole_and_fractional_numbers_in_one_column(engine: Engine) -> None:
    with engine.begin() as db:
        ids = _contacts(db, 3)
        update_rows(
            db,
            contacts,
            [
                {"_id": c, "deal_value": v, "score": 5}
                for c, v in zip(ids, (5, 4.5, None), strict=True)
            ],
        )
        got = db.execute(
            sa.select(contacts.c.deal_value, contacts.c.score).order_by(contacts.c.id)
        ).all()
    assert [tuple(row) for row in got] == [(5.0, 5), (4.5, 5), (None, 5)]


def _contact_rows(first: int, count: int) -> list[dict[str, object]]:
    paris = timezone(timedelta(hours=1))
    return [
        {
            "email": f"c{first + n}@durand.example",
            "custom": {"plan": "pro", "seats": n} if n % 2 else {},
            "bant": {"budget": True},
            "interest_state": {},
            "pending_events": [{"type": "open"}] if n % 3 else [],
            "consent_sms": n % 2 == 0,
            "deal_value": None if n % 4 == 0 else 1500.5 * n,
            "last_interest_at": None if n % 5 == 0 else AT + timedelta(microseconds=n),
            # another offset than UTC: stored as the same instant in UTC
            "created_at": AT.astimezone(paris) + timedelta(seconds=n),
            "updated_at": AT,
        }
        for n in range(count)
    ]


def test_many_rows_store_what_sqlalchemy_would_store(engine: Engine) -> None:
    columns = [c for c in contacts.columns if c.key not in ("id", "email")]
    # per statement sent: (executemany, driver SQL rather than compiled, from a JSON document)
    sent: list[tuple[bool, bool, bool]] = []

    def _seen(*args: object) -> None:
        statement, context, many = str(args[2]), args[4], args[5]
        if statement.startswith("INSERT"):
            compiled = getattr(context, "compiled", None) is not None
            sent.append((bool(many), not compiled, "json_to_recordset" in statement))

    sa.event.listen(engine, "before_cursor_execute", _seen)
    with engine.begin() as db:
        db.execute(contacts.insert(), _contact_rows(0, 20))
        execute_many(db, contacts.insert(), _contact_rows(20, 20))
    sa.event.remove(engine, "before_cursor_execute", _seen)
    # SQLAlchemy's own executemany first; then SQLite's driver executemany, or one
    # PostgreSQL INSERT ... SELECT from one JSON document.
    short = (True, True, False) if engine.dialect.name == "sqlite" else (False, False, True)
    assert sent == [(True, False, False), short]
    with engine.connect() as db:
        # Raw, as the database holds them: what each path bound, not what reads return.
        held = db.execute(
            sa.text(f"SELECT {', '.join(c.name for c in columns)} FROM contacts ORDER BY id")
        ).all()
    assert [tuple(row) for row in held[:20]] == [tuple(row) for row in held[20:]]
    assert len({repr(row) for row in held}) > 5  # the rows differ from each other


def test_python_side_defaults_and_rows_of_different_shapes_go_through_sqlalchemy(
    engine: Engine,
) -> None:
    rows = _contact_rows(0, 10)
    for row in rows:
        del row["custom"]  # SQLAlchemy fills in the column's default, dict()
    with engine.begin() as db:
        execute_many(db, contacts.insert(), rows)
        customs = db.execute(sa.select(contacts.c.custom)).scalars().all()
        assert customs == [{}] * 10
    uneven = _contact_rows(10, 10)
    del uneven[3]["bant"]
    with engine.connect() as db, pytest.raises(sa.exc.StatementError, match="bant"):
        execute_many(db, contacts.insert(), uneven)


def test_a_refused_row_raises_sqlalchemys_error(engine: Engine) -> None:
    rows = _contact_rows(0, 10)
    rows[7]["created_at"] = None  # NOT NULL
    with engine.connect() as db, pytest.raises(sa.exc.IntegrityError):
        execute_many(db, contacts.insert(), rows)


def _last_interests(db: sa.Connection, moments: list[datetime | None]) -> list[int]:
    """A contact per moment, its last interest at that moment (by update_rows)."""
    ids = _contacts(db, len(moments))
    update_rows(
        db,
        contacts,
        [{"_id": c, "last_interest_at": m} for c, m in zip(ids, moments, strict=True)],
    )
    return ids


def test_datetimes_come_back_aware_in_utc_as_written(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    moments = [
        AT,  # no microseconds
        AT.replace(microsecond=1),
        datetime(2026, 7, 14, 23, 30, 0, 999999, tzinfo=paris),
        None,
    ]
    with engine.begin() as db:
        ids = _last_interests(db, moments)
        read = db.execute(sa.select(contacts.c.last_interest_at).order_by(contacts.c.id)).scalars()
        got = list(read)
    assert got == moments
    assert [m.tzinfo for m in got if m is not None] == [UTC, UTC, UTC]
    with engine.connect() as db, pytest.raises(sa.exc.StatementError, match="naive"):
        update_rows(db, contacts, [{"_id": ids[0], "last_interest_at": datetime(2026, 1, 1)}])


def test_a_moment_repeated_row_after_row_reads_back_as_each_row_has_it(engine: Engine) -> None:
    """Reading remembers the last moment of a column (a run's rows repeat its now): a
    different moment, or none, in between is never taken for it."""
    later = AT + timedelta(microseconds=1)
    moments = [AT, AT, later, AT, None, AT, later, later, AT]
    with engine.begin() as db:
        _last_interests(db, moments)
        query = sa.select(contacts.c.last_interest_at, contacts.c.created_at).order_by(
            contacts.c.id
        )
        for _ in range(2):  # the statement's cached processors, read again
            rows = db.execute(query).all()
            assert [row[0] for row in rows] == moments
            assert {row[1] for row in rows} == {AT}


def _event_rows(keys: list[str]) -> list[dict[str, object]]:
    return [
        {
            "provider": "sendgrid",
            "provider_event_id": key,
            "type": "open",
            "occurred_at": AT,
            "received_at": AT,
            "payload": {"n": n},
        }
        for n, key in enumerate(keys)
    ]


def test_an_insert_that_skips_conflicts_counts_only_the_rows_inserted(engine: Engine) -> None:
    module: Any = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = module.insert(events).on_conflict_do_nothing(
        index_elements=["provider", "provider_event_id"]
    )
    first = [f"e{n}" for n in range(10)]
    # five known already, one twice in the same batch, and 1,200 new: two pages on PostgreSQL
    second = first[:5] + ["again", "again"] + [f"n{n}" for n in range(1200)]
    with engine.begin() as db:
        assert execute_many(db, statement, _event_rows(first)) == 10
        assert execute_many(db, statement, _event_rows(second)) == 1201
        stored = db.execute(
            sa.select(events.c.provider_event_id, events.c.payload).order_by(events.c.id)
        ).all()
    assert len(stored) == 1211
    # the first row of a key wins, and rows go in in the order given
    assert stored[10] == ("again", {"n": 5})
    assert [key for key, _ in stored[11:]] == [f"n{n}" for n in range(1200)]


def test_any_of_finds_exactly_the_values_given_whatever_they_hold(engine: Engine) -> None:
    from nurture.adapters.db.bulk import any_of

    # On PostgreSQL the values travel as an array's text: quotes, backslashes, commas,
    # braces, spaces and the word NULL must come back as themselves.
    odd = [
        'a"quote@durand.example',
        "back\\slash@durand.example",
        "comma,brace}{@durand.example",
        " spaced @durand.example",
        "NULL",
        "élodie@durand.example",
        "x" * 300 + "@durand.example",
    ]
    # On SQLite a long list travels as one JSON document (json_each), a short one as a
    # parameter each: both must find the same.
    missing = [f"missing{n}@durand.example" for n in range(40)]
    with engine.begin() as db:
        for email in [*odd, "other@durand.example", "x" * 300]:
            db.execute(contacts.insert(), {"email": email, "created_at": AT, "updated_at": AT})
        for absent in (["missing"], missing):
            found = db.execute(
                sa.select(contacts.c.email).where(any_of(db, contacts.c.email, [*odd, *absent]))
            ).scalars()
            assert sorted(found) == sorted(odd)
        ids = list(
            db.execute(sa.select(contacts.c.id).where(contacts.c.email.in_(odd[:3]))).scalars()
        )
        for absent_ids in ([], list(range(10_000, 10_040))):
            chosen = any_of(db, contacts.c.id, [*ids, *absent_ids])
            by_id = db.execute(sa.select(contacts.c.email).where(chosen))
            assert sorted(by_id.scalars()) == sorted(odd[:3])
        assert not db.execute(sa.select(contacts.c.id).where(any_of(db, contacts.c.id, []))).all()


def test_any_of_binds_the_array_untyped_on_postgresql(engine: Engine) -> None:
    from nurture.adapters.db.bulk import any_of

    # Bound as text, the cast to an array is an expression PostgreSQL's planner does not
    # see through: a chunk's read of recent touches left its index (46 ms -> 1.3 s a run).
    with engine.connect() as db:
        query = sa.select(contacts.c.id).where(any_of(db, contacts.c.id, [3, 1, 2]))
        sql = str(query.compile(dialect=db.dialect))
        assert sorted(db.execute(query).scalars()) == []
    if engine.dialect.name == "postgresql":
        assert "= ANY (CAST(%(param_1)s AS BIGINT[]))" in sql, sql
    else:
        assert " IN (" in sql, sql


def test_a_long_list_goes_to_sqlite_as_one_json_parameter(engine: Engine) -> None:
    from nurture.adapters.db.bulk import any_of

    # A parameter each: SQLAlchemy wrote the query out again for every chunk of a
    # thousand ids, and SQLite prepared it again (1.5% of a run at 1M contacts).
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    with engine.connect() as db:
        sa.event.listen(db, "before_cursor_execute", capture)
        db.execute(sa.select(contacts.c.id).where(any_of(db, contacts.c.id, range(1000)))).all()
    if engine.dialect.name == "sqlite":
        ((statement, params),) = seen
        assert "IN (SELECT" in statement, statement
        assert "json_each(?)" in statement, statement
        assert len(params) == 1, len(params)
