"""Scale-out on an existing engine: one daily run split across 1, then 2 Prefect workers.

    python bench/scale_out.py [--contacts 200000] [--shards 2] [--workers 1,2] [--repeat 2]

Starts a throwaway PostgreSQL and a Prefect server (its own database in the same cluster,
as Prefect advises for several machines), generates one base, registers the
``shard`` deployment on a ``process`` work pool, then for each worker count: copies the
base, starts that many ``prefect worker start --pool nurture --limit 1`` processes, runs the
daily flow with ``NURTURE_SHARDS`` and checks, against the database and the outbox, that
every due touch went out exactly once; each worker count is tried ``--repeat`` times,
alternating, and the speed-up compares the best of each. Prints the figures and writes them to
``bench/results/scale_out.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
import psycopg  # noqa: E402
from tests.support.env import settings_env  # noqa: E402
from tests.support.live import free_port  # noqa: E402
from tests.support.postgres import PostgresCluster, find_bindir  # noqa: E402

from nurture.settings import Settings  # noqa: E402
from run import AS_OF, RESULTS, _machine, _prepare  # noqa: E402

PREFECT = str(Path(sys.executable).with_name("prefect"))


class _Processes:
    """Background processes, each in its own session, stopped together."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.running.append(
            subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.running.clear()


