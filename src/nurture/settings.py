"""Settings from the environment (prefix ``NURTURE_``), in nested groups.

Each group reads its own variables; the provider credentials keep the names the
providers document (``SENDGRID_API_KEY``, ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``).
Only ``bootstrap`` reads a ``Settings``; the domain never sees one.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

from dotenv import dotenv_values
from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from nurture.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "MIN_SECRET_CHARS",
    "PLACEHOLDER_SECRETS",
    "PLACEHOLDER_SENDER",
    "PROJECT_MARKER",
    "DatabaseSettings",
    "EmailSettings",
    "LimitSettings",
    "LoadedSettings",
    "ProjectSettings",
    "RunSettings",
    "Settings",
    "SmsSettings",
    "WebhookSettings",
    "find_project",
    "load_settings",
    "variable_names",
]

#: Secrets that were published (old defaults, documentation examples): never accepted.
PLACEHOLDER_SECRETS = frozenset(
    {"change-me-unsubscribe-secret", "change-me", "changeme", "secret", "placeholder", "xxx"}
)
MIN_SECRET_CHARS = 16
#: The sender nurture ships with: doctor and validate warn while it is in use.
PLACEHOLDER_SENDER = "hello@nurture.example"

_COMMON = SettingsConfigDict(env_prefix="NURTURE_", extra="ignore", populate_by_name=True)


class DatabaseSettings(BaseSettings):
    """Where contacts, enrollments and the outbox live."""

    model_config = _COMMON

    #: Default (set by ``load_settings``): PROJECT_DIR/nurture.db.
    database_url: str = "sqlite:///./nurture.db"

    @property
    def missing_sqlite_file(self) -> Path | None:
        """The SQLite file the URL names, when it does not exist yet (the first command
        creates it); ``None`` for an existing file or another database."""
        if not self.database_url.startswith("sqlite:///"):
            return None
        path = Path(self.database_url.removeprefix("sqlite:///"))
        return None if path.exists() else path


class ProjectSettings(BaseSettings):
    """The marketer's folder and the defaults applied to contacts."""

    model_config = _COMMON

    project_dir: Path = Path()
    #: Where the outbox drivers write messages (default: PROJECT_DIR/outbox).
    outbox_dir: Path | None = None
    default_timezone: str = "Europe/Paris"
    default_region: str = Field(
        default="FR", description="Region used to read phone numbers written without +country"
    )
    default_language: str = "fr"


class EmailSettings(BaseSettings):
    """Email driver and SendGrid credentials."""

    model_config = _COMMON

    email_driver: Literal["sendgrid", "outbox"] | None = None
    sendgrid_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SENDGRID_API_KEY", "sendgrid_api_key")
    )
    sendgrid_host: str = "https://api.sendgrid.com"
    from_email: str = PLACEHOLDER_SENDER
    from_name: str = "nurture"
    unsubscribe_mailto: str | None = None
    sendgrid_sandbox: bool = False
    #: Replies go to reply+<token>@REPLY_DOMAIN (its MX points at SendGrid Inbound Parse).
    reply_domain: str | None = None
    #: Send a copy of each reply to the contact's owner through the email driver.
    forward_replies: bool = False
    #: How long an out-of-office pauses a contact when it names no return date.
    ooo_pause_business_days: int = Field(default=5, ge=1, le=60)

    @property
    def driver(self) -> Literal["sendgrid", "outbox"]:
        """The driver asked for, or ``outbox`` when no credentials are set."""
        if self.email_driver:
            return self.email_driver
        return "sendgrid" if self.sendgrid_api_key else "outbox"


class SmsSettings(BaseSettings):
    """SMS driver and Twilio credentials."""

    model_config = _COMMON

    sms_driver: Literal["twilio", "outbox"] | None = None
    twilio_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "twilio_account_sid")
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "twilio_auth_token")
    )
    twilio_base_url: str | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None

    @property
    def driver(self) -> Literal["twilio", "outbox"]:
        """The driver asked for, or ``outbox`` when no credentials are set."""
        if self.sms_driver:
            return self.sms_driver
        return "twilio" if self.twilio_account_sid and self.twilio_auth_token else "outbox"


