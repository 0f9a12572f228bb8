"""Updating many rows at once, the way each engine does it fastest.

On PostgreSQL every statement costs the server a round of bind and execute, and
``executemany`` sends one statement per row (psycopg pipelines them, but the server binds
and executes each: in a 1M-contact run, 96,622 touch inserts took it 2.9 s). There, a
thousand rows go in one ``UPDATE ... FROM json_to_recordset(:rows)`` or ``INSERT ...
SELECT ... FROM json_to_recordset(:rows)``: the page is one JSON document, written by
orjson at once and read by the server in C, and SQLAlchemy compiles the statement once.
(Arrays, one per column through ``unnest``, came first: psycopg adapts an array element
by element in Python, and its array dumpers were 12% of the run's client time. SQLAlchemy's
"insertmanyvalues", a thousand rows in one ``VALUES`` list, compiles a new statement each
time, and made generating a base of 200,000 contacts six times slower: 118 s against
about 20 s.) SQLite runs a statement prepared once inside this process, so
``executemany`` stays the fastest there, through :func:`execute_many`.

:func:`execute_many` is ``executemany`` with less work per row on SQLite. SQLAlchemy's
own path builds a dictionary of parameters per row and runs each value through its type's
processor inside generic code: in a 1M-contact run's worker processes that was the
largest single item of the database writes. Here the statement is compiled once per call
(once per shape of row for an update by id) and each row becomes one tuple, through the
same type processors SQLAlchemy would use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from nurture.adapters.db.engine import json_text

__all__ = ["any_of", "execute_many", "update_rows"]


def any_of(db: sa.Connection, column: Any, values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:values)``, the values in one
    array parameter. An ``IN`` of a thousand values is a thousand parameters there: a
    query text SQLAlchemy writes out again, psycopg parses again (it remembers only short
    queries) and the server plans again, at every chunk of contacts a run reads.

    Ids and strings go as the array's text, which the server reads: psycopg adapts a list
    element by element in Python (0.68 ms a query of a thousand ids against 0.27 ms as
    text, 1.05 against 0.33 ms for a thousand addresses; about 0.5 s of the worker
    processes' time in a 1M-contact run)."""
    given = list(values)
    if db.dialect.name == "postgresql":
        if all(type(value) is int for value in given):
            text, element = "{" + ",".join(map(str, given)) + "}", column.type
        elif all(type(value) is str for value in given):
            # Each string quoted, its quotes and backslashes escaped; as text[], not the
            # column's varchar(n)[]: a cast to varchar(n) would cut a longer value short.
            quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in given)
            text, element = "{" + ",".join(quoted) + "}", sa.Text()
        else:
            array = sa.bindparam(None, given, type_=postgresql.ARRAY(column.type))
            return column == sa.any_(array)  # type: ignore[no-any-return]
        # Bound untyped, the server reads the parameter as the array itself, as it reads
        # psycopg's own arrays, and plans alike: typed as text, the cast was an expression
        # the planner could not see through (a budget read went from 46 ms to 1.3 s a run).
        untyped = sa.bindparam(None, text, type_=sa.types.NullType())
        return column == sa.any_(sa.cast(untyped, postgresql.ARRAY(element)))  # type: ignore[no-any-return]
    if len(given) >= _LISTED and all(type(value) in (int, str) for value in given):
        listed = sa.func.json_each(sa.bindparam(None, json_text(given), type_=sa.String()))
        return column.in_(sa.select(listed.table_valued("value").c.value))  # type: ignore[no-any-return]
    return column.in_(given)  # type: ignore[no-any-return]


#: Lists this long go to SQLite as one JSON parameter (``IN (SELECT value FROM
#: json_each(:list))``) instead of a parameter each.
_LISTED = 16


#: Rows per statement on PostgreSQL (a statement takes at most 65,535 parameters).
_PAGE = 1000

#: Fewer rows than this go through SQLAlchemy, whose cached compilation costs less than
#: compiling the statement here.
_FEW = 8


def execute_many(
    db: sa.Connection, statement: sa.Insert | sa.Update, rows: Sequence[Mapping[str, Any]]
) -> int:
    """``db.execute(statement, rows)`` for a statement that returns nothing; returns the
    rows the database changed, as the driver counts them (-1 when PostgreSQL does not
    say). With every row giving the same keys: on SQLite the rows go straight to the
    driver's ``executemany``, each value through its column type's bind processor
    (datetimes, JSON, booleans) as SQLAlchemy would send it; on PostgreSQL an insert goes
    as one JSON document a thousand rows. A statement that needs Python-side
    defaults, returns rows, or gets rows of different shapes goes through SQLAlchemy."""
    plan = None
    if len(rows) >= _FEW:
        shape = rows[0].keys()
        if all(row.keys() == shape for row in rows):
            if db.dialect.name == "sqlite":
                plan = _plan(db.dialect, statement, tuple(shape), columns=tuple(shape))
            elif db.dialect.name == "postgresql" and _recordset_serves(db, statement, shape):
                assert isinstance(statement, sa.Insert)
                return sum(
                    _insert_from_json(db, statement, page, tuple(shape)) for page in _pages(rows)
                )
    if plan is None:
        return db.execute(statement, list(rows)).rowcount
    return plan.execute(db, rows)


