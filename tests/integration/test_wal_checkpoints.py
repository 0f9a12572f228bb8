"""Background checkpoints of SQLite's write-ahead log while the senders write: what they
commit reaches the database file without any writer copying it there."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from nurture.adapters.db.engine import (
    DEFERRED_CHECKPOINT_PAGES,
    WAL_AUTOCHECKPOINT_PAGES,
    checkpoints_beside,
    checkpoints_deferred,
    create_db_engine,
)


def _rows_in_the_file_alone(database: Path, copy: Path) -> int:
    """Rows of ``t`` in the database file without its log (what checkpoints put there)."""
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])
    except sqlite3.DatabaseError:
        return -1  # copied halfway through a checkpoint: look again
    finally:
        connection.close()


def _write(database: Path, rows: int) -> sqlite3.Connection:
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # no writer ever copies the log itself
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(rows)])
    writer.execute("COMMIT")
    return writer


def _database(tmp_path: Path) -> Path:
    database = tmp_path / "nurture.db"
    setup = sqlite3.connect(database, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("PRAGMA wal_autocheckpoint=0")
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    setup.close()
    return database


def test_commits_reach_the_database_file_while_checkpoints_run(tmp_path: Path) -> None:
    database = _database(tmp_path)
    engine = create_db_engine(f"sqlite:///{database}")
    with checkpoints_beside(engine):
        writer = _write(database, 5000)
        deadline = time.monotonic() + 5
        while _rows_in_the_file_alone(database, tmp_path / "copy.db") < 5000:
            assert time.monotonic() < deadline, "the log never reached the database file"
            time.sleep(0.05)
        writer.close()
    engine.dispose()


def test_without_them_the_commits_stay_in_the_log(tmp_path: Path) -> None:
    """The control: the same writes, no checkpoints, and the file alone holds none."""
    database = _database(tmp_path)
    writer = _write(database, 5000)
    time.sleep(0.3)
    assert _rows_in_the_file_alone(database, tmp_path / "copy.db") == 0
    writer.close()


def test_nothing_is_started_or_created_for_a_database_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet.db"
    engine = sa.create_engine(f"sqlite:///{missing}")
    with checkpoints_beside(engine):
        time.sleep(0.1)
    assert not missing.exists()


def test_a_commit_copies_the_log_itself_only_past_a_bounded_size(tmp_path: Path) -> None:
    """Past SQLite's 1,000 pages, so that the run's background checkpoints do the copying
    between commits, and still bounded (at most 100 MB of log) for any other writer."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'nurture.db'}")
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        page_size = connection.exec_driver_sql("PRAGMA page_size").scalar()
    engine.dispose()
    assert pages == WAL_AUTOCHECKPOINT_PAGES
    assert pages > 1_000
    assert pages * page_size <= 100 * 2**20


def _commit_past_the_bound(engine: sa.Engine) -> None:
    """One commit of more pages than a commit copies by itself (blobs of a page each)."""
    rows = WAL_AUTOCHECKPOINT_PAGES + 500
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO t SELECT zeroblob(4000) FROM "
            "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "SELECT i FROM n)",
            (rows,),
        )


def test_while_planning_a_large_commit_leaves_the_log_to_grow(tmp_path: Path) -> None:
    """The planners' commits copy nothing into the database file (the sending phase's
    background checkpoints do it); afterwards a commit copies past the bound again."""
    database = _database(tmp_path)
    engine = create_db_engine(f"sqlite:///{database}")
    with checkpoints_deferred(engine):
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        _commit_past_the_bound(engine)
        assert _rows_in_the_file_alone(database, tmp_path / "copy.db") == 0
    assert pages == DEFERRED_CHECKPOINT_PAGES
    _commit_past_the_bound(engine)  # the same pooled connection, the bound restored
    assert _rows_in_the_file_alone(database, tmp_path / "copy.db") > WAL_AUTOCHECKPOINT_PAGES
    engine.dispose()


def test_without_deferring_a_large_commit_copies_the_log_itself(tmp_path: Path) -> None:
    """The control: the same commit, outside a planning phase, reaches the file."""
    database = _database(tmp_path)
    engine = create_db_engine(f"sqlite:///{database}")
    _commit_past_the_bound(engine)
    assert _rows_in_the_file_alone(database, tmp_path / "copy.db") > WAL_AUTOCHECKPOINT_PAGES
    engine.dispose()
