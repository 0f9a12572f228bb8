"""``make bench``: the real daily run over N contacts, on SQLite and PostgreSQL, with
outbox drivers and against the local stand-ins, beside the raw limit and the naive design.

    python bench/run.py [--contacts 1000000] [--backends sqlite,postgresql]
                        [--outbox tmpfs|disk] [--runner processes|threads]

Prints the figures and writes them to bench/results/<contacts>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from pydantic import SecretStr  # noqa: E402
from tests.support.env import settings_env  # noqa: E402

from bare_sdk import bare_sdk_loop  # noqa: E402
from generate import generate  # noqa: E402
from nurture.bootstrap import bootstrap  # noqa: E402
from nurture.samples import copy_project_template  # noqa: E402
from nurture.settings import (  # noqa: E402
    DatabaseSettings,
    EmailSettings,
    ProjectSettings,
    RunSettings,
    Settings,
    SmsSettings,
    WebhookSettings,
)
from raw import raw_loop  # noqa: E402

AS_OF = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris
RESULTS = ROOT / "bench" / "results"


def _machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    import prefect
    import sqlalchemy

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(int(memory) / 2**20, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "prefect": prefect.__version__,
        "sqlalchemy": sqlalchemy.__version__,
    }


def _settings(
    workdir: Path, url: str, args: argparse.Namespace, providers: dict[str, str] | None = None
) -> Settings:
    outbox = Path("/dev/shm") / f"nurture-bench-{workdir.name}" if args.outbox == "tmpfs" else None
    settings = Settings(
        database=DatabaseSettings(database_url=url),
        project=ProjectSettings(project_dir=workdir / "project", outbox_dir=outbox),
        run=RunSettings(
            batch_size=args.batch_size,
            max_parallel_batches=2,
            task_runner=args.runner,
            send_concurrency=16,
            email_rate_per_second=100_000,
            sms_rate_per_second=100_000,
        ),
        # Sending refuses to start without a real link secret: the bench makes one.
        webhooks=WebhookSettings(unsubscribe_secret=SecretStr(secrets.token_urlsafe(32))),
    )
    if providers:
        settings.email = EmailSettings(
            email_driver="sendgrid",
            sendgrid_host=providers["sendgrid_url"],
            sendgrid_api_key=SecretStr(providers["sendgrid_api_key"]),
        )
        settings.sms = SmsSettings(
            sms_driver="twilio",
            twilio_base_url=providers["twilio_url"],
            twilio_account_sid=providers["twilio_account_sid"],
            twilio_auth_token=SecretStr(providers["twilio_auth_token"]),
            twilio_from="+33700000000",
        )
        settings.webhooks.public_url = "http://127.0.0.1:9"
    return settings


def _prepare(
    workdir: Path,
    url: str,
    contacts: int,
    args: argparse.Namespace,
    providers: dict[str, str] | None = None,
    *,
    due_share: float = 0.1,
) -> tuple[Settings, dict[str, Any]]:
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "project").mkdir(parents=True)
    copy_project_template(workdir / "project")
    settings = _settings(workdir, url, args, providers)
    if settings.project.outbox_dir is not None:
        shutil.rmtree(settings.project.outbox_dir, ignore_errors=True)
    app = bootstrap(settings, as_of=AS_OF)
    started = time.perf_counter()
    made = generate(app, contacts, as_of=AS_OF, due_share=due_share)
    made["seconds"] = round(time.perf_counter() - started, 1)
    if app.engine.dialect.name == "postgresql":
        # A base in service has been vacuumed and analysed by autovacuum; a base loaded a
        # moment ago has not, and autovacuum would do it during the run being measured.
        with app.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )
    app.engine.dispose()
    # A base in service is on the disk; a base written a moment ago leaves about a
    # gigabyte for the kernel to write back during the run being measured.
    os.sync()
    return settings, made


def _script(settings: Settings, script: str, *args: str) -> dict[str, Any]:
    """Run ``bench/<script>`` in a fresh process on ``settings``; its last line is JSON."""
    env = {
        **os.environ,
        **settings_env(settings),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), AS_OF.isoformat(), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _flow(settings: Settings) -> dict[str, Any]:
    return _script(settings, "flow_once.py")


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    summary, wall = run["summary"], run["wall"]
    timings = summary["timings"]
    sent = sum(summary["execute"]["sent"].values())
    ours = sum(timings.get(k) or 0 for k in ("ingest", "score", "plan", "reconcile"))
    ours += (timings.get("execute_wall") or 0) + (timings.get("report") or 0)
    sending = _sending_wall(timings)
    return {
        "wall_s": wall,
        "prefect_start_s": run["prefect_start"],
        "planned": sum(summary["plan"]["planned"].values()),
        "sent_now": sent,
        "scheduled_later": sum(summary["delivery"]["scheduled_later_today_by_hour"].values()),
        "touches_per_s": round(sent / sending, 1) if sending else None,
        "phases_s": dict(timings),
        "prefect_share": round(max(0.0, wall - ours) / wall, 3) if wall else None,
        "peak_rss_mb": max(run["peak_rss_mb"], run["peak_rss_children_mb"]),
        "cores_busy": run.get("cores_busy"),
    }


def _sending_wall(timings: dict[str, Any]) -> float:
    """The wall time of sending: planning, whose planners send each chunk's touches due
    now, and then the batches that send what earlier runs planned (the whole of planning
    is counted, the steps planned for later included)."""
    return float((timings.get("plan") or 0) + (timings.get("execute_wall") or 0))


def _cost(work: Path, args: argparse.Namespace, ten_percent: dict[str, Any]) -> dict[str, Any]:
    """Cost follows the work: the same base size with nothing due (the 10% base, run
    again: everything due was done) and with 1% due."""
    again = _figures(
        _flow(_settings(work / "sqlite", f"sqlite:///{work / 'sqlite' / 'nurture.db'}", args))
    )
    url = f"sqlite:///{work / 'one-percent' / 'nurture.db'}"
    settings, made = _prepare(work / "one-percent", url, args.contacts, args, due_share=0.01)
    one = _figures(_flow(settings))
    shutil.rmtree(work / "one-percent", ignore_errors=True)
    return {
        "nothing_due_wall_s": again["wall_s"],
        "one_percent_due": made["due"],
        "one_percent_wall_s": one["wall_s"],
        "ten_percent_wall_s": ten_percent["wall_s"],
        "one_over_ten": round(one["wall_s"] / ten_percent["wall_s"], 3),
    }


def _postgres() -> Any:
    from tests.support.postgres import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        return None
    cluster = PostgresCluster(bindir)
    cluster.start()
    return cluster


def _standins() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "nurture.standins"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def _naive(settings: Settings, sample: int) -> dict[str, Any]:
    data = _script(settings, "naive.py", str(sample))
    data["touches_per_s"] = round(data["touches"] / data["seconds"], 1)
    data["due_steps_per_s"] = round(data["due_steps"] / data["seconds"], 1)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    # tmpfs by default: the raw loop writes no files, and a file on this VM's ext4 cost
    # 37 to 600 µs depending on the disk's state (bench/file_creation.py, BENCHMARKS.md),
    # which would measure the disk rather than nurture.
    parser.add_argument("--outbox", choices=["disk", "tmpfs"], default="tmpfs")
    parser.add_argument("--runner", choices=["auto", "processes", "threads"], default="auto")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--naive-sample", type=int, default=2000)
    parser.add_argument("--standins-contacts", type=int, default=100_000)
    parser.add_argument("--skip", default="", help="comma list of: raw,naive,standins,cost")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, Any] = {
        "machine": _machine(),
        "contacts": args.contacts,
        "as_of": AS_OF.isoformat(),
        "outbox": args.outbox,
        "runner": args.runner,
    }
    work = RESULTS / "work"
    print(f"machine: {results['machine']}")
    for backend in args.backends.split(","):
        cluster = None
        if backend == "sqlite":
            url = f"sqlite:///{work / 'sqlite' / 'nurture.db'}"
        else:
            cluster = _postgres()
            if cluster is None:
                print("postgresql: no server binaries here, skipped")
                continue
            url = cluster.create_database("bench")
        try:
            settings, made = _prepare(work / backend, url, args.contacts, args)
            print(f"{backend}: generated {made}")
            if backend == "sqlite" and "raw" not in skip:
                database = work / backend / "nurture.db"
                copy = work / backend / "raw.db"
                shutil.copy(database, copy)
                os.sync()  # as for the base: nothing left to write back while it runs
                touches, seconds = raw_loop(copy, work / backend / "project", AS_OF)
                copy.unlink()
                results["raw"] = {
                    "touches": touches,
                    "seconds": round(seconds, 2),
                    "touches_per_s": round(touches / seconds, 1),
                }
                print(f"raw loop: {results['raw']}")
            run = _figures(_flow(settings))
            results[backend] = {"generated": made, **run}
            print(f"{backend}: {json.dumps(run)}")
            if backend == "sqlite" and "cost" not in skip:
                results["cost"] = _cost(work, args, run)
                print(f"cost: {results['cost']}")
        finally:
            if cluster is not None:
                cluster.stop()
    if "naive" not in skip:
        settings, _ = _prepare(
            work / "naive",
            f"sqlite:///{work / 'naive' / 'nurture.db'}",
            max(args.naive_sample * 10, 1000),
            args,
        )
        results["naive"] = _naive(settings, args.naive_sample)
        print(f"naive: {results['naive']}")
    if "standins" not in skip:
        process, providers = _standins()
        try:
            settings, made = _prepare(
                work / "standins",
                f"sqlite:///{work / 'standins' / 'nurture.db'}",
                args.standins_contacts,
                args,
                providers,
            )
            run = _flow(settings)
            sent = run["summary"]["execute"]["sent"]
            emails = sent.get("email", 0) + sent.get("content", 0)
            seconds = _sending_wall(run["summary"]["timings"])
            bare = bare_sdk_loop(
                providers["sendgrid_url"], providers["sendgrid_api_key"], max(emails, 1000)
            )
            results["standins"] = {
                "contacts": args.standins_contacts,
                "emails": emails,
                "sms": sent.get("sms", 0),
                "sending_wall_s": seconds,  # planning that sends, then the batches
                "emails_per_s": round(emails / seconds, 1),
                "bare_sdk_emails_per_s": bare["emails_per_s"],
                "share_of_bare_sdk": round(emails / seconds / bare["emails_per_s"], 2),
            }
            print(f"stand-ins: {results['standins']}")
        finally:
            process.terminate()
            process.wait(timeout=30)
    _ratios(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.contacts}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {out}")


def _ratios(results: dict[str, Any]) -> None:
    sqlite_run = results.get("sqlite")
    if not sqlite_run:
        return
    # Both sides counted alike: the whole run's wall time (plan and execute, the touches
    # scheduled for later today included) per due step.
    rate = sqlite_run["generated"]["due"] / sqlite_run["wall_s"]
    sqlite_run["due_steps_per_s"] = round(rate, 1)
    ratios = {}
    if "raw" in results:
        ratios["raw_over_nurture"] = round(results["raw"]["touches_per_s"] / rate, 2)
    if "naive" in results:
        ratios["nurture_over_naive"] = round(rate / results["naive"]["due_steps_per_s"], 1)
    if "postgresql" in results:
        ratios["postgresql_over_sqlite_wall"] = round(
            results["postgresql"]["wall_s"] / sqlite_run["wall_s"], 2
        )
    results["ratios"] = ratios
    print(f"ratios: {ratios}")


if __name__ == "__main__":
    main()
