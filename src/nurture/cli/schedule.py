"""``nurture serve`` and ``nurture deploy``: the flows on their schedules."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import typer

from nurture.cli._common import console, fail, reporting_errors, require_link_secret
from nurture.errors import Location, SpecError
from nurture.settings import load_settings
from nurture.specs.yamlfile import read_yaml

__all__ = ["register", "schedules"]


#: The deployments that run on a schedule (``shard`` runs when a daily run starts it).
_SCHEDULED = ("daily", "dispatch")


def schedules(project_dir: Path) -> dict[str, dict[str, Any]]:
    """The schedule of each deployment in ``deployments/prefect.yaml``, by name."""
    path = project_dir / "deployments" / "prefect.yaml"
    document = read_yaml(path, display="deployments/prefect.yaml")
    out: dict[str, dict[str, Any]] = {}
    for index, deployment in enumerate((document.data or {}).get("deployments") or []):
        name = deployment.get("name")
        plans = deployment.get("schedules") or []
        if not name:
            where = document.location(("deployments", index))
            raise SpecError("each deployment needs a name", where)
        if name in _SCHEDULED and not plans:
            raise SpecError(
                f"the {name!r} deployment needs a schedule",
                document.location(("deployments", index)),
            )
        if plans:
            out[name] = plans[0]
    for required in _SCHEDULED:
        if required not in out:
            raise SpecError(f"no {required!r} deployment", Location(str(path)))
    return out


def serve() -> None:
    """Serve the daily run and the dispatch flow on their schedules (deployments/prefect.yaml).

    Start a Prefect server first (`prefect server start`) and point PREFECT_API_URL at it;
    the dashboard then shows every run, its artifacts and its logs. The shard deployment
    is served too: with NURTURE_SHARDS set, a daily run's shards run here, side by side.

    Example: nurture serve
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    require_link_secret()
    with reporting_errors():
        plans = schedules(load_settings().project_dir)
    from prefect import serve as prefect_serve
    from prefect.schedules import Cron, Interval

    from nurture.orchestration.flows import configured_daily_run, dispatch
    from nurture.orchestration.shards import run_shard

    daily, every = plans["daily"], plans["dispatch"]
    deployments: list[Any] = [
        configured_daily_run().to_deployment(
            name="daily",
            schedule=Cron(daily["cron"], timezone=daily.get("timezone", "UTC")),
            description="Every morning: ingest, score, plan, execute in batches, report.",
        ),
        dispatch.to_deployment(
            name="dispatch",
            schedule=Interval(int(every["interval"])),
            description="Release touches when their contact's send window opens.",
        ),
        # No schedule: a daily run starts its shards here when NURTURE_SHARDS is set.
        run_shard.to_deployment(
            name="shard", description="Plan and send one shard of a daily run."
        ),
    ]
    console.print(
        f"serving daily-run ({daily['cron']} {daily.get('timezone', 'UTC')}) and "
        f"dispatch (every {int(every['interval']) // 60} min); Ctrl-C to stop"
    )
    prefect_serve(*deployments)


def deploy(
    pool: str = typer.Option("nurture", "--pool", help="Work pool the deployments run on."),
) -> None:
    """Register the deployments of deployments/prefect.yaml with the Prefect server.

    Workers then run them: `prefect worker start --pool nurture` (process pool), on as many
    machines as needed; on PostgreSQL they share the work without sending anything twice.

    Example: nurture deploy
    """
    project = load_settings().project_dir
    with reporting_errors():
        schedules(project)
    prefect = shutil.which("prefect")
    if prefect is None:
        fail("the prefect command is not on PATH")
    subprocess.run(  # noqa: S603 - our own command line, no shell
        [prefect, "work-pool", "create", pool, "--type", "process"],
        check=False,
        capture_output=True,
    )
    result = subprocess.run(  # noqa: S603 - our own command line, no shell
        [
            prefect,
            "--no-prompt",
            "deploy",
            "--all",
            "--prefect-file",
            str(project / "deployments" / "prefect.yaml"),
        ],
        cwd=project,
        check=False,
    )
    if result.returncode != 0:
        fail("prefect deploy failed (see above)")
    console.print(f"deployments registered; start workers with: prefect worker start --pool {pool}")


def register(app: typer.Typer) -> None:
    """Add the scheduling commands to the main app."""
    app.command("serve")(serve)
    app.command("deploy")(deploy)
