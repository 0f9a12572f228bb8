"""Inbound email through the running webhook server: 1,000 mixed Inbound Parse posts
(replies by token and by thread, French and English out-of-offices, DSN bounces, requests
to stop, strangers, SendGrid's retries), each matched, classified and applied before the
server answers. A benchmark, not a test: it prints figures.

    python bench/inbound_load.py [--posts 1000] [--senders 4] [--contacts 1000]

The contacts are enrolled and a first email goes out (outbox driver), so that replies
carry real reply tokens and Message-IDs. At the end the database is checked: one event
per distinct message, none pending, every reply's contact out of its sequence, every
out-of-office's contact paused.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pydantic import SecretStr  # noqa: E402

from nurture.bootstrap import App, bootstrap  # noqa: E402
from nurture.commands.contact_import import import_contacts  # noqa: E402
from nurture.commands.enrollment import enroll  # noqa: E402
from nurture.orchestration import phases  # noqa: E402
from nurture.samples import copy_project_template, write_contacts_csv  # noqa: E402
from nurture.settings import (  # noqa: E402
    DatabaseSettings,
    EmailSettings,
    ProjectSettings,
    Settings,
    WebhookSettings,
)
from nurture.standins import SendGridStandIn, serve  # noqa: E402
from nurture.tokens import reply_token  # noqa: E402
from nurture.web.app import create_app  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SECRET = "inbound-bench-link-secret-0123456789"
INBOUND = "inbound-bench-shared-secret"
DOMAIN = "reply.bench.example"
SEQUENCE = "inbound-bench"
SEQUENCE_YAML = """\
id: inbound-bench
name: Two emails, any time
version: 1
audience: {stages: [contact, lead, prospect]}
cadence:
  gaps: {cold: 2, warm: 2, hot: 2}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00", holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: email-2, channel: email, template: emails/follow-up-resource}
