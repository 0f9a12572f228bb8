"""Load on the webhook server: concurrent senders post signed SendGrid event batches with
poison mixed in, for a while; the server must answer no 5xx and apply every good event
exactly once. A benchmark, not a test: it prints figures.

    python bench/webhook_load.py [--senders 20] [--seconds 60] [--batch 100]
                                 [--poison 0.05] [--contacts 2000] [--workers 1]

Every request goes to `nurture webhooks serve --workers N`, started as its own process on
loopback as ops run it, on SQLite in a temporary folder. At the end the database is
checked: each good event stored once, none left pending, no score point counted twice;
quarantined events are the poison ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pydantic import SecretStr  # noqa: E402
from tests.support.live import free_port, wait_until_healthy  # noqa: E402

from nurture.bootstrap import App, bootstrap  # noqa: E402
from nurture.commands.contact_import import import_contacts  # noqa: E402
from nurture.samples import copy_project_template, write_contacts_csv  # noqa: E402
from nurture.settings import (  # noqa: E402
    DatabaseSettings,
    ProjectSettings,
    Settings,
    WebhookSettings,
)
from nurture.standins import SendGridStandIn  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
_KINDS = ("delivered", "open", "open", "click", "delivered")


def _poison(rng: random.Random, stamp: int) -> object:
    """One of the malformed events real senders and attackers post."""
    return rng.choice(
        [
            "not an event",
            {"event": "open", "timestamp": stamp},  # no id
            {"event": "open", "sg_event_id": uuid.uuid4().hex, "timestamp": "now"},
            {"event": "open", "sg_event_id": uuid.uuid4().hex, "timestamp": 253402300799},
            {"event": 7, "sg_event_id": uuid.uuid4().hex, "timestamp": stamp},
        ]
    )


class _Sender(threading.Thread):
    """Posts batches until the deadline; remembers the good event ids it sent."""

    def __init__(self, index: int, options: argparse.Namespace, url: str, sign: object) -> None:
        super().__init__(name=f"sender-{index}", daemon=True)
        self.rng = random.Random(index)
        self.options, self.url, self.sign = options, url, sign
        self.good: set[str] = set()
        self.poison = 0
        self.statuses: Counter[int] = Counter()
        self.deadline = 0.0

    def run(self) -> None:
        stamp = int(NOW.timestamp())  # when the events happened
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < self.deadline:
                batch: list[object] = []
                for _ in range(self.options.batch):
                    if self.rng.random() < self.options.poison:
                        batch.append(_poison(self.rng, stamp))
                        self.poison += 1
                        continue
                    event_id = uuid.uuid4().hex
                    contact = self.rng.randint(1, self.options.contacts)
                    batch.append(
                        {
                            "event": self.rng.choice(_KINDS),
                            "sg_event_id": event_id,
                            "timestamp": stamp,
                            "email": f"unknown-{contact}@load.example"
                            if self.rng.random() < 0.02
                            else None,
                            "contact_id": str(contact),
                        }
                    )
                    self.good.add(event_id)
                body = json.dumps(batch).encode()
                signed = str(int(time.time()))  # when SendGrid posts: inside the replay window
                headers = {
                    "X-Twilio-Email-Event-Webhook-Signature": self.sign(body, signed),  # type: ignore[operator]
                    "X-Twilio-Email-Event-Webhook-Timestamp": signed,
                    "Content-Type": "application/json",
                }
                response = client.post(self.url, content=body, headers=headers)
                self.statuses[response.status_code] += 1
                if self.rng.random() < 0.1:  # SendGrid retries: the same batch again
                    again = client.post(self.url, content=body, headers=headers)
                    self.statuses[again.status_code] += 1


_LINK_SECRET = "load-bench-link-secret-0123456789"


def _app(folder: Path, sendgrid: SendGridStandIn, contacts: int) -> App:
    project = folder / "project"
    copy_project_template(project)
    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{folder / 'load.db'}"),
        project=ProjectSettings(project_dir=project),
        webhooks=WebhookSettings(
            sendgrid_webhook_public_key=sendgrid.public_key,
            unsubscribe_secret=SecretStr(_LINK_SECRET),
        ),
    )
    app = bootstrap(settings, as_of=NOW)
    csv = write_contacts_csv(folder / "contacts.csv", contacts)
    report = import_contacts(
        path=csv, uow=app.uow(), scoring=app.scoring, defaults=app.row_defaults, now=app.now()
    )
    print(f"{report.created} contacts imported")
    return app


def _check(app: App, sent: set[str]) -> dict[str, int]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT provider_event_id, status FROM events WHERE provider = 'sendgrid'")
        ).all()
        doubled = connection.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT event_id FROM score_events "
                "WHERE event_id IS NOT NULL GROUP BY event_id HAVING count(*) > 1) AS d"
            )
        ).scalar_one()
        quarantined = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE provider = 'quarantine'")
        ).scalar_one()
    stored = Counter(event_id for event_id, _ in rows)
    statuses = Counter(status for _, status in rows)
    return {
        "good_sent": len(sent),
        "good_stored": len(set(stored) & sent),
        "stored_twice": sum(1 for count in stored.values() if count > 1),
        "lost": len(sent - set(stored)),
        "pending": statuses.get("pending", 0),
        "applied": statuses.get("applied", 0),
        "unmatched": statuses.get("unmatched", 0),
        "points_counted_twice": int(doubled),
        "quarantined": int(quarantined),
    }


def _server(
    folder: Path, sendgrid: SendGridStandIn, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    """`nurture webhooks serve` on a free port, with the settings of :func:`_app`."""
    port = free_port()
    env = {
        **os.environ,
        "NURTURE_DATABASE_URL": f"sqlite:///{folder / 'load.db'}",
        "NURTURE_PROJECT_DIR": str(folder / "project"),
        "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid.public_key,
        "NURTURE_UNSUBSCRIBE_SECRET": _LINK_SECRET,
    }
    command = [sys.executable, "-m", "nurture", "webhooks", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    if wait_until_healthy(url, process):
        return process, url
    process.kill()
    raise SystemExit("the webhook server did not start")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and every process under it (Linux's /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    tree, total = {pid}, 0.0
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    grew = True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    for member in tree:
        total += stats.get(member, (0, 0))[1] / tick
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--poison", type=float, default=0.05)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    options = parser.parse_args()
    sendgrid = SendGridStandIn()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp), sendgrid, options.contacts)
        server, root = _server(Path(tmp), sendgrid, options.workers)
        url = f"{root}/webhooks/sendgrid"
        senders = [_Sender(i, options, url, sendgrid.sign) for i in range(options.senders)]
        started, senders_started = time.monotonic(), time.process_time()
        for sender in senders:
            sender.deadline = started + options.seconds
            sender.start()
        for sender in senders:
            sender.join()
        elapsed = time.monotonic() - started
        cpu = _cpu_seconds(server.pid)
        senders_cpu = time.process_time() - senders_started
        server.terminate()
        server.wait(timeout=30)
        statuses: Counter[int] = sum((s.statuses for s in senders), Counter())
        sent = set().union(*(s.good for s in senders))
        requests = sum(statuses.values())
        checked = _check(app, sent)
        app.engine.dispose()
    print(
        f"{options.senders} senders for {elapsed:.1f} s, batches of {options.batch}, "
        f"{options.poison:.0%} poison, {options.workers} server worker(s)"
    )
    print(f"requests: {requests} ({requests / elapsed:.1f}/s); statuses {dict(statuses)}")
    print(
        f"good events: {len(sent)} ({len(sent) / elapsed:.0f}/s applied); "
        f"poison events: {sum(s.poison for s in senders)}"
    )
    print(
        f"server CPU: {cpu:.1f} s for {len(sent)} events "
        f"({1e6 * cpu / max(len(sent), 1):.0f} ms per 1,000, start included); "
        f"senders' CPU: {senders_cpu:.1f} s"
    )
    print("check: " + ", ".join(f"{k} {v}" for k, v in checked.items()))
    ok = (
        not any(code >= 500 for code in statuses)
        and checked["lost"] == 0
        and checked["stored_twice"] == 0
        and checked["pending"] == 0
        and checked["points_counted_twice"] == 0
    )
    print("held: no 5xx, every good event applied exactly once" if ok else "NOT HELD")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
