"""The demo: a fresh project, ~1,000 sample contacts, 60 simulated days of daily runs against
the local SendGrid and Twilio stand-ins, simulated engagement, then the report.

Everything real runs: the daily-run Prefect flow (ephemeral API), the SDKs over HTTP, the
signed webhooks, the one-click and content links, the reps' call logging. Only the
providers and the people are simulated.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from nurture.adapters.clock import FixedClock
from nurture.bootstrap import App, bootstrap
from nurture.commands.calls import log_call
from nurture.commands.contact_import import import_contacts
from nurture.commands.enrollment import enroll
from nurture.demo.engagement import Engagement, Person
from nurture.domain.events import EventType
from nurture.inbound import InboundEvent
from nurture.orchestration import phases
from nurture.pipeline.ingest import ingest_events
from nurture.samples import write_contacts_csv
from nurture.settings import (
    DatabaseSettings,
    EmailSettings,
    ProjectSettings,
    RunSettings,
    Settings,
    SmsSettings,
    WebhookSettings,
)
from nurture.standins import RunningServer, SendGridStandIn, TwilioStandIn, serve
from nurture.standins.sendgrid import SentEmail
from nurture.views.report_html import render_html
from nurture.views.reports import report
from nurture.web.app import create_app

__all__ = ["DemoOptions", "run_demo"]

PARIS = ZoneInfo("Europe/Paris")
#: Releases through the day (Paris time): Europe's late morning, the Americas' morning and
#: afternoon (Asia-Pacific's morning is served by the next 08:00 run). Production runs the
#: dispatch flow every 5 minutes; the demo releases three times a day to stay quick.
_DISPATCH_AT = (time(10, 30), time(15, 30), time(21, 0))
_CALLS_AT = time(17, 0)


@dataclass(frozen=True)
class DemoOptions:
    """What the demo builds and how long it simulates."""

    directory: Path
    contacts: int = 1000
    days: int = 60
    seed: int = 7
    start: date = date(2026, 1, 5)  # a Monday


@dataclass
class _World:
    """The stand-ins, the webhook server and the application they talk to."""

    app: App
    clock: FixedClock
    sendgrid: SendGridStandIn
    twilio: TwilioStandIn
    servers: list[RunningServer]
    webhook_url: str
    seen_email: int = 0
    seen_sms: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def at(self, moment: datetime) -> App:
        self.clock.at = moment
        return self.app

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.app.engine.dispose()


def run_demo(
    options: DemoOptions, *, progress: Callable[[int, str], None] | None = None
) -> dict[str, Any]:
    """Run the demo; returns the final report data (also written as HTML)."""
    step = progress or (lambda _n, _what: None)
    world = _build(options)
    try:
        first = datetime.combine(options.start, time(8, 0), tzinfo=PARIS)
        app = world.at(first.astimezone(UTC) - timedelta(hours=1))
        csv_path = write_contacts_csv(
            options.directory / "contacts.csv", options.contacts, seed=options.seed
        )
        imported = import_contacts(
            path=csv_path,
            uow=app.uow(),
            scoring=app.scoring,
            defaults=app.row_defaults,
            now=app.now(),
            erasure=app.known_erasure_keys,
        )
        with app.uow() as uow:
            for sequence, where in (
                ("cold-outbound", "contact.fit >= 30"),
                ("nurture-12-months", "contact.fit < 30"),
            ):
                enroll(
                    uow=uow, project=app.project, sequence_id=sequence, now=app.now(), where=where
                )
        step(0, f"{imported.created} contacts imported and enrolled")
        engagement = Engagement(seed=options.seed)
        from nurture.orchestration.flows import daily_run, running_with, without_idle_heartbeats

        def the_demos(moment: datetime) -> App:
            # The flows run on the demo's settings, not on the environment's.
            return bootstrap(world.app.settings, as_of=moment)

        with without_idle_heartbeats(), running_with(the_demos):
            for day in range(options.days):
                today = options.start + timedelta(days=day)
                _simulate_day(world, today, engagement, daily_run)
                step(1, today.isoformat())
        with world.app.uow(read_only=True) as uow:
            data = report(uow.reports)
        (options.directory / "report.html").write_text(
            render_html(data, title=f"nurture demo — {options.days} simulated days"),
            encoding="utf-8",
        )
        data["demo"] = {**world.stats, "directory": str(options.directory)}
        return data
    finally:
        world.close()


def _build(options: DemoOptions) -> _World:
    from nurture.samples import copy_project_template

    directory = options.directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    copy_project_template(directory)
    sendgrid, twilio = SendGridStandIn(), TwilioStandIn()
    servers = [serve(sendgrid.app), serve(twilio.app)]
    webhook_port = _free_port()
    webhook_url = f"http://127.0.0.1:{webhook_port}"
    settings = Settings(
        database=DatabaseSettings(database_url=f"sqlite:///{directory / 'nurture.db'}"),
        project=ProjectSettings(project_dir=directory),
        email=EmailSettings(
            email_driver="sendgrid",
            sendgrid_api_key=SecretStr(sendgrid.api_key),
            sendgrid_host=servers[0].url,
            from_email="bonjour@vigie-cyber.example",
            from_name="Vigie Cyber",
            unsubscribe_mailto="desinscription@vigie-cyber.example",
        ),
        sms=SmsSettings(
            sms_driver="twilio",
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=SecretStr(twilio.auth_token),
            twilio_base_url=servers[1].url,
            twilio_from="+33700000000",
        ),
        webhooks=WebhookSettings(
            public_url=webhook_url,
            sendgrid_webhook_public_key=sendgrid.public_key,
            unsubscribe_secret=SecretStr(os.urandom(16).hex()),
        ),
        run=RunSettings(
            batch_size=1000,
            send_concurrency=8,
            email_rate_per_second=5000,
            sms_rate_per_second=5000,
        ),
    )
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    clock = FixedClock(datetime.combine(options.start, time(0), tzinfo=UTC))
    app = bootstrap(settings, clock=clock)
    servers.append(serve(create_app(app), port=webhook_port))
    return _World(app, clock, sendgrid, twilio, servers, webhook_url)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _simulate_day(world: _World, today: date, engagement: Engagement, daily_run: Any) -> None:
    morning = datetime.combine(today, time(8, 0), tzinfo=PARIS).astimezone(UTC)
    daily_run(as_of=morning.isoformat())
    _react(world, world.at(morning), engagement)
    for moment in _DISPATCH_AT:
        at = datetime.combine(today, moment, tzinfo=PARIS).astimezone(UTC)
        app = world.at(at)
        run_id = phases.start(app, kind="dispatch")
        execution = phases.execute(app, run_id, worker="demo")
        phases.finish(app, run_id, {"execute": execution})
        _react(world, app, engagement)
        if moment == _DISPATCH_AT[1]:
            _spontaneous(
                world, world.at(datetime.combine(today, _CALLS_AT, tzinfo=PARIS)), engagement
            )
            _work_the_call_queue(world, world.app, engagement, today)


def _people(app: App) -> dict[int, Person]:
    with app.uow(read_only=True) as uow:
        return {
            c.id: Person(c.id, c.fit, c.interest, c.stage.value, c.phone)
            for c in uow.contacts.iter_contacts()
            if c.id is not None
        }


def _react(world: _World, app: App, engagement: Engagement) -> None:
    """Contacts answer the messages delivered since the last look."""
    emails = world.sendgrid.delivered()[world.seen_email :]
    texts = world.twilio.delivered()[world.seen_sms :]
    world.seen_email += len(emails)
    world.seen_sms += len(texts)
    if not emails and not texts:
        return
    people = _people(app)
    stamp = int(app.now().timestamp())
    batch: list[dict[str, Any]] = []
    replies: list[InboundEvent] = []
    for message in emails:
        person = people.get(int(message.custom_args.get("contact_id", 0)))
        if person is None:
            continue
        content = any("content" in c for c in message.payload.get("categories", []))
        for kind in engagement.email(person, content=content):
            if kind == "reply":
                replies.append(_reply(message, person, app.now()))
                continue
            batch.append(world.sendgrid.event(message, kind, timestamp=stamp))
            if kind == "click" and content:
                _follow_tracked_link(message)
    if batch:
        response = world.sendgrid.post_events(
            f"{world.webhook_url}/webhooks/sendgrid", batch, timestamp=stamp
        )
        response.raise_for_status()
    with app.uow() as uow:
        ingest_events(uow=uow, events=replies, ctx=app.run_context())
    by_phone = {p.phone: p for p in people.values() if p.phone}
    for text in texts:
        recipient = by_phone.get(text.to)
        answer = engagement.sms(recipient) if recipient else None
        if answer:
            world.twilio.post_inbound(
                f"{world.webhook_url}/webhooks/twilio/inbound", from_=text.to, body=answer
            )
    world.stats["emails"] = world.stats.get("emails", 0) + len(emails)
    world.stats["sms"] = world.stats.get("sms", 0) + len(texts)
    world.stats["email_events"] = world.stats.get("email_events", 0) + len(batch)


def _reply(message: SentEmail, person: Person, now: datetime) -> InboundEvent:
    """An email reply, as an inbound-parse integration would report it."""
    return InboundEvent(
        provider="inbound-parse",
        provider_event_id=f"reply:{message.message_id}",
        type=EventType.REPLIED,
        occurred_at=now,
        contact_id=person.contact_id,
        touch_id=int(message.custom_args["touch_id"]),
        payload={"channel": "email"},
    )


def _follow_tracked_link(message: SentEmail) -> None:
    text = next((c["value"] for c in message.payload["content"] if c["type"] == "text/plain"), "")
    link = next((word for word in text.split() if "/c/" in word), None)
    if link:
        httpx.get(link, follow_redirects=False, timeout=10)


def _spontaneous(world: _World, app: App, engagement: Engagement) -> None:
    """Visits, forms, webinars, demo requests — and signatures — nobody was asked for."""
    events = []
    now = app.now()
    for person in _people(app).values():
        kind = engagement.spontaneous(person)
        if kind:
            events.append(
                InboundEvent(
                    provider="web",
                    provider_event_id=f"{kind}:{person.contact_id}:{now.date()}",
                    type=EventType(kind),
                    occurred_at=now,
                    contact_id=person.contact_id,
                )
            )
        if engagement.buys(person):
            events.append(
                InboundEvent(
                    provider="crm",
                    provider_event_id=f"deal:{person.contact_id}",
                    type=EventType.PURCHASE,
                    occurred_at=now,
                    contact_id=person.contact_id,
                    payload={"data": {"amount": "signed"}},
                )
            )
            world.stats["purchases"] = world.stats.get("purchases", 0) + 1
    with app.uow() as uow:
        ingest_events(uow=uow, events=events, ctx=app.run_context())


def _work_the_call_queue(world: _World, app: App, engagement: Engagement, today: date) -> None:
    """The reps call what is due today and log each outcome (it feeds scoring and BANT)."""
    end = datetime.combine(today, time(23, 59), tzinfo=PARIS)
    with app.uow(read_only=True) as uow:
        due = sorted(
            (call.task.id, call.task.contact_id)
            for call in uow.tasks.queue(status="open", limit=1_000_000)
            if call.task.due_at <= end
        )
    people = _people(app)
    for task_id, contact_id in due:
        outcome, facts = engagement.call(people[contact_id])
        with app.uow() as uow:
            log_call(
                uow=uow,
                ctx=app.run_context(),
                task_id=task_id,
                outcome=outcome,
                bant=facts,
                note=None,
            )
        world.stats["calls"] = world.stats.get("calls", 0) + 1
