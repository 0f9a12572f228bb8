"""The one place that builds adapters from settings. Nothing else constructs them."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from nurture import limits
from nurture.adapters.clock import FixedClock, SystemClock
from nurture.adapters.db import migrate
from nurture.adapters.db.engine import (
    checkpoints_beside,
    checkpoints_deferred,
    create_db_engine,
)
from nurture.adapters.db.uow import SqlUnitOfWork
from nurture.adapters.email import OutboxEmail, OutboxFiles, SendGridEmail
from nurture.adapters.holidays import holiday_check, known_holiday_region
from nurture.adapters.sms import OutboxSms, TwilioDialer, TwilioSms
from nurture.adapters.templates import TemplateStore
from nurture.domain.cadence import Calendars, Holidays
from nurture.domain.planning import Budget
from nurture.domain.privacy import ErasureKeys
from nurture.domain.scoring import ScoringModel
from nurture.errors import ConfigurationError
from nurture.limits import Limits
from nurture.pipeline.delivery import Delivery, RateLimiter
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.rendering import Sender
from nurture.pipeline.replies import ReplyPolicy
from nurture.ports import Clock, Dialer, EmailSender, SmsSender, TemplateCatalog
from nurture.settings import Settings, WebhookSettings, load_settings
from nurture.specs.contact_rows import RowDefaults
from nurture.specs.project import Project, ProjectTools, load_project
from nurture.specs.scoring import load_scoring
from nurture.tokens import LinkKeys

__all__ = [
    "App",
    "bootstrap",
    "build_email_sender",
    "build_sms_sender",
    "project_tools",
    "require_link_secret",
]


@dataclass
class App:
    """Adapters and configuration, built once per command or flow run."""

    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    #: Replacements for the real adapters (tests, the demo); ``None`` builds the real one.
    uow_factory: Callable[..., SqlUnitOfWork] | None = None
    email: EmailSender | None = None
    sms: SmsSender | None = None
    #: The template catalog of a project folder in a language (Jinja by default).
    templates: Callable[[Path, str], TemplateCatalog] | None = None
    dialer_override: Dialer | None = None

    @property
    def project_dir(self) -> Path:
        """The marketer's folder (sequences, templates, scoring)."""
        return self.settings.project.project_dir

    def uow(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A new unit of work on the database."""
        if self.uow_factory is not None:
            return self.uow_factory(read_only=read_only)
        return SqlUnitOfWork(self.engine, read_only=read_only)

    @cached_property
    def scoring(self) -> ScoringModel:
        """The project's ``scoring.yaml``."""
        path = self.project_dir / "scoring.yaml"
        if not path.is_file():
            raise ConfigurationError(
                f"no scoring.yaml in {self.project_dir.resolve()}: set NURTURE_PROJECT_DIR to a "
                "project folder, or create one with `nurture init DIR`"
            )
        return load_scoring(path, display=_display(path, self.project_dir))

    @cached_property
    def project(self) -> Project:
        """The whole project folder, checked (every problem raised at once)."""
        if not (self.project_dir / "scoring.yaml").is_file():
            _ = self.scoring  # raises the helpful "no scoring.yaml" error
        return load_project(
            self.project_dir,
            tools=project_tools(self.templates),
            default_language=self.settings.project.default_language,
        )

    @property
    def sender(self) -> Sender:
        """Who messages come from, and how links are signed."""
        return Sender(
            name=self.settings.email.from_name,
            email=self.settings.email.from_email,
            public_url=self.settings.webhooks.public_url,
            link_secret=self.link_keys.current,
            reply_domain=self.settings.email.reply_domain,
        )

    @cached_property
    def limits(self) -> Limits:
        """Every size, depth and duration accepted from outside."""
        return self.settings.limits.limits()

    @cached_property
    def link_keys(self) -> LinkKeys:
        """The keys that sign and read unsubscribe and content links. Without a
        configured secret (previews, tests), a random one lives as long as the process:
        its links work nowhere else, and run, dispatch and the servers refuse to start
        (:meth:`require_link_secret`)."""
        hooks = self.settings.webhooks
        if hooks.unsubscribe_secret is None or not hooks.unsubscribe_secret.get_secret_value():
            return LinkKeys(secrets.token_urlsafe(32))
        previous = hooks.unsubscribe_secret_previous
        return LinkKeys(
            hooks.unsubscribe_secret.get_secret_value(),
            previous=previous.get_secret_value() if previous else None,
            previous_until=hooks.unsubscribe_secret_previous_until,
        )

    @property
    def erasure_keys(self) -> ErasureKeys:
        """The keys of the hashes that keep forgotten people out: ``NURTURE_ERASURE_KEY``,
        else the link secret (and the one it replaced). Without either, forgetting is
        refused: a random key would let the person back in tomorrow."""
        keys = self.known_erasure_keys
        if keys is None:
            raise ConfigurationError(
                "forgetting a person needs a stable secret: set NURTURE_ERASURE_KEY or "
                "NURTURE_UNSUBSCRIBE_SECRET (nurture init writes one in .env)"
            )
        return keys

    @property
    def known_erasure_keys(self) -> ErasureKeys | None:
        """The erasure keys, or ``None`` when none is configured (then nobody can have
        been forgotten with them: imports and events have nothing to check)."""
        hooks, privacy = self.settings.webhooks, self.settings.privacy
        configured = (
            privacy.erasure_key,
            hooks.unsubscribe_secret,
            hooks.unsubscribe_secret_previous,
        )
        values = [s.get_secret_value() for s in configured if s is not None]
        values = [v for v in values if v]
        return ErasureKeys(*values) if values else None

    def erase_copies(self, email_touches: Sequence[int], sms_touches: Sequence[int]) -> int:
        """Remove the outbox files of these touches; returns how many there were."""
        outbox = self.settings.outbox_dir
        return OutboxFiles.erase_all(outbox / "email", ".eml", email_touches) + (
            OutboxFiles.erase_all(outbox / "sms", ".json", sms_touches)
        )

    def require_link_secret(self) -> None:
        """Refuse to send or serve links that anyone could forge."""
        require_link_secret(self.settings.webhooks)

    @property
    def row_defaults(self) -> RowDefaults:
        """Defaults for contact rows that leave a field empty."""
        project = self.settings.project
        return RowDefaults(
            region=project.default_region,
            timezone=project.default_timezone,
            language=project.default_language,
            email_basis=self.settings.privacy.email_legitimate_interest,
        )

    def now(self) -> datetime:
        """The time services should use."""
        return self.clock.now()

    @cached_property
    def delivery(self) -> Delivery:
        """The email and SMS drivers, paced and retried as the settings say.

        A driver that is asked for but lacks credentials is a start-up error: nothing is
        silently dropped.
        """
        settings = self.settings
        public = settings.webhooks.public_url.rstrip("/")
        run = settings.run
        email = self.email or build_email_sender(settings)
        sms = self.sms or build_sms_sender(settings)
        # The local outbox: never paced, and written in the batch's own thread.
        outbox = frozenset(
            channel
            for channel, driver in (("email", email), ("sms", sms))
            if driver.provider == "outbox"
        )
        return Delivery(
            email=email,
            sms=sms,
            concurrency=run.send_concurrency,
            email_rate=None if "email" in outbox else RateLimiter(run.email_rate_per_second),
            sms_rate=None if "sms" in outbox else RateLimiter(run.sms_rate_per_second),
            status_callback_url=f"{public}/webhooks/twilio/status",
            unsubscribe_mailto=settings.email.unsubscribe_mailto,
            inline=outbox,
        )

    @property
    def dialer(self) -> Dialer | None:
        """Click-to-call, when the SMS driver is Twilio and a voice number is set."""
        if self.dialer_override is not None:
            return self.dialer_override
        sms, caller_id = self.delivery.sms, self.settings.sms.twilio_from
        if not isinstance(sms, TwilioSms) or not caller_id:
            return None
        return TwilioDialer(sms, caller_id=caller_id)

    @property
    def reply_policy(self) -> ReplyPolicy:
        """How emails that come back are read and acted on."""
        email, keys = self.settings.email, self.link_keys
        return ReplyPolicy(
            read_token=lambda token: keys.read_reply(token, today=self.now().date()),
            ooo_pause_business_days=email.ooo_pause_business_days,
            forward_to_owner=email.forward_replies,
        )

    @property
    def holidays(self) -> Holidays:
        """Public holidays by region (the ``holidays`` package)."""
        return holiday_check

    def run_context(self, *, run_id: str | None = None) -> RunContext:
        """What the services of one run share."""
        project = self.settings.project
        return RunContext(
            project=self.project,
            sender=self.sender,
            now=self.now(),
            run_id=run_id,
            default_timezone=project.default_timezone,
            default_region=project.default_region,
            handoff_sla_business_days=self.settings.run.handoff_sla_business_days,
            holidays=self.holidays,
            erasure=self.known_erasure_keys,
            calendars=self.calendars,
        )

    def checkpointing(self) -> AbstractContextManager[None]:
        """Background checkpoints of SQLite's log while a phase with several writers runs
        (``adapters/db/engine.checkpoints_beside``); nothing on PostgreSQL."""
        return checkpoints_beside(self.engine)

    def checkpoints_deferred(self) -> AbstractContextManager[None]:
        """This process's commits leave SQLite's log to grow while the run plans; the
        sending phase's background checkpoints copy it (``checkpoints_deferred``)."""
        return checkpoints_deferred(self.engine)

    @cached_property
    def calendars(self) -> Calendars:
        """The contacts' calendars, kept for the application's life: a worker process sends
        a run's batches one task at a time, and each batch worked the same windows, days
        and next openings out again (its run contexts all share these)."""
        project = self.settings.project
        return Calendars(project.default_timezone, project.default_region, self.holidays)

    @property
    def budget(self) -> Budget:
        """The per-contact pressure budget."""
        run = self.settings.run
        return Budget(
            per_day=run.max_touches_per_day,
            per_week=run.max_touches_per_week,
            horizon=timedelta(hours=run.delivery_horizon_hours),
        )


def bootstrap(
    settings: Settings | None = None,
    *,
    as_of: datetime | None = None,
    upgrade_schema: bool = True,
    clock: Clock | None = None,
    uow_factory: Callable[..., SqlUnitOfWork] | None = None,
    email: EmailSender | None = None,
    sms: SmsSender | None = None,
    templates: Callable[[Path, str], TemplateCatalog] | None = None,
    dialer: Dialer | None = None,
) -> App:
    """Build the application from ``settings`` (read from the environment by default).

    Every adapter can be replaced (cosmicpython's ``bootstrap``): ``clock`` (else a clock
    fixed at ``as_of``, else the system's), ``uow_factory``, ``email`` and ``sms``
    senders, ``templates`` (a project folder's catalog) and the click-to-call ``dialer``.
    Nothing else in nurture constructs an adapter.
    """
    settings = settings or load_settings().settings
    limits.install(settings.limits.limits())
    engine = create_db_engine(settings.database.database_url)
    if upgrade_schema:
        migrate.upgrade(engine)
    if clock is None:
        clock = FixedClock(as_of) if as_of is not None else SystemClock()
    application = App(
        settings=settings,
        engine=engine,
        clock=clock,
        uow_factory=uow_factory,
        email=email,
        sms=sms,
        templates=templates,
        dialer_override=dialer,
    )
    _ = application.delivery  # a driver asked for without credentials fails here, at start-up
    return application


def build_email_sender(settings: Settings) -> EmailSender:
    """The email driver the settings ask for (``outbox`` when no credentials are set)."""
    email = settings.email
    if email.driver == "sendgrid":
        if email.sendgrid_api_key is None:
            raise ConfigurationError(
                "NURTURE_EMAIL_DRIVER=sendgrid needs SENDGRID_API_KEY (or use the outbox driver)"
            )
        return SendGridEmail(
            api_key=email.sendgrid_api_key.get_secret_value(),
            host=email.sendgrid_host,
            timeout=settings.run.provider_timeout_seconds,
        )
    return OutboxEmail(settings.outbox_dir)


def build_sms_sender(settings: Settings) -> SmsSender:
    """The SMS driver the settings ask for (``outbox`` when no credentials are set)."""
    sms = settings.sms
    if sms.driver == "twilio":
        if not sms.twilio_account_sid or sms.twilio_auth_token is None:
            raise ConfigurationError(
                "NURTURE_SMS_DRIVER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
                "(or use the outbox driver)"
            )
        return TwilioSms(
            account_sid=sms.twilio_account_sid,
            auth_token=sms.twilio_auth_token.get_secret_value(),
            base_url=sms.twilio_base_url,
            from_number=sms.twilio_from,
            messaging_service_sid=sms.twilio_messaging_service_sid,
            timeout=settings.run.provider_timeout_seconds,
        )
    return OutboxSms(settings.outbox_dir)


def require_link_secret(webhooks: WebhookSettings) -> None:
    """:class:`ConfigurationError` when the link secret cannot protect real links."""
    problem = webhooks.link_secret_problem()
    if problem is not None:
        raise ConfigurationError(
            f"{problem}: unsubscribe and content links could be forged. Set it to a long "
            "random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )


def project_tools(
    templates: Callable[[Path, str], TemplateCatalog] | None = None,
) -> ProjectTools:
    """What checking a project needs from the adapters: template files (``templates``
    replaces the Jinja store), holidays."""
    return ProjectTools(
        templates=templates
        or (
            lambda folder, language: TemplateStore.from_directory(folder, default_language=language)
        ),
        known_region=known_holiday_region,
    )


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
