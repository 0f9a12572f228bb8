"""``nurture doctor``: is this project ready to run, and if not, what to do about it."""

from __future__ import annotations

import os
import zoneinfo
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import httpx
import typer
from rich.text import Text

from nurture.adapters.db import migrate
from nurture.adapters.db.engine import create_db_engine, explain_database_error
from nurture.bootstrap import project_tools
from nurture.cli._common import console, print_json
from nurture.settings import PLACEHOLDER_SENDER, PROJECT_MARKER, LoadedSettings, load_settings
from nurture.specs.project import check_project

__all__ = ["doctor"]

_LOCAL_URL = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Check:
    """One thing doctor looked at: ``ok``, ``warn`` (works, but mind it) or ``fail``
    (blocks a run), with what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Check this project's settings, database, project files, drivers, links, webhooks,
    Prefect and calendars, and say how to fix what is wrong; exit 1 if a run would fail.

    Example: nurture doctor
    """
    loaded = load_settings()
    checks = [
        *_settings(loaded),
        _project(loaded),
        _database(loaded),
        *_drivers(loaded),
        *_links(loaded),
        _prefect(),
        _calendars(loaded),
    ]
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        print_json(
            {
                "project": str(loaded.project_dir),
                "env_file": str(loaded.env_file) if loaded.env_file else None,
                "sources": loaded.sources,
                "checks": [asdict(c) for c in checks],
                "ready": not failed,
            }
        )
    else:
        _print(loaded, checks, failed)
    if failed:
        raise typer.Exit(1)


def _print(loaded: LoadedSettings, checks: list[Check], failed: bool) -> None:
    console.print(f"project {loaded.project_dir}", markup=False)
    styles = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    for check in checks:
        line = Text(f"{check.status.upper():<5}", style=styles[check.status])
        line.append(f" {check.name:<14} {check.detail}")
        console.print(line)
        if check.fix:
            console.print(Text(f"{'':20}→ {check.fix}", style="dim"))
    for name, source in sorted(loaded.sources.items()):
        console.print(f"set: {name} (from {source})", markup=False)
    verdict = "not ready: fix the FAIL lines first" if failed else "ready to run"
    console.print(Text(verdict, style="bold red" if failed else "bold green"))


def _settings(loaded: LoadedSettings) -> list[Check]:
    where = str(loaded.env_file) if loaded.env_file else "no .env file"
    checks = [Check("settings", "ok", f"environment, then {where}")]
    for name, closest in loaded.unknown:
        hint = f"rename it {closest}" if closest else "remove it"
        checks.append(Check("unknown setting", "warn", f"{name} is not a nurture setting", hint))
    return checks


def _project(loaded: LoadedSettings) -> Check:
    root = loaded.project_dir
    if not (root / PROJECT_MARKER).is_file():
        return Check(
            "project",
            "fail",
            f"no {PROJECT_MARKER} in {root} or any folder above",
            "nurture init my-project, then cd my-project (or set NURTURE_PROJECT_DIR)",
        )
    project = loaded.settings.project
    check = check_project(root, tools=project_tools(), default_language=project.default_language)
    if check.problems:
        first = str(check.problems[0])
        return Check("project", "fail", f"{len(check.problems)} problem(s), first: {first}",
                     "nurture validate lists them all")  # fmt: skip
    sequences = len(check.project.sequences) if check.project else 0
    return Check("project", "ok", f"{sequences} sequence(s), scoring and templates valid")


def _database(loaded: LoadedSettings) -> Check:
    url = loaded.settings.database.database_url
    missing = loaded.settings.database.missing_sqlite_file
    if missing is not None:
        return Check(
            "database", "ok", f"{missing} does not exist yet: the first command creates it"
        )
    try:
        engine = create_db_engine(url)
        try:
            current, head = migrate.current_revision(engine), migrate.head_revision()
        finally:
            engine.dispose()
    except Exception as exc:
        return Check(
            "database", "fail", explain_database_error(exc, url), "check NURTURE_DATABASE_URL"
        )
    shown = url.rpartition("@")[2] if "@" in url else url
    if current == head:
        return Check("database", "ok", f"{shown} at revision {current}")
    return Check(
        "database", "warn", f"{shown} at revision {current or 'empty'}, newest {head}",
        "nurture db upgrade (or let the next command do it)",
    )  # fmt: skip


