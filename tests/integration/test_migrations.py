from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from nurture.adapters.db import migrate
from nurture.adapters.db.tables import metadata


# SQLite's reflection skips indexes on expressions (ix_contacts_idle_since), with a warning;
# PostgreSQL reflects and compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_build_exactly_the_declared_schema(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrations_go_down_and_up_again(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert set(sa.inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert "touches" in sa.inspect(empty_engine).get_table_names()


def test_upgrading_twice_is_harmless(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nurture.adapters.db.engine import create_db_engine

    db = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with db.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
