"""Settings as environment variables, for the CLI and child processes."""

from __future__ import annotations

from nurture.settings import Settings

__all__ = ["settings_env"]


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``NURTURE_*`` (and provider) variables that rebuild ``settings``."""
    email, sms, hooks, run = settings.email, settings.sms, settings.webhooks, settings.run
    env = {
        "NURTURE_DATABASE_URL": settings.database.database_url,
        "NURTURE_PROJECT_DIR": str(settings.project.project_dir),
        "NURTURE_FROM_EMAIL": email.from_email,
        "NURTURE_FROM_NAME": email.from_name,
        "NURTURE_PUBLIC_URL": hooks.public_url,
        "NURTURE_UNSUBSCRIBE_SECRET": hooks.unsubscribe_secret.get_secret_value(),
        "NURTURE_BATCH_SIZE": str(run.batch_size),
        "NURTURE_SEND_CONCURRENCY": str(run.send_concurrency),
        "NURTURE_PROVIDER_RATE_PER_SECOND": str(run.provider_rate_per_second),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    if email.email_driver == "sendgrid" and email.sendgrid_api_key is not None:
        env |= {
            "NURTURE_EMAIL_DRIVER": "sendgrid",
            "SENDGRID_API_KEY": email.sendgrid_api_key.get_secret_value(),
            "NURTURE_SENDGRID_HOST": email.sendgrid_host,
        }
    if hooks.sendgrid_webhook_public_key:
        env["NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY"] = hooks.sendgrid_webhook_public_key
    if sms.sms_driver == "twilio" and sms.twilio_auth_token is not None:
        env |= {
            "NURTURE_SMS_DRIVER": "twilio",
            "TWILIO_ACCOUNT_SID": sms.twilio_account_sid or "",
            "TWILIO_AUTH_TOKEN": sms.twilio_auth_token.get_secret_value(),
            "NURTURE_TWILIO_BASE_URL": sms.twilio_base_url or "",
            "NURTURE_TWILIO_FROM": sms.twilio_from or "",
        }
    return env
