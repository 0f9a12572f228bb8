"""An application wired to the stand-in SendGrid and Twilio servers and to its own
webhook server, for integration tests (real SDKs, real HTTP on loopback)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from nurture.adapters.clock import FixedClock
from nurture.bootstrap import App, bootstrap
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
from nurture.web.app import create_app

__all__ = ["INBOUND_SECRET", "REPLY_DOMAIN", "Live", "Providers", "free_port", "live_app"]

TWILIO_FROM = "+33700000000"
REPLY_DOMAIN = "reply.vigie-cyber.example"
INBOUND_SECRET = "inbound-test-secret-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> bool:
    """Whether the server ``process`` started answers ``url``/healthz within ``seconds``
    (``False`` as soon as it stops)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


@dataclass
class Providers:
    """Both stand-ins, served once per test session."""

    sendgrid: SendGridStandIn
    twilio: TwilioStandIn
    sendgrid_server: RunningServer
    twilio_server: RunningServer

    def reset(self) -> None:
        self.sendgrid.reset()
        self.twilio.reset()


@dataclass
class Live:
    """The application, its webhook URL, and what the stand-ins recorded."""

    app: App
    providers: Providers
    webhook_url: str
    sleeps: list[float] = field(default_factory=list)

    @property
    def sendgrid(self) -> SendGridStandIn:
        return self.providers.sendgrid

    @property
    def twilio(self) -> TwilioStandIn:
        return self.providers.twilio

    def at(self, moment: datetime) -> App:
        """The application at another moment (a later run): its clock moves, nothing else
        is rebuilt (the webhook server sees the same clock)."""
        clock = self.app.clock
        assert isinstance(clock, FixedClock)
        clock.at = moment
        return self.app


def settings_for(
    *,
    database_url: str,
    project_dir: Path,
    providers: Providers,
    webhook_url: str,
    batch_size: int = 50,
) -> Settings:
    return Settings(
        database=DatabaseSettings(database_url=database_url),
        project=ProjectSettings(project_dir=project_dir),
        email=EmailSettings(
            email_driver="sendgrid",
            sendgrid_api_key=SecretStr(providers.sendgrid.api_key),
            sendgrid_host=providers.sendgrid_server.url,
            from_email="bonjour@vigie-cyber.example",
            from_name="Vigie Cyber",
            unsubscribe_mailto="unsubscribe@vigie-cyber.example",
        ),
        sms=SmsSettings(
            sms_driver="twilio",
            twilio_account_sid=providers.twilio.account_sid,
            twilio_auth_token=SecretStr(providers.twilio.auth_token),
            twilio_base_url=providers.twilio_server.url,
            twilio_from=TWILIO_FROM,
        ),
        webhooks=WebhookSettings(
            public_url=webhook_url,
            sendgrid_webhook_public_key=providers.sendgrid.public_key,
            unsubscribe_secret=SecretStr("test-link-secret"),
            inbound_secret=SecretStr(INBOUND_SECRET),
        ),
        run=RunSettings(
            batch_size=batch_size,
            send_concurrency=4,
            email_rate_per_second=10_000,
            sms_rate_per_second=10_000,
        ),
    )


@contextmanager
def live_app(
    *,
    database_url: str,
    project_dir: Path,
    providers: Providers,
    as_of: datetime,
    batch_size: int = 50,
    with_webhooks: bool = True,
    changes: dict[str, dict[str, object]] | None = None,
) -> Iterator[Live]:
    """The app at ``as_of``; ``changes`` updates settings groups (``{"limits": {...}}``)."""
    port = free_port()
    webhook_url = f"http://127.0.0.1:{port}"
    settings = settings_for(
        database_url=database_url,
        project_dir=project_dir,
        providers=providers,
        webhook_url=webhook_url,
        batch_size=batch_size,
    )
    for group, update in (changes or {}).items():
        setattr(settings, group, getattr(settings, group).model_copy(update=update))
    app = bootstrap(settings, as_of=as_of)
    live = Live(app, providers, webhook_url)
    app.delivery.sleep = live.sleeps.append  # tests never sleep: waits are recorded
    server = serve(create_app(app), port=port) if with_webhooks else None
    try:
        yield live
    finally:
        if server is not None:
            server.stop()
        app.engine.dispose()
