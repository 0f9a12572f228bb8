"""Run records: who runs, since when, with what result."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nurture.adapters.db.tables import runs

__all__ = ["SqlRuns", "process_alive"]


def process_alive(pid: int) -> bool:
    """Whether a process of this machine is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqlRuns:
    """Run rows."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def start(
        self, run_id: str, *, kind: str, as_of: datetime, started_at: datetime, dry_run: bool
    ) -> None:
        """Record a run that starts now, in this process."""
        self._db.execute(
            runs.insert().values(
                id=run_id,
                kind=kind,
                as_of=as_of,
                started_at=started_at,
                status="running",
                dry_run=dry_run,
                summary={},
                hostname=socket.gethostname(),
                pid=os.getpid(),
                heartbeat_at=started_at,
            )
        )

    def beat(self, run_id: str, *, at: datetime) -> None:
        """Say the run is still alive."""
        self._db.execute(runs.update().where(runs.c.id == run_id).values(heartbeat_at=at))

    def finish(self, run_id: str, *, status: str, at: datetime, summary: dict[str, Any]) -> None:
        """Record how a run ended."""
        self._db.execute(
            runs.update()
            .where(runs.c.id == run_id)
            .values(status=status, finished_at=at, summary=summary, heartbeat_at=at)
        )

    def parts(self, run_id: str) -> list[dict[str, Any]]:
        """The summaries of the parts of ``run_id`` (its shards, ``RUN/shard-N``), by id."""
        query = (
            sa.select(runs.c.id, runs.c.status, runs.c.summary)
            .where(runs.c.id.startswith(f"{run_id}/", autoescape=True))
            .order_by(runs.c.id)
        )
        return [
            {"id": part_id, "status": status, "summary": summary or {}}
            for part_id, status, summary in self._db.execute(query)
        ]

    def live(self, *, stale_before: datetime) -> set[str]:
        """Runs that are still working: running, beating recently, and (on this machine)
        with a living process."""
        query = sa.select(runs.c.id, runs.c.hostname, runs.c.pid, runs.c.heartbeat_at).where(
            runs.c.status == "running"
        )
        here = socket.gethostname()
        alive = set()
        for run_id, hostname, pid, heartbeat_at in self._db.execute(query):
            if heartbeat_at is not None and heartbeat_at < stale_before:
                continue
            if hostname == here and pid is not None and not process_alive(pid):
                continue
            alive.add(run_id)
        return alive