def _recordset_serves(db: sa.Connection, statement: sa.Insert | sa.Update, shape: Any) -> bool:
    """Whether an insert of rows of ``shape`` can go as one ``INSERT ... SELECT`` from a
    JSON document: not when a column left out has a Python-side default (SQLAlchemy computes it
    per row), nor when the statement returns rows or carries values of its own."""
    if not isinstance(statement, sa.Insert):
        return False
    compiled: Any = statement.compile(
        dialect=db.dialect, column_keys=list(shape), for_executemany=True
    )
    return not (
        compiled.insert_prefetch or compiled.effective_returning or set(compiled.binds) - set(shape)
    )


def _insert_from_json(
    db: sa.Connection,
    statement: sa.Insert,
    page: Sequence[Mapping[str, Any]],
    keys: tuple[str, ...],
) -> int:
    """One ``INSERT ... SELECT ... FROM json_to_recordset(:rows)`` for ``page``; the rows inserted
    (a row an ``ON CONFLICT DO NOTHING`` skips is not counted)."""
    table = statement.table
    assert isinstance(table, sa.Table)
    given, values = _recordset(db, table, page, keys)
    rows = sa.select(*(given.c[key] for key in keys))
    insert = statement.from_select(keys, rows, include_defaults=False)
    # SQLAlchemy keeps an INSERT's row count only when asked to.
    return db.execute(insert.execution_options(preserve_rowcount=True), values).rowcount


class _Plan(NamedTuple):
    """A statement compiled for SQLite, and how each row becomes its parameters."""

    sql: str
    #: The row keys that give the parameters, in order (the statement's constants aside).
    keys: tuple[str, ...]
    #: (position, processor) of each parameter a type processes (datetimes, JSON...).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    #: (position, value) of each value the statement carries itself (``status = 'x'``).
    constants: tuple[tuple[int, Any], ...]

    def execute(self, db: sa.Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Run the statement for ``rows`` and return the rows changed; a value its type
        refuses (a naive datetime) raises SQLAlchemy's ``StatementError``, as
        SQLAlchemy's own binding would."""
        try:
            parameters = self.parameters(rows)
        except Exception as exc:
            raise sa.exc.StatementError(
                f"({type(exc).__name__}) {exc}", self.sql, None, exc
            ) from exc
        return db.exec_driver_sql(self.sql, parameters).rowcount

    def parameters(self, rows: Iterable[Mapping[str, Any]]) -> list[Sequence[Any]]:
        get = itemgetter(*self.keys)
        if len(self.keys) == 1:
            values: list[Any] = [[get(row)] for row in rows]
        elif self.processors or self.constants:
            values = [list(get(row)) for row in rows]
        else:
            return [get(row) for row in rows]  # tuples, as they are
        for params in values:
            for position, value in self.constants:
                params.insert(position, value)
            for position, process in self.processors:
                params[position] = process(params[position])
        return [tuple(params) for params in values]  # SQLAlchemy passes tuples through


def _plan(
    dialect: sa.Dialect,
    statement: sa.Insert | sa.Update,
    shape: tuple[str, ...],
    *,
    columns: Sequence[str],
    rename: Mapping[str, str] | None = None,
) -> _Plan | None:
    """How rows of ``shape`` (their keys) are bound to ``statement`` on SQLite, or
    ``None`` when SQLAlchemy must do it. ``columns`` are the row keys that name columns
    to insert or set; ``rename`` maps bind names to row keys (``_id`` to ``id``)."""
    rename = rename or {}
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(columns))
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.effective_returning
        or compiled.escaped_bind_names
        or compiled.post_compile_params
        or compiled.positiontup is None
    ):
        return None
    keys: list[str] = []
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    constants: list[tuple[int, Any]] = []
    for position, name in enumerate(compiled.positiontup):
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        key = rename.get(name, name)
        if key in shape:
            keys.append(key)
            if process is not None:
                processors.append((position, process))
        elif bind.required:
            return None  # SQLAlchemy names the missing parameter
        else:
            value = bind.effective_value
            constants.append((position, value if process is None else process(value)))
    if not keys:
        return None
    return _Plan(compiled.string, tuple(keys), tuple(processors), tuple(constants))