class WebhookSettings(BaseSettings):
    """Public links and webhook verification."""

    model_config = _COMMON

    public_url: str = "http://127.0.0.1:8765"
    #: Signs unsubscribe and content links; required by run, dispatch and the servers.
    unsubscribe_secret: SecretStr | None = None
    #: The secret before the last rotation: its links keep working until the date below.
    unsubscribe_secret_previous: SecretStr | None = None
    unsubscribe_secret_previous_until: date | None = None
    sendgrid_webhook_public_key: str | None = None
    sendgrid_webhook_max_age_seconds: int = 600
    #: Inbound Parse: the public key of its security policy (signed posts), else a
    #: shared secret given as the basic-auth password or as the last path segment.
    sendgrid_inbound_public_key: str | None = None
    inbound_secret: SecretStr | None = None

    def link_secret_problem(self) -> str | None:
        """Why the link secret cannot protect real links, or ``None`` when it can."""
        secret = self.unsubscribe_secret.get_secret_value() if self.unsubscribe_secret else ""
        if not secret.strip():
            return "NURTURE_UNSUBSCRIBE_SECRET is not set"
        if secret.strip().lower() in PLACEHOLDER_SECRETS:
            return "NURTURE_UNSUBSCRIBE_SECRET is a published placeholder"
        if len(secret) < MIN_SECRET_CHARS:
            return f"NURTURE_UNSUBSCRIBE_SECRET is shorter than {MIN_SECRET_CHARS} characters"
        if self.unsubscribe_secret_previous and self.unsubscribe_secret_previous_until is None:
            return (
                "NURTURE_UNSUBSCRIBE_SECRET_PREVIOUS needs "
                "NURTURE_UNSUBSCRIBE_SECRET_PREVIOUS_UNTIL (the last day its links are accepted)"
            )
        return None


class RunSettings(BaseSettings):
    """How the daily run batches, paces and protects contacts."""

    model_config = _COMMON

    batch_size: int = Field(default=2000, ge=1)
    max_parallel_batches: int = Field(default=2, ge=1)
    #: Where planning and sending run: ``processes`` (worker processes, one per parallel
    #: batch: every core), ``threads`` (the flow's process: one core), or ``auto``
    #: (processes when a phase has at least four batches of work).
    task_runner: Literal["auto", "threads", "processes"] = "auto"
    #: Scale-out: split each daily run's planning and sending into this many flow runs of
    #: the ``shard`` deployment, for Prefect workers on any machine (0: the flow's own
    #: process and its worker processes do it all).
    shards: int = Field(default=0, ge=0, le=256)
    send_concurrency: int = Field(default=16, ge=1)
    max_touches_per_day: int = Field(default=1, ge=1)
    max_touches_per_week: int = Field(default=3, ge=1)
    handoff_sla_business_days: float = Field(default=1.0, gt=0)
    #: Requests per second to SendGrid and to Twilio (the outbox is never paced).
    email_rate_per_second: float = Field(default=1000.0, gt=0)
    sms_rate_per_second: float = Field(default=30.0, gt=0)
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    delivery_horizon_hours: int = Field(default=24, ge=1, le=72)


class LimitSettings(BaseSettings):
    """Every size, depth and duration accepted from outside (``NURTURE_MAX_…``)."""

    model_config = _COMMON

    max_yaml_bytes: int = Field(default=DEFAULT_LIMITS.yaml_bytes, ge=1_000)
    max_yaml_aliases: int = Field(default=DEFAULT_LIMITS.yaml_aliases, ge=0)
    max_template_output_chars: int = Field(default=DEFAULT_LIMITS.template_output_chars, ge=1_000)
    max_template_seconds: float = Field(default=DEFAULT_LIMITS.template_seconds, gt=0)
    max_repeat_items: int = Field(default=DEFAULT_LIMITS.repeat_items, ge=100)
    max_expression_chars: int = Field(default=DEFAULT_LIMITS.expression_chars, ge=100)
    max_expression_depth: int = Field(default=DEFAULT_LIMITS.expression_depth, ge=5, le=200)
    max_webhook_body_bytes: int = Field(default=DEFAULT_LIMITS.webhook_body_bytes, ge=10_000)
    max_inbound_body_bytes: int = Field(default=DEFAULT_LIMITS.inbound_body_bytes, ge=10_000)
    max_events_per_post: int = Field(default=DEFAULT_LIMITS.events_per_post, ge=1)
    max_csv_cell_chars: int = Field(default=DEFAULT_LIMITS.csv_cell_chars, ge=100)

    def limits(self) -> Limits:
        """The limits as the domain and the edges take them."""
        return Limits(
            yaml_bytes=self.max_yaml_bytes,
            yaml_aliases=self.max_yaml_aliases,
            template_output_chars=self.max_template_output_chars,
            template_seconds=self.max_template_seconds,
            repeat_items=self.max_repeat_items,
            expression_chars=self.max_expression_chars,
            expression_depth=self.max_expression_depth,
            webhook_body_bytes=self.max_webhook_body_bytes,
            inbound_body_bytes=self.max_inbound_body_bytes,
            events_per_post=self.max_events_per_post,
            csv_cell_chars=self.max_csv_cell_chars,
        )