def _prefect_server(processes: _Processes, home: Path, database: str) -> dict[str, str]:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # On SQLite (Prefect's default) the server took 2.3 s to create the task run that
        # links the first shard to the daily run, idle meanwhile but for its threads in
        # SQLite: a dead time each worker count paid once. The same morning: 1.78x with
        # the server on SQLite, 1.88x on PostgreSQL (BENCHMARKS.md, item 53).
        "PREFECT_API_DATABASE_CONNECTION_URL": database,
        "PREFECT_UI_API_URL": api,
    }
    env.pop("PREFECT_API_URL", None)
    command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    processes.start("prefect-server", command, env, home)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        raise RuntimeError((processes.logs / "prefect-server.log").read_text()[-2000:])
    return {
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def _register(project: Path, env: dict[str, str]) -> None:
    """The work pool and the ``shard`` deployment, as ``nurture deploy`` registers them
    (only that one: the bench's server must not schedule the daily and dispatch runs)."""
    subprocess.run(
        [PREFECT, "work-pool", "create", "nurture", "--type", "process"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [PREFECT, "--no-prompt", "deploy", "--name", "shard",
         "--prefect-file", str(project / "deployments" / "prefect.yaml")],
        env=env, cwd=project, check=True, capture_output=True,
    )  # fmt: skip


def _wait_for_workers(api: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = httpx.post(f"{api}/work_pools/nurture/workers/filter", json={}).json()
        if sum(1 for w in found if w.get("status") == "ONLINE") >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{count} workers did not come online")


def _copy_database(cluster: PostgresCluster, base: str, name: str) -> str:
    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')
    return cluster.url(name)


def _checks(url: str, outbox: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Exactly once, from the database and the outbox."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        by_status = dict(conn.execute("SELECT status, count(*) FROM touches GROUP BY status"))
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM touches GROUP BY enrollment_id, step_id "
            "HAVING count(*) > 1) AS d"
        ).fetchone()
        left = conn.execute(
            "SELECT count(*) FROM touches WHERE status IN ('scheduled', 'sending') "
            "AND deliver_at <= %s",
            (AS_OF,),
        ).fetchone()
        sent = dict(
            conn.execute("SELECT channel, count(*) FROM touches WHERE status = 'sent' GROUP BY 1")
        )
    files = {
        "email": sum(1 for _ in (outbox / "email").rglob("*.eml")),
        "sms": sum(1 for _ in (outbox / "sms").rglob("*.json")),
    }
    # A content drop goes out by email or by SMS, as the contact is reachable: the files
    # of both kinds together match every touch sent but calls (tasks, not messages).
    messages = sum(n for channel, n in sent.items() if channel != "call")
    written = files["email"] + files["sms"]
    reported = sum(summary["execute"]["sent"].values())
    return {
        "touches_by_status": by_status,
        "sent_by_channel": sent,
        "same_step_twice": twice[0] if twice else 0,
        "due_left": left[0] if left else 0,
        "sent_in_database": sum(sent.values()),
        "sent_in_summary": reported,
        "outbox_files": files,
        "duplicates": (twice[0] if twice else 0) + max(0, written - messages),
        "lost": (left[0] if left else 0) + max(0, messages - written)
        + abs(reported - sum(sent.values())),
    }  # fmt: skip


def _trial(
    workers: int, shards: int, settings: Settings, server: dict[str, str], processes: _Processes
) -> dict[str, Any]:
    env = {**os.environ, **settings_env(settings), **server, "NURTURE_SHARDS": str(shards)}
    project = settings.project.project_dir
    for i in range(workers):
        worker_env = {**env, "PREFECT_WORKER_QUERY_SECONDS": "1"}
        command = [PREFECT, "worker", "start", "--pool", "nurture", "--type", "process",
                   "--limit", "1", "--name", f"bench-{workers}-{i}"]  # fmt: skip
        processes.start(f"worker-{workers}-{i}", command, worker_env, project)
    _wait_for_workers(server["PREFECT_API_URL"], workers)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "flow_once.py"), AS_OF.isoformat()],
        env=env, capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    processes.stop()
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    run = json.loads(result.stdout.strip().splitlines()[-1])
    summary = run["summary"]
    sent = sum(summary["execute"]["sent"].values())
    split = summary["timings"]["execute_wall"]
    return {
        "workers": workers,
        "shards": shards,
        "run_wall_s": run["wall"],
        "shards_wall_s": split,
        "sent": sent,
        "touches_per_s": round(sent / split, 1),
        "cores_busy": run["cores_busy"].get("execute_wall"),
        "checks": _checks(settings.database.database_url, settings.project.outbox_dir, summary),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2, help="tries of each worker count")
    args = parser.parse_args()
    args.outbox, args.runner = "disk", "threads"
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("scale_out: no PostgreSQL server binaries here")
    work = RESULTS / "work" / "scale-out"
    shutil.rmtree(work, ignore_errors=True)
    cluster = PostgresCluster(bindir)
    cluster.start()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    processes = _Processes(work / "logs")  # the Prefect server
    workers_running = _Processes(work / "logs")
    results: dict[str, Any] = {"machine": _machine(), "contacts": args.contacts}
    try:
        base, made = _prepare(work / "base", cluster.create_database("base"), args.contacts, args)
        results["generated"] = made
        print(f"generated {made}")
        (work / "prefect").mkdir(exist_ok=True)
        prefect_database = cluster.create_database("prefect").replace("+psycopg", "+asyncpg")
        server = _prefect_server(processes, work / "prefect", prefect_database)
        _register(base.project.project_dir, {**os.environ, **server,
                  "NURTURE_PROJECT_DIR": str(base.project.project_dir)})  # fmt: skip
        trials = []
        counts = [int(n) for n in args.workers.split(",")]
        for attempt in range(args.repeat):  # 1, 2, 1, 2: both see the same noise
            for workers in counts:
                name = f"w{workers}-{attempt}"
                settings = base.model_copy(deep=True)
                settings.database.database_url = _copy_database(cluster, "base", name)
                settings.project.outbox_dir = work / f"outbox-{name}"
                trial = _trial(workers, args.shards, settings, server, workers_running)
                trials.append(trial)
                print(json.dumps(trial))
        results["trials"] = trials
        # The best of each worker count: this VM's neighbours slow some tries by 15%.
        best = {n: max(t["touches_per_s"] for t in trials if t["workers"] == n) for n in counts}
        results["best_touches_per_s"] = best
        if len(counts) >= 2:
            results["speedup"] = round(best[counts[-1]] / best[counts[0]], 2)
            print(f"speedup {counts[-1]} workers over {counts[0]} (best of {args.repeat}): "
                  f"{results['speedup']}x")  # fmt: skip
    finally:
        workers_running.stop()
        processes.stop()
        cluster.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "scale_out.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
