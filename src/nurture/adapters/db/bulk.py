"""Updating many rows at once, the way each engine does it fastest.

On PostgreSQL every statement costs the server a round of bind and execute, and
``executemany`` sends one ``UPDATE`` per row. There, a thousand rows go in one
``UPDATE ... FROM unnest(array, ...)``, with one array per column, so that SQLAlchemy
compiles the statement once. SQLite runs a statement prepared once inside this process,
so ``executemany`` stays the fastest there, through :func:`execute_many`.

Inserts stay ``executemany`` on both: psycopg pipelines them, and SQLAlchemy's
"insertmanyvalues" (a thousand rows to an ``INSERT``) made generating a base of 200,000
contacts six times slower here (118 s against about 20 s).

:func:`execute_many` is ``executemany`` with less work per row on SQLite. SQLAlchemy's
own path builds a dictionary of parameters per row and runs each value through its type's
processor inside generic code: in a 1M-contact run's worker processes that was the
largest single item of the database writes. Here the statement is compiled once per call
and each row becomes one tuple, through the same type processors SQLAlchemy would use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from nurture.adapters.db.engine import json_text

__all__ = ["execute_many", "update_rows"]

#: Rows per statement on PostgreSQL (a statement takes at most 65,535 parameters).
_PAGE = 1000

#: Fewer rows than this go through SQLAlchemy, whose cached compilation costs less than
#: compiling the statement here.
_FEW = 8


def execute_many(
    db: sa.Connection, statement: sa.Insert | sa.Update, rows: Sequence[Mapping[str, Any]]
) -> None:
    """``db.execute(statement, rows)`` for a statement that returns nothing. On SQLite,
    with every row giving the same keys, the rows go straight to the driver's
    ``executemany``, each value through its column type's bind processor (datetimes,
    JSON, booleans) as SQLAlchemy would send it. A statement that needs Python-side
    defaults, returns rows, or gets rows of different shapes goes through SQLAlchemy."""
    plan = _driver_plan(db, statement, rows) if len(rows) >= _FEW else None
    if plan is None:
        db.execute(statement, list(rows))
        return
    sql, steps = plan
    params = [
        tuple(
            value if name is None else (row[name] if process is None else process(row[name]))
            for name, process, value in steps
        )
        for row in rows
    ]
    db.exec_driver_sql(sql, params)


#: How one positional parameter is filled: from the row's key (through the processor),
#: or, for a value the statement itself carries (``name`` is ``None``), that value.
_Step = tuple[str | None, Any, Any]


def _driver_plan(
    db: sa.Connection, statement: sa.Insert | sa.Update, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[_Step]] | None:
    if db.dialect.name != "sqlite":
        return None
    keys = list(rows[0])
    if any(len(row) != len(keys) or any(key not in row for key in keys) for row in rows):
        return None
    dialect = db.dialect
    compiled: Any = statement.compile(dialect=dialect, column_keys=keys)
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.effective_returning
        or compiled.escaped_bind_names
        or compiled.post_compile_params
        or compiled.positiontup is None
    ):
        return None
    steps: list[_Step] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in rows[0]:
            steps.append((name, process, None))
        elif bind.required:
            return None  # SQLAlchemy names the missing parameter
        else:
            value = bind.effective_value
            steps.append((None, None, value if process is None else process(value)))
    return compiled.string, steps


def _pages(rows: Sequence[Any]) -> list[Sequence[Any]]:
    return [rows[start : start + _PAGE] for start in range(0, len(rows), _PAGE)]


def update_rows(
    db: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    id_key: str = "_id",
    guards: Mapping[str, str] | None = None,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> None:
    """Update ``table`` by id: each row gives the id (under ``id_key``) and the columns to
    set. ``guards`` names row keys that must equal a column for the row to apply
    (``{"_index": "step_index"}``: only if nobody moved it meanwhile); ``where`` adds
    conditions every row must meet. Rows are grouped by the columns they set."""
    guards = dict(guards or {})
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        keys = tuple(sorted(k for k in row if k != id_key and k not in guards))
        # The id travels as "_id": SQLAlchemy keeps a column's own name for its SET.
        moved = (
            row
            if id_key == "_id"
            else {"_id": row[id_key], **{k: row[k] for k in row if k != id_key}}
        )
        groups.setdefault(keys, []).append(moved)
    for keys, group in groups.items():
        if db.dialect.name == "postgresql":
            for page in _pages(group):
                _update_from_arrays(db, table, page, keys=keys, guards=guards, where=where)
            continue
        statement = (
            table.update()
            .where(
                table.c.id == sa.bindparam("_id"),
                *(table.c[column] == sa.bindparam(name) for name, column in guards.items()),
                *where,
            )
            .values({key: sa.bindparam(key) for key in keys})
        )
        execute_many(db, statement, group)


def _update_from_arrays(
    db: sa.Connection,
    table: sa.Table,
    page: Sequence[Mapping[str, Any]],
    *,
    keys: tuple[str, ...],
    guards: Mapping[str, str],
    where: Sequence[sa.ColumnElement[bool]],
) -> None:
    """One ``UPDATE ... FROM unnest(array, ...)`` for ``page``: one parameter per column
    whatever the number of rows, so SQLAlchemy compiles the statement once. Rows naming the
    same id twice go one by one instead, in order, as ``executemany`` would apply them."""
    if len({row["_id"] for row in page}) != len(page):
        for row in page:
            _update_from_arrays(db, table, [row], keys=keys, guards=guards, where=where)
        return
    columns = {"_id": table.c.id, **{n: table.c[c] for n, c in guards.items()}}
    columns.update({key: table.c[key] for key in keys})
    # JSON goes as text: a JSON list inside an array would read as one more dimension.
    plain = {n: isinstance(c.type, sa.JSON) for n, c in columns.items()}
    arrays = [
        sa.bindparam(f"_{n}", type_=postgresql.ARRAY(sa.Text if plain[n] else c.type))
        for n, c in columns.items()
    ]
    given = (
        sa.func.unnest(*arrays)
        .table_valued(*(sa.column(name) for name in columns))
        .render_derived(name="v")
    )
    statement = (
        table.update()
        .where(
            table.c.id == given.c["_id"],
            *(table.c[column] == given.c[name] for name, column in guards.items()),
            *where,
        )
        # Cast: an array of NULLs only would come out of unnest as text.
        .values({key: sa.cast(given.c[key], table.c[key].type) for key in keys})
    )
    values = {
        f"_{name}": _array(
            [
                json_text(row[name]) if plain[name] and row[name] is not None else row[name]
                for row in page
            ]
        )
        for name in columns
    }
    db.execute(statement, values)


def _array(values: list[Any]) -> list[Any]:
    """``values`` as psycopg can send them as one array: a score of ``5`` beside ``4.5``
    becomes ``5.0`` (the column's cast gives the stored type back)."""
    if {type(v) for v in values if v is not None} == {int, float}:
        return [None if v is None else float(v) for v in values]
    return values
