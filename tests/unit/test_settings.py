from __future__ import annotations

import pytest
from pydantic import SecretStr

from nurture.settings import (
    DatabaseSettings,
    EmailSettings,
    RunSettings,
    Settings,
    SmsSettings,
    WebhookSettings,
)
from tests.support.env import settings_env


def test_settings_survive_a_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        database=DatabaseSettings(database_url="postgresql+psycopg://n@db/nurture"),
        email=EmailSettings(
            email_driver="sendgrid",
            sendgrid_api_key=SecretStr("SG.key"),
            sendgrid_host="http://127.0.0.1:9",
            unsubscribe_mailto="u@x.fr",
        ),
        sms=SmsSettings(
            sms_driver="twilio",
            twilio_account_sid="AC1",
            twilio_auth_token=SecretStr("tok"),
            twilio_from="+33700000000",
        ),
        webhooks=WebhookSettings(
            public_url="https://hooks.example",
            sendgrid_webhook_public_key="k",
            unsubscribe_secret=SecretStr("s"),
        ),
        run=RunSettings(batch_size=123, max_touches_per_week=5),
    )
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    assert Settings() == settings


def test_drivers_default_to_the_outbox_only_without_credentials() -> None:
    assert EmailSettings().driver == "outbox"
    assert EmailSettings(sendgrid_api_key=SecretStr("SG.x")).driver == "sendgrid"
    assert SmsSettings().driver == "outbox"
    assert SmsSettings(twilio_account_sid="AC", twilio_auth_token=SecretStr("t")).driver == "twilio"
