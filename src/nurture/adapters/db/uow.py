"""One database transaction, with the repositories that work inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nurture.adapters.db.contacts import SqlContacts
from nurture.adapters.db.enrollments import SqlEnrollments
from nurture.adapters.db.events import SqlEvents
from nurture.adapters.db.journal import SqlJournal
from nurture.adapters.db.privacy import SqlPrivacy
from nurture.adapters.db.reports import SqlReportData
from nurture.adapters.db.runs import SqlRuns
from nurture.adapters.db.sequences import SqlSequenceVersions
from nurture.adapters.db.suppressions import SqlSuppressions
from nurture.adapters.db.tasks import SqlCallTasks
from nurture.adapters.db.touches import SqlTouches

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()``; leaving without a commit rolls back."""

    contacts: SqlContacts
    enrollments: SqlEnrollments
    events: SqlEvents
    runs: SqlRuns
    tasks: SqlCallTasks
    touches: SqlTouches
    journal: SqlJournal
    sequences: SqlSequenceVersions
    suppressions: SqlSuppressions
    privacy: SqlPrivacy
    reports: SqlReportData
    connection: sa.Connection

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self.serialises_writers = engine.dialect.name == "sqlite"

    def __enter__(self) -> Self:
        connection = self._engine.connect()
        if self._read_only:
            connection = connection.execution_options(read_only=True)
        self.connection = connection  # transactions begin on first use (autobegin)
        self.contacts = SqlContacts(connection)
        self.enrollments = SqlEnrollments(connection)
        self.events = SqlEvents(connection)
        self.runs = SqlRuns(connection)
        self.tasks = SqlCallTasks(connection)
        self.touches = SqlTouches(connection)
        self.journal = SqlJournal(connection)
        self.sequences = SqlSequenceVersions(connection)
        self.suppressions = SqlSuppressions(connection)
        self.privacy = SqlPrivacy(connection)
        self.reports = SqlReportData(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.connection.in_transaction():
                self.connection.rollback()
        finally:
            self.connection.close()

    @contextmanager
    def reading(self) -> Iterator[Self]:
        """A block of reads in its own transaction that takes no write lock (SQLite would
        otherwise begin IMMEDIATE and hold the database against every other writer); the
        transaction ends with the block. Work not yet committed is committed first."""
        if self.connection.in_transaction():
            self.connection.commit()
        self.connection.execution_options(read_only=True)
        try:
            yield self
        finally:
            if self.connection.in_transaction():
                self.connection.rollback()
            self.connection.execution_options(read_only=self._read_only)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: what fails inside is undone alone, the rest stays."""
        with self.connection.begin_nested():
            yield

    def commit(self) -> None:
        """Make the work so far durable; the next statement starts a new transaction."""
        self.connection.commit()

    def rollback(self) -> None:
        """Forget the work since the last commit."""
        self.connection.rollback()
