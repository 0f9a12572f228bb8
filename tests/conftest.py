"""Fixtures shared by every tier of tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from nurture.adapters.db import migrate
from nurture.adapters.db.engine import create_db_engine
from nurture.bootstrap import App, bootstrap
from nurture.domain.scoring import ScoringModel
from nurture.settings import DatabaseSettings, ProjectSettings, Settings
from nurture.specs.scoring import load_scoring
from tests.support.postgres import PostgresCluster, find_bindir

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def scoring_model() -> ScoringModel:
    return load_scoring(REPO / "scoring.yaml")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing; .ci/run installs them")
        pytest.skip("no PostgreSQL server binaries here (CI installs them)")
    cluster = PostgresCluster(bindir)
    cluster.start()
    yield cluster
    cluster.stop()


_db_names = itertools.count()


def _engine_for(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return create_db_engine(f"sqlite:///{tmp_path / 'nurture.db'}")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return create_db_engine(cluster.create_database(f"t{os.getpid()}_{next(_db_names)}"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: SQLite in a temp folder, then a real PostgreSQL."""
    db = _engine_for(request, tmp_path)
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nurture.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"t{os.getpid()}_{next(_db_names)}")


@pytest.fixture
def app(database_url: str, repo_dir: Path) -> Iterator[App]:
    """The application on the sample project, at a fixed time (a Monday, 08:00 UTC)."""
    settings = Settings(
        database=DatabaseSettings(database_url=database_url),
        project=ProjectSettings(project_dir=repo_dir),
    )
    application = bootstrap(settings, as_of=NOW)
    yield application
    application.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no schema) on both backends."""
    db = _engine_for(request, tmp_path)
    yield db
    db.dispose()