def _update_statement(
    table: sa.Table,
    keys: Sequence[str],
    guards: Mapping[str, str],
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> sa.Update:
    # The id travels as "_id": SQLAlchemy keeps a column's own name for its SET.
    return (
        table.update()
        .where(
            table.c.id == sa.bindparam("_id"),
            *(table.c[column] == sa.bindparam(name) for name, column in guards.items()),
            *where,
        )
        .values({key: sa.bindparam(key) for key in keys})
    )


def _update_plan(
    dialect: sa.Dialect,
    table: sa.Table,
    shape: tuple[str, ...],
    id_key: str,
    guards: tuple[tuple[str, str], ...],
    *,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> _Plan | None:
    """The plan of an update by id of rows of ``shape``."""
    keys = [key for key in shape if key != id_key and key not in dict(guards)]
    statement = _update_statement(table, keys, dict(guards), where)
    return _plan(dialect, statement, shape, columns=keys, rename={"_id": id_key})


#: An update by id with no other condition: its plan is made once per shape of row, as
#: SQLAlchemy caches its own compiled statements.
_cached_update_plan = functools.lru_cache(maxsize=512)(_update_plan)


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
        groups.setdefault(tuple(row), []).append(row)
    for shape, group in groups.items():
        keys = tuple(k for k in shape if k != id_key and k not in guards)
        if db.dialect.name == "sqlite":
            made = _update_plan if where else _cached_update_plan
            plan = made(db.dialect, table, shape, id_key, tuple(guards.items()), where=tuple(where))
            if plan is not None:
                plan.execute(db, group)
                continue
        moved = (
            group
            if id_key == "_id"
            else [{"_id": row[id_key], **{k: row[k] for k in row if k != id_key}} for row in group]
        )
        if db.dialect.name == "postgresql":
            for page in _pages(moved):
                _update_from_json(db, table, page, keys=keys, guards=guards, where=where)
            continue
        db.execute(_update_statement(table, keys, guards, where), moved)


def _update_from_json(
    db: sa.Connection,
    table: sa.Table,
    page: Sequence[Mapping[str, Any]],
    *,
    keys: tuple[str, ...],
    guards: Mapping[str, str],
    where: Sequence[sa.ColumnElement[bool]],
) -> None:
    """One ``UPDATE ... FROM json_to_recordset(:rows)`` for ``page``: one parameter
    whatever the number of rows, so SQLAlchemy compiles the statement once. Rows naming the
    same id twice go one by one instead, in order, as ``executemany`` would apply them."""
    if len({row["_id"] for row in page}) != len(page):
        for row in page:
            _update_from_json(db, table, [row], keys=keys, guards=guards, where=where)
        return
    columns = {"_id": "id", **guards, **{key: key for key in keys}}
    given, values = _recordset(db, table, page, tuple(columns), columns)
    statement = (
        table.update()
        .where(
            table.c.id == given.c["_id"],
            *(table.c[column] == given.c[name] for name, column in guards.items()),
            *where,
        )
        .values({key: given.c[key] for key in keys})
    )
    db.execute(statement, values)


def _recordset(
    db: sa.Connection,
    table: sa.Table,
    page: Sequence[Mapping[str, Any]],
    names: tuple[str, ...],
    columns: Mapping[str, str] | None = None,
) -> tuple[Any, dict[str, str]]:
    """``json_to_recordset(:rows) AS v(name type, ...)``: ``page`` as one JSON document,
    each row key in ``names`` typed as the column ``columns`` maps it to (by default its
    own name). Each value goes through its type's bind processor first (a naive datetime
    is refused), as SQLAlchemy would bind it.

    One parameter for the page, written by orjson at once (see the module's note)."""
    columns = columns or {name: name for name in names}
    types = {name: table.c[columns[name]].type for name in names}
    dialect = db.dialect
    processors = [
        (name, process)
        for name, kind in types.items()
        # JSON columns travel as JSON inside the document, not as text.
        if not isinstance(kind, sa.JSON)
        and (process := kind.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    rows: Sequence[Mapping[str, Any]] = page  # each row gives exactly ``names``
    if processors:
        rows = [dict(row) for row in page]
        try:
            for row in rows:
                for name, process in processors:
                    row[name] = process(row[name])  # type: ignore[index]
        except Exception as exc:
            raise sa.exc.StatementError(f"({type(exc).__name__}) {exc}", None, None, exc) from exc
    document = sa.cast(sa.bindparam("_rows", type_=sa.Text), postgresql.JSON)
    given = (
        sa.func.json_to_recordset(document)
        .table_valued(*(sa.column(name, types[name]) for name in names))
        .render_derived(name="v", with_types=True)
    )
    return given, {"_rows": json_text(list(rows))}