def _drivers(loaded: LoadedSettings) -> list[Check]:
    email, sms = loaded.settings.email, loaded.settings.sms
    checks = []
    if email.driver == "sendgrid" and email.sendgrid_api_key is None:
        checks.append(Check("email", "fail", "sendgrid asked for, no SENDGRID_API_KEY",
                            "set SENDGRID_API_KEY, or NURTURE_EMAIL_DRIVER=outbox"))  # fmt: skip
    else:
        where = "SendGrid" if email.driver == "sendgrid" else "the outbox folder (nothing sent)"
        checks.append(Check("email", "ok", f"driver {email.driver}: {where}"))
    if email.from_email == PLACEHOLDER_SENDER:
        checks.append(Check("sender", "warn", f"emails come from {PLACEHOLDER_SENDER}",
                            "set NURTURE_FROM_EMAIL and NURTURE_FROM_NAME"))  # fmt: skip
    if sms.driver == "twilio" and not (sms.twilio_account_sid and sms.twilio_auth_token):
        fix = "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or NURTURE_SMS_DRIVER=outbox"
        checks.append(Check("sms", "fail", "twilio asked for, credentials missing", fix))
    elif sms.driver == "twilio" and not (sms.twilio_from or sms.twilio_messaging_service_sid):
        fix = "set NURTURE_TWILIO_FROM or NURTURE_TWILIO_MESSAGING_SERVICE_SID"
        checks.append(Check("sms", "fail", "twilio has no sender number", fix))
    else:
        checks.append(Check("sms", "ok", f"driver {sms.driver}"))
    return checks


def _links(loaded: LoadedSettings) -> list[Check]:
    hooks, email = loaded.settings.webhooks, loaded.settings.email
    problem = hooks.link_secret_problem()
    checks = [
        Check("link secret", "fail", problem, "nurture init writes one in .env; or set it")
        if problem
        else Check("link secret", "ok", "NURTURE_UNSUBSCRIBE_SECRET set (hidden)")
    ]
    if hooks.public_url.rstrip("/") == _LOCAL_URL:
        fix = "set NURTURE_PUBLIC_URL to the address people and providers reach"
        checks.append(Check("public URL", "warn", f"links point to {_LOCAL_URL}", fix))
    else:
        checks.append(Check("public URL", "ok", hooks.public_url))
    if email.driver == "sendgrid" and not hooks.sendgrid_webhook_public_key:
        checks.append(Check("event webhook", "warn", "SendGrid events would be refused",
                            "set NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY"))  # fmt: skip
    if email.reply_domain and not (hooks.sendgrid_inbound_public_key or hooks.inbound_secret):
        fix = "set NURTURE_SENDGRID_INBOUND_PUBLIC_KEY or NURTURE_INBOUND_SECRET"
        checks.append(Check("replies", "warn", "Inbound Parse posts would be refused", fix))
    return checks


def _prefect() -> Check:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return Check("prefect", "ok", "ephemeral API (runs in this process)",
                     "schedules need `prefect server start` and `nurture serve`")  # fmt: skip
    try:
        httpx.get(url.rstrip("/") + "/health", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        return Check("prefect", "fail", f"{url} does not answer ({type(exc).__name__})",
                     "start it (prefect server start) or unset PREFECT_API_URL")  # fmt: skip
    return Check("prefect", "ok", f"server at {url}")


def _calendars(loaded: LoadedSettings) -> Check:
    project = loaded.settings.project
    try:
        zoneinfo.ZoneInfo(project.default_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return Check("calendars", "fail", f"no time-zone data for {project.default_timezone}",
                     "pip install tzdata, or fix NURTURE_DEFAULT_TIMEZONE")  # fmt: skip
    import holidays

    try:
        days = holidays.country_holidays(project.default_region, years=datetime.now(UTC).year)
    except NotImplementedError:
        return Check("calendars", "warn", f"no holidays known for {project.default_region}",
                     "check NURTURE_DEFAULT_REGION (ISO country code)")  # fmt: skip
    return Check("calendars", "ok",
                 f"{project.default_timezone}; {len(days)} public holidays in "
                 f"{project.default_region} this year")  # fmt: skip
