"""Database engines: SQLite (embedded, WAL) by default, PostgreSQL for teams."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from nurture.errors import ConfigurationError

__all__ = [
    "DEFERRED_CHECKPOINT_PAGES",
    "WAL_AUTOCHECKPOINT_PAGES",
    "checkpoints_beside",
    "checkpoints_deferred",
    "create_db_engine",
    "explain_database_error",
    "normalise_url",
]

#: What SQLite and PostgreSQL say, and what a person should do about it.
_PROBLEMS = (
    (
        "unable to open database file",
        "cannot be opened: it is a folder, or its folder is "
        "missing or not writable. Point NURTURE_DATABASE_URL at a file",
    ),
    (
        "file is not a database",
        "is not a nurture database (or is damaged): restore it from "
        "a backup, or point NURTURE_DATABASE_URL at another file",
    ),
    ("database disk image is malformed", "is damaged: restore it from a backup"),
    (
        "readonly database",
        "is read-only: nurture needs to write to it (check the file's "
        "permissions and its folder's)",
    ),
    (
        "database is locked",
        "is locked by another process (a run, an import, a server) "
        "that held it too long: wait for it to finish, then try again",
    ),
    ("disk i/o error", "could not be written (disk full, or the disk failed)"),
    ("database or disk is full", "could not be written: the disk is full"),
    (
        "connection refused",
        "refused the connection: is the PostgreSQL server running and listening there?",
    ),
    ("could not translate host name", "names a host that cannot be found"),
    ("password authentication failed", "refused the user name or password"),
    ("does not exist", "names a database or role that does not exist: create it first"),
    ("no such table", "has no nurture schema, or an older one: run `nurture db upgrade`"),
)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


#: JSON columns (interest states, payloads, attributes) through orjson, maintained and
#: several times faster than the standard library's json both ways: reading contacts'
#: interest states was 12% of applying a webhook's events.
_JSON: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a generous busy timeout."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"NURTURE_DATABASE_URL is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    if backend == "postgresql":
        return sa.create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=8, **_JSON)
    raise ConfigurationError(
        f"unsupported database {backend!r}: use sqlite:///FILE or postgresql+psycopg://..."
    )


#: A commit that leaves SQLite's log past this many pages copies the log into the database
#: file itself, inside its write transaction (SQLite's default is 1,000 pages, 4 MB: at 1M
#: contacts a planner's commits took 0.7-0.8 s of its turns, the other one waiting). At
#: 10,000 (40 MB) the run's background checkpoints (``checkpoints_beside``) do that
#: copying between the commits, and any other writer's log stays bounded all the same.
WAL_AUTOCHECKPOINT_PAGES = 10_000

#: While a run plans (``checkpoints_deferred``), a commit copies SQLite's log into the
#: database file only past this many pages (1 GiB of 4 KiB pages). The planners' log
#: reached 108,000 pages at 1M contacts, and the sending phase's background checkpoints
#: copy it; at ten times the contacts, the planners' own commits would copy it past this
#: size, so the log stays bounded.
DEFERRED_CHECKPOINT_PAGES = 262_144

#: The engines whose commits currently defer checkpoints, and up to how many pages.
_deferred: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()

_MMAP_BYTES = 2**28
_CACHE_KIB = 65536


def _sqlite_engine(url: sa.URL, *, echo: bool) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 60}, **_JSON)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy own transactions (pysqlite's own BEGIN handling defers locks).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            record.info["wal_autocheckpoint"] = WAL_AUTOCHECKPOINT_PAGES
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        # Reads through a memory map and a 64 MB page cache per connection: a run reads
        # chunks of contacts and touches all over the file (measured in BENCHMARKS.md).
        cursor.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
        cursor.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        pages = _deferred.get(connection.engine, WAL_AUTOCHECKPOINT_PAGES)
        info = connection.connection.info
        if info.get("wal_autocheckpoint", pages) != pages:
            connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                f"PRAGMA wal_autocheckpoint={pages}"
            )
            info["wal_autocheckpoint"] = pages
        # IMMEDIATE takes the write lock up front: two writers wait for each other instead
        # of failing half-way with "database is locked". Pure readers opt out.
        if connection.get_execution_options().get("read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def explain_database_error(exc: BaseException, url: str) -> str:
    """A database failure as a person can act on it: where, what, and what to do. The
    URL is shown without its password."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    try:
        where = make_url(normalise_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        where = "NURTURE_DATABASE_URL"
    for needle, advice in _PROBLEMS:
        if needle in text:
            return f"the database {where} {advice}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"the database {where} failed: {first}"


#: How often a background checkpoint copies SQLite's write-ahead log into the database.
CHECKPOINT_SECONDS = 0.05


@contextmanager
def checkpoints_beside(engine: Engine) -> Iterator[None]:
    """While the block runs, copy SQLite's write-ahead log into the database file from a
    thread of this process (``PRAGMA wal_checkpoint(PASSIVE)``: it takes no lock that a
    writer waits for), so that the writers' commits rarely find the log past SQLite's
    automatic checkpoint (``WAL_AUTOCHECKPOINT_PAGES``) and do the copying themselves.
    Nothing on other engines or in memory. Sending at 1M contacts: execute 8.9 -> 8.3 s on
    average of six alternating runs, where the workers' commits had checkpointed in turn;
    with planning beside them too and 10,000 pages before a commit copies, 14.52 -> 13.89 s
    for the whole run (three pairs)."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or not database or not Path(database).is_file():
        yield  # PostgreSQL, a database in memory, or none yet (nothing to create here)
        return
    done = threading.Event()

    def checkpoint() -> None:
        connection = sqlite3.connect(database, timeout=1, isolation_level=None)
        try:
            while True:  # at once first: the log planning left (checkpoints_deferred)
                # Busy for a moment: the next turn, or the writers, will do it.
                with suppress(sqlite3.OperationalError):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if done.wait(CHECKPOINT_SECONDS):
                    break
        finally:
            connection.close()

    worker = threading.Thread(target=checkpoint, name="nurture-wal-checkpoint", daemon=True)
    worker.start()
    try:
        yield
    finally:
        done.set()
        worker.join()


@contextmanager
def checkpoints_deferred(engine: Engine) -> Iterator[None]:
    """While the block runs, this process's commits on ``engine`` leave SQLite's log to
    grow (up to ``DEFERRED_CHECKPOINT_PAGES``) instead of copying it into the database
    file. The run's planners work this way, and the sending phase's background
    checkpoints (``checkpoints_beside``) copy their log at once. Copying it while they
    planned cost a checkpoint and its ``fsync`` every 50 ms: planning at 1M contacts on
    disk took 3.7-4.1 s with them, 3.4-3.5 s without (BENCHMARKS.md, item 50). Nothing on
    other engines."""
    if engine.dialect.name != "sqlite":
        yield
        return
    before = _deferred.get(engine)
    _deferred[engine] = DEFERRED_CHECKPOINT_PAGES
    try:
        yield
    finally:
        if before is None:
            _deferred.pop(engine, None)
        else:
            _deferred[engine] = before
