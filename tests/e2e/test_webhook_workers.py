"""``nurture webhooks serve --workers 2``: two processes share the port, each verifies and
applies what it receives, and both stop with the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from nurture.bootstrap import bootstrap
from nurture.commands.contact_import import import_contacts
from nurture.samples import copy_project_template, write_contacts_csv
from nurture.settings import DatabaseSettings, ProjectSettings, Settings, WebhookSettings
from nurture.standins import SendGridStandIn
from tests.support.live import free_port, wait_until_healthy

_SECRET = "workers-test-link-secret-0123456789"


def test_two_workers_share_the_port_and_apply_every_post(tmp_path: Path) -> None:
    sendgrid = SendGridStandIn()
    database = f"sqlite:///{tmp_path / 'nurture.db'}"
    copy_project_template(tmp_path / "project")
    settings = Settings(
        database=DatabaseSettings(database_url=database),
        project=ProjectSettings(project_dir=tmp_path / "project"),
        webhooks=WebhookSettings(
            sendgrid_webhook_public_key=sendgrid.public_key,
            unsubscribe_secret=SecretStr(_SECRET),
        ),
    )
    app = bootstrap(settings)
    import_contacts(
        path=write_contacts_csv(tmp_path / "contacts.csv", 20),
        uow=app.uow(),
        scoring=app.scoring,
        defaults=app.row_defaults,
        now=app.now(),
    )
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")},
        "NURTURE_DATABASE_URL": database,
        "NURTURE_PROJECT_DIR": str(tmp_path / "project"),
        "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid.public_key,
        "NURTURE_UNSUBSCRIBE_SECRET": _SECRET,
    }
    command = ["webhooks", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        [sys.executable, "-m", "nurture", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_healthy(url, server), "the server did not start"
        workers = _children(server.pid)
        assert len(workers) == 2, workers
        stamp = str(int(time.time()))
        answers = []
        for post in range(6):
            batch = [
                {
                    "event": "open",
                    "sg_event_id": uuid.uuid4().hex,
                    "timestamp": int(time.time()),
                    "contact_id": str(1 + (post * 3 + n) % 20),
                }
                for n in range(10)
            ]
            body = json.dumps(batch).encode()
            headers = {
                "X-Twilio-Email-Event-Webhook-Signature": sendgrid.sign(body, stamp),
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                "Content-Type": "application/json",
            }
            answers.append(httpx.post(f"{url}/webhooks/sendgrid", content=body, headers=headers))
        assert [a.status_code for a in answers] == [200] * 6
        unsigned = httpx.post(f"{url}/webhooks/sendgrid", content=b"[]")
        assert unsigned.status_code == 403
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 0, output
    assert "Traceback" not in output
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    with app.engine.connect() as connection:
        statuses = connection.execute(
            sa.text("SELECT status, count(*) FROM events GROUP BY status")
        ).all()
    assert dict(statuses) == {"applied": 60}


def _children(pid: int) -> list[int]:
    """The worker processes ``pid`` started (from Linux's /proc; multiprocessing's
    resource tracker aside)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found
