"""An SMS carries a validity period no longer than the time left in its contact's window:
a message Twilio still holds in its queue when the window closes expires instead of
arriving at night."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nurture.pipeline.execute import sms_validity
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once

PEOPLE = (
    "external_id,email,first_name,company,country,timezone,language,phone,consent_sms\n"
    "paris,paris@world.example,Louise,Lumière,FR,Europe/Paris,fr,06 12 34 56 78,yes\n"
)
SEQUENCE = """\
id: one-sms
name: One SMS in office hours
version: 1
audience: {stages: [contact, lead], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 1, warm: 1, hot: 1}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", timezone: contact}
steps:
  - {id: sms-1, channel: sms, template: sms/meeting-nudge}
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def test_an_sms_sent_at_half_past_five_may_wait_thirty_minutes_at_most(
    live: Live, tmp_path: Path
) -> None:
    (live.app.project_dir / "sequences" / "one-sms.yaml").write_text(SEQUENCE, encoding="utf-8")
    early = live.at(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    import_people(early, tmp_path, PEOPLE)
    enroll_all(early, "one-sms")
    summary = run_once(live.at(datetime(2026, 3, 2, 16, 30, tzinfo=UTC)))  # 17:30 in Paris
    assert summary["execute"]["sent"] == {"sms": 1}
    [sms] = live.twilio.delivered()
    assert sms.params["ValidityPeriod"] == "1800"


@pytest.mark.parametrize(
    ("left", "validity"),
    [(None, 36_000), (0.4, 1), (1800.9, 1800), (36_000.0, 36_000), (50_000.0, 36_000)],
)
def test_the_validity_stays_within_what_twilio_accepts(left: float | None, validity: int) -> None:
    assert sms_validity(left) == validity
