"""Fixtures shared by every tier of tests."""

from __future__ import annotations

import itertools
import os
import shutil
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
from nurture.standins import SendGridStandIn, TwilioStandIn, serve
from tests.support.live import Live, Providers, live_app
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
def providers_session() -> Iterator[Providers]:
    """The SendGrid and Twilio stand-ins, served once for the whole session."""
    sendgrid, twilio = SendGridStandIn(), TwilioStandIn()
    with serve(sendgrid.app) as sendgrid_server, serve(twilio.app) as twilio_server:
        yield Providers(sendgrid, twilio, sendgrid_server, twilio_server)


@pytest.fixture
def providers(providers_session: Providers) -> Providers:
    """The stand-ins, with nothing recorded and nothing planned."""
    providers_session.reset()
    return providers_session


CHANNELS_SEQUENCE = """\
id: channels-test
name: Every channel, one step a run
version: 1
audience: {stages: [contact, lead, prospect], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 0, warm: 0, hot: 0}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00", holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: sms-1, channel: sms, template: sms/meeting-nudge, when: "contact.consent.sms"}
  - {id: call-1, channel: call, script: calls/discovery}
  - {id: content-1, channel: content, content: guide-nis2}
exit_on: [replied, meeting_booked, unsubscribed, bounced, not_interested]
"""


@pytest.fixture
def project_dir(tmp_path: Path, repo_dir: Path) -> Path:
    """A copy of the sample project, plus a test sequence that uses every channel."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("sequences", "templates", "content"):
        shutil.copytree(repo_dir / name, root / name)
    shutil.copy(repo_dir / "scoring.yaml", root / "scoring.yaml")
    (root / "sequences" / "channels-test.yaml").write_text(CHANNELS_SEQUENCE, encoding="utf-8")
    return root


@pytest.fixture
def live(database_url: str, project_dir: Path, providers: Providers) -> Iterator[Live]:
    """The application wired to the stand-ins and to its own webhook server, at NOW."""
    with live_app(
        database_url=database_url, project_dir=project_dir, providers=providers, as_of=NOW
    ) as wired:
        yield wired


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