class PrivacySettings(BaseSettings):
    """Lawful basis, retention and erasure."""

    model_config = _COMMON

    #: Who may be emailed on legitimate interest when the CSV says nothing.
    email_legitimate_interest: Literal["professional", "any", "never"] = Field(
        default="professional",
        description="who is emailed on legitimate interest: professional, any or never",
    )
    #: Months without interaction after which a contact with nothing open is forgotten.
    retention_months: int = Field(
        default=36, ge=0, description="forget contacts idle this many months (0: never)"
    )
    #: Keys the hashes that keep a forgotten person out; default: the link secret.
    erasure_key: SecretStr | None = None


class Settings(BaseModel):
    """All of nurture's settings, in groups; each group reads its own variables."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    project: ProjectSettings = Field(default_factory=ProjectSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @property
    def outbox_dir(self) -> Path:
        """Where the outbox drivers write messages."""
        return self.project.outbox_dir or self.project.project_dir / "outbox"


# -- where settings come from ---------------------------------------------------------------

#: The file that makes a folder a nurture project (``nurture init`` writes it).
PROJECT_MARKER = "scoring.yaml"
_GROUPS: dict[str, type[BaseSettings]] = {
    "database": DatabaseSettings,
    "project": ProjectSettings,
    "email": EmailSettings,
    "sms": SmsSettings,
    "webhooks": WebhookSettings,
    "run": RunSettings,
    "limits": LimitSettings,
    "privacy": PrivacySettings,
}


@dataclass(frozen=True)
class LoadedSettings:
    """The settings, and where each came from (what ``nurture doctor`` shows)."""

    settings: Settings
    project_dir: Path
    #: How the project folder was found: ``NURTURE_PROJECT_DIR``, ``found``, ``current``.
    found_by: str
    env_file: Path | None
    #: Each variable that is set: ``environment`` or ``.env`` (defaults are not listed).
    sources: dict[str, str]
    #: ``NURTURE_*`` variables nurture does not know, with the closest known one.
    unknown: list[tuple[str, str | None]]


def variable_names() -> dict[str, tuple[str, str]]:
    """Every variable nurture reads: name → (settings group, field)."""
    names: dict[str, tuple[str, str]] = {}
    for group, cls in _GROUPS.items():
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                for choice in alias.choices:
                    if isinstance(choice, str) and choice.isupper():
                        names[choice] = (group, name)
            names["NURTURE_" + name.upper()] = (group, name)
    return names


def find_project(start: Path) -> Path | None:
    """The nearest folder from ``start`` upwards that holds a project (like git)."""
    for folder in (start, *start.parents):
        if (folder / PROJECT_MARKER).is_file():
            return folder
    return None


def load_settings(
    environ: Mapping[str, str] | None = None, *, cwd: Path | None = None
) -> LoadedSettings:
    """The settings from the environment, then ``PROJECT_DIR/.env`` (the environment
    wins). The project folder is ``NURTURE_PROJECT_DIR``, else the nearest folder upwards
    holding a ``scoring.yaml``, else the current one; the database defaults to
    ``PROJECT_DIR/nurture.db``."""
    env = dict(os.environ if environ is None else environ)
    here = (cwd or Path.cwd()).resolve()
    if env.get("NURTURE_PROJECT_DIR"):
        project, found_by = (here / env["NURTURE_PROJECT_DIR"]).resolve(), "NURTURE_PROJECT_DIR"
    else:
        found = find_project(here)
        project, found_by = (found, "found") if found is not None else (here, "current")
    env_file = project / ".env"
    from_file = _read_env_file(env_file) if env_file.is_file() else {}
    merged = {**from_file, **env}
    merged.setdefault("NURTURE_PROJECT_DIR", str(project))
    merged.setdefault("NURTURE_DATABASE_URL", f"sqlite:///{project / 'nurture.db'}")
    known = variable_names()
    values: dict[str, dict[str, str]] = {group: {} for group in _GROUPS}
    for name, (group, field_name) in known.items():
        if name in merged and field_name not in values[group]:
            values[group][field_name] = merged[name]
    groups: dict[str, Any] = {
        group: cast(Any, cls)(**values[group]) for group, cls in _GROUPS.items()
    }
    sources = {
        name: "environment" if name in env else ".env"
        for name in known
        if name in env or name in from_file
    }
    unknown = [
        (name, next(iter(difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)), None))
        for name in sorted(merged)
        if name.startswith("NURTURE_") and name not in known
    ]
    return LoadedSettings(
        settings=Settings(**groups),
        project_dir=project,
        found_by=found_by,
        env_file=env_file if from_file else None,
        sources=sources,
        unknown=unknown,
    )


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (python-dotenv: quotes, comments, ``export``)."""
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


