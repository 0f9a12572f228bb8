"""Writers of one SQLite file taking turns without sleeping.

SQLite lets one writer in at a time. A writer that finds the database busy sleeps in
steps that grow to 100 ms before it looks again, so under load the database sits idle
between one writer's commit and the next one's wake-up: with four webhook posts at once,
a fifth of the time. Writers that wait their turn here (threads of this process on a
lock, processes on an ``flock`` of a file beside the database) start the moment the one
before finishes. PostgreSQL, and SQLite in memory, need no turns.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.engine import Engine

try:
    import fcntl

    _FLOCK = True
except ImportError:  # not on Windows: processes there fall back on SQLite's own wait
    _FLOCK = False

__all__ = ["writer_turn"]

#: Suffix of the file whose lock the processes writing a database share.
LOCK_SUFFIX = "-writer.lock"


class _Turns:
    """The turns of one database file (one per process and file)."""

    def __init__(self, path: Path) -> None:
        self._threads = threading.Lock()
        self._path = path.with_name(path.name + LOCK_SUFFIX)
        self._fd: int | None = None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            if not _FLOCK:
                yield
                return
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_TURNS: dict[str, _Turns] = {}
_REGISTRY = threading.Lock()


def writer_turn(engine: Engine) -> AbstractContextManager[None]:
    """Wait for this writer's turn on ``engine``'s database, for a block of writes."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or "mode=memory" in database:
        return contextlib.nullcontext()
    path = Path(database.removeprefix("file:").split("?", 1)[0]).resolve()
    with _REGISTRY:
        turns = _TURNS.setdefault(str(path), _Turns(path))
    return turns.turn()
