"""The one place that builds adapters from settings. Nothing else constructs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from nurture.adapters.clock import FixedClock, SystemClock
from nurture.adapters.db import migrate
from nurture.adapters.db.engine import create_db_engine
from nurture.adapters.db.uow import SqlUnitOfWork
from nurture.domain.scoring import ScoringModel
from nurture.errors import ConfigurationError
from nurture.services.ports import Clock
from nurture.services.rendering import Sender
from nurture.settings import Settings
from nurture.specs.contact_rows import RowDefaults
from nurture.specs.project import Project, load_project
from nurture.specs.scoring import load_scoring

__all__ = ["App", "bootstrap"]


@dataclass
class App:
    """Adapters and configuration, built once per command or flow run."""

    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)

    @property
    def project_dir(self) -> Path:
        """The marketer's folder (sequences, templates, scoring)."""
        return self.settings.project.project_dir

    def uow(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A new unit of work on the database."""
        return SqlUnitOfWork(self.engine, read_only=read_only)

    @cached_property
    def scoring(self) -> ScoringModel:
        """The project's ``scoring.yaml``."""
        path = self.project_dir / "scoring.yaml"
        if not path.is_file():
            raise ConfigurationError(
                f"no scoring.yaml in {self.project_dir.resolve()}: set NURTURE_PROJECT_DIR to a "
                "project folder, or create one with `nurture init DIR`"
            )
        return load_scoring(path, display=_display(path, self.project_dir))

    @cached_property
    def project(self) -> Project:
        """The whole project folder, checked (every problem raised at once)."""
        if not (self.project_dir / "scoring.yaml").is_file():
            _ = self.scoring  # raises the helpful "no scoring.yaml" error
        return load_project(
            self.project_dir, default_language=self.settings.project.default_language
        )

    @property
    def sender(self) -> Sender:
        """Who messages come from, and how links are signed."""
        return Sender(
            name=self.settings.email.from_name,
            email=self.settings.email.from_email,
            public_url=self.settings.webhooks.public_url,
            link_secret=self.settings.webhooks.unsubscribe_secret.get_secret_value(),
        )

    @property
    def row_defaults(self) -> RowDefaults:
        """Defaults for contact rows that leave a field empty."""
        project = self.settings.project
        return RowDefaults(
            region=project.default_region,
            timezone=project.default_timezone,
            language=project.default_language,
        )

    def now(self) -> datetime:
        """The time services should use."""
        return self.clock.now()


def bootstrap(
    settings: Settings | None = None,
    *,
    as_of: datetime | None = None,
    upgrade_schema: bool = True,
) -> App:
    """Build the application from ``settings`` (read from the environment by default)."""
    settings = settings or Settings()
    engine = create_db_engine(settings.database.database_url)
    if upgrade_schema:
        migrate.upgrade(engine)
    clock: Clock = FixedClock(as_of) if as_of is not None else SystemClock()
    return App(settings=settings, engine=engine, clock=clock)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