#: One line of help per setting in the ``.env.example`` that ``nurture init`` writes.
_HELP = {
    "NURTURE_DATABASE_URL": "default: PROJECT_DIR/nurture.db; or postgresql+psycopg://…",
    "NURTURE_PROJECT_DIR": "default: the nearest folder upwards holding scoring.yaml",
    "NURTURE_OUTBOX_DIR": "where the outbox drivers write messages",
    "NURTURE_EMAIL_DRIVER": "sendgrid or outbox (default: sendgrid when a key is set)",
    "SENDGRID_API_KEY": "SendGrid API key (secret)",
    "NURTURE_FROM_EMAIL": "the sender's address: set it to your own domain",
    "NURTURE_FROM_NAME": "the sender's name",
    "NURTURE_REPLY_DOMAIN": "replies come back to reply+token@ this domain (Inbound Parse)",
    "NURTURE_SMS_DRIVER": "twilio or outbox (default: twilio when credentials are set)",
    "TWILIO_ACCOUNT_SID": "Twilio account SID",
    "TWILIO_AUTH_TOKEN": "Twilio auth token (secret)",
    "NURTURE_PUBLIC_URL": "base of the links in messages and of the webhooks",
    "NURTURE_UNSUBSCRIBE_SECRET": "signs unsubscribe, content and reply links (secret)",
    "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY": "verifies SendGrid event webhooks",
    "NURTURE_SENDGRID_INBOUND_PUBLIC_KEY": "verifies Inbound Parse posts (security policy)",
    "NURTURE_INBOUND_SECRET": "else: the shared secret of Inbound Parse posts (secret)",
    "NURTURE_MAX_TOUCHES_PER_DAY": "pressure budget per contact and day",
    "NURTURE_MAX_TOUCHES_PER_WEEK": "pressure budget per contact over seven days",
    "NURTURE_ERASURE_KEY": "keys the hashes of forgotten people (default: the link secret)",
    "NURTURE_TASK_RUNNER": "auto, processes (every core) or threads (one process)",
    "NURTURE_SHARDS": "split each daily run across N Prefect workers (0: off)",
}


#: Settings whose default ``load_settings`` finds from the project folder.
_FOUND = frozenset({"NURTURE_DATABASE_URL", "NURTURE_PROJECT_DIR"})


def example_env() -> str:
    """The text of ``.env.example``: every setting, one line each, with its default."""
    lines = [
        "# nurture settings: copy a line into .env (or the environment) and change it.",
        "# The environment wins over .env. `nurture doctor` says where each value comes from.",
    ]
    names = variable_names()
    for group, cls in _GROUPS.items():
        lines.append(f"\n# {group}: {(cls.__doc__ or '').strip().splitlines()[0]}")
        for name, (owner, field_name) in names.items():
            if owner != group or (name.startswith("NURTURE_") and _aliased(cls, field_name)):
                continue
            default = cls.model_fields[field_name].default
            shown = "" if default is None or name in _FOUND else str(default)
            help_text = _HELP.get(name) or cls.model_fields[field_name].description or ""
            lines.append(f"# {name}={shown}" + (f"  # {help_text}" if help_text else ""))
    return "\n".join(lines) + "\n"


def _aliased(cls: type[BaseSettings], field_name: str) -> bool:
    """Whether the field is read under a provider's own name (SENDGRID_API_KEY)."""
    return isinstance(cls.model_fields[field_name].validation_alias, AliasChoices)