exit_on: [replied, unsubscribed, bounced]
"""

REPLY = "Bonjour,\n\nOui, cela m'intéresse. Appelez-moi jeudi.\n\n{quote}"
QUOTE = "Le lun. 2 mars 2026 à 09:00, Vigie <b@v.example> a écrit :\n> Bonjour,\n> NIS2…\n"
OOO = [
    "Je suis absent du bureau jusqu'au vendredi 6 mars inclus. De retour le lundi 9 mars.",
    "I am out of the office until March 13th with limited access to email.",
    "Thank you for your message. I am currently on leave.",
]
STOP = ["Merci de me désinscrire.", "Please remove me from your list.", "STOP"]
DSN = (
    "From: Mail Delivery Subsystem <mailer-daemon@mx.example>\nTo: {to}\n"
    "Subject: Delivery Status Notification (Failure)\nMessage-ID: <{mid}>\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
    "--b\nContent-Type: text/plain\n\nAddress not found.\n\n"
    "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
    "Final-Recipient: rfc822; {address}\nAction: failed\nStatus: 5.1.1\n\n--b--\n"
)


def _app(folder: Path, contacts: int) -> App:
    project = folder / "project"
    copy_project_template(project)
    (project / "sequences" / f"{SEQUENCE}.yaml").write_text(SEQUENCE_YAML, encoding="utf-8")
    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{folder / 'inbound.db'}"),
        project=ProjectSettings(project_dir=project, outbox_dir=folder / "outbox"),
        email=EmailSettings(email_driver="outbox", reply_domain=DOMAIN),
        webhooks=WebhookSettings(
            unsubscribe_secret=SecretStr(SECRET), inbound_secret=SecretStr(INBOUND)
        ),
    )
    app = bootstrap(settings, as_of=NOW)
    csv = write_contacts_csv(folder / "contacts.csv", contacts)
    import_contacts(
        path=csv, uow=app.uow(), scoring=app.scoring, defaults=app.row_defaults, now=app.now()
    )
    with app.uow() as uow:
        enroll(uow=uow, project=app.project, sequence_id=SEQUENCE, now=NOW, where="True")
    run_id = phases.start(app)
    phases.plan(app, run_id)
    phases.execute(app, run_id, worker="bench")
    phases.finish(app, run_id, {})
    return app


def _touches(app: App) -> list[tuple[int, str, str]]:
    with app.engine.connect() as connection:
        query = sa.text(
            "SELECT id, address, message_id FROM touches "
            "WHERE status = 'sent' AND message_id IS NOT NULL ORDER BY id"
        )
        return [(int(i), str(a), str(m)) for i, a, m in connection.execute(query)]


def _fields(kind: str, touch: tuple[int, str, str], n: int) -> dict[str, str]:
    touch_id, address, message_id = touch
    token_address = f"reply+{reply_token(SECRET, touch_id)}@{DOMAIN}"
    mid = f"bench-{n}@client.example"
    if kind == "bounce":
        mime = DSN.format(to=token_address, mid=mid, address=address)
        return {"email": mime, "envelope": f'{{"to": ["{token_address}"], "from": ""}}'}
    to, text, subject, extra = token_address, REPLY.format(quote=QUOTE), "Re: NIS2", ""
    if kind == "thread":
        to, extra = "owner@vigie.example", f"In-Reply-To: <{message_id}>\n"
    elif kind == "ooo":
        text, subject = OOO[n % len(OOO)], "Réponse automatique : NIS2"
        extra = "Auto-Submitted: auto-replied\n"
    elif kind == "stop":
        text = STOP[n % len(STOP)]
    elif kind == "stranger":
        address, to = f"someone-{n}@elsewhere.example", f"hello@{DOMAIN}"
    headers = f"From: {address}\nTo: {to}\nMessage-ID: <{mid}>\n"
    headers += f"Date: {format_datetime(NOW)}\n{extra}"
    return {
        "headers": headers,
        "from": address,
        "to": to,
        "subject": subject,
        "text": text,
        "envelope": f'{{"to": ["{to}"], "from": "{address}"}}',
    }


_MIX = ["token"] * 40 + ["thread"] * 15 + ["ooo"] * 15 + ["stop"] * 10 + ["bounce"] * 10
_MIX += ["stranger"] * 10


def _posts(touches: list[tuple[int, str, str]], count: int) -> list[tuple[str, int, dict]]:
    rng = random.Random(7)
    free = list(touches)
    rng.shuffle(free)
    posts: list[tuple[str, int, dict]] = []
    for n in range(count):
        if posts and rng.random() < 0.05:  # SendGrid retries a post it saw fail
            posts.append(posts[rng.randrange(len(posts))])
            continue
        kind = rng.choice(_MIX)
        touch = free.pop() if free else touches[n % len(touches)]
        posts.append((kind, touch[0], _fields(kind, touch, n)))
    return posts


def _check(app: App, posts: list[tuple[str, int, dict]]) -> dict[str, int]:
    distinct = {id(p[2]) for p in posts}
    with app.engine.connect() as connection:
        by_type = dict(
            connection.execute(
                sa.text(
                    "SELECT type, count(*) FROM events WHERE provider = 'inbound-email' "
                    "GROUP BY type"
                )
            ).all()
        )
        pending = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE status = 'pending'")
        ).scalar_one()
        statuses = dict(
            connection.execute(
                sa.text("SELECT status, count(*) FROM enrollments GROUP BY status")
            ).all()
        )
        replied = connection.execute(
            sa.text("SELECT count(*) FROM enrollments WHERE exit_reason = 'replied'")
        ).scalar_one()
    return {
        "distinct_posts": len(distinct),
        "events_stored": sum(by_type.values()),
        "pending": int(pending),
        "replied_exits": int(replied),
        "paused": int(statuses.get("paused", 0)),
        **{f"events_{k}": int(v) for k, v in sorted(by_type.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=1000)
    options = parser.parse_args()
    sendgrid = SendGridStandIn()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp), options.contacts)
        touches = _touches(app)
        posts = _posts(touches, options.posts)
        server = serve(create_app(app))
        url = f"{server.url}/webhooks/sendgrid/inbound/{INBOUND}"
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        queue = list(enumerate(posts))

        def send() -> None:
            with httpx.Client(timeout=60) as client:
                while True:
                    with lock:
                        if not queue:
                            return
                        _, (_, _, fields) = queue.pop(0)
                    body, headers = sendgrid.inbound_request(fields, signed=False)
                    status = client.post(url, content=body, headers=headers).status_code
                    with lock:
                        statuses[status] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=send) for _ in range(options.senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        server.stop()
        checked = _check(app, posts)
        app.engine.dispose()
    kinds = Counter(kind for kind, _, _ in posts)
    print(f"{len(touches)} emails sent first; {len(posts)} inbound posts: {dict(kinds)}")
    print(
        f"{len(posts)} posts in {elapsed:.1f} s ({len(posts) / elapsed:.0f} posts/s), "
        f"{options.senders} senders; statuses {dict(statuses)}"
    )
    print("check: " + ", ".join(f"{k} {v}" for k, v in checked.items()))
    ok = (
        statuses.get(200, 0) == len(posts)
        and checked["events_stored"] == checked["distinct_posts"]
        and checked["pending"] == 0
    )
    print("held: every post answered 200, each message stored once" if ok else "NOT HELD")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
