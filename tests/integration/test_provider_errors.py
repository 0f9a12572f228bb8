"""Provider errors: retried with backoff that honours the provider, recorded, never lost,
never sent twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import enrollments, touches
from nurture.adapters.email import SendGridEmail
from nurture.standins.behaviour import Planned
from tests.conftest import NOW
from tests.support.live import Live, free_port
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture
def ready(live: Live, tmp_path: Path) -> Live:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    return live


def statuses(live: Live) -> dict[str, str]:
    """Each email touch's status (and reason), by address."""
    with live.app.engine.connect() as connection:
        query = sa.select(touches.c.address, touches.c.status, touches.c.reason).where(
            touches.c.channel == "email"
        )
        return {
            row.address: f"{row.status}: {row.reason}" if row.reason else row.status
            for row in connection.execute(query)
        }


def test_429_waits_as_long_as_retry_after_says(ready: Live) -> None:
    ready.sendgrid.behaviour.fail(429, Retry_After="3")
    summary = run_once(ready.app)
    assert summary["execute"]["sent"] == {"email": 2}
    assert summary["execute"]["retried"] == 1
    assert ready.sleeps == [3.0]
    assert len(ready.sendgrid.delivered()) == 2


def test_429_with_a_rate_limit_reset_waits_until_the_reset(ready: Live) -> None:
    ready.app.delivery.email = SendGridEmail(
        api_key=ready.sendgrid.api_key,
        host=ready.providers.sendgrid_server.url,
        clock=lambda: 1_800_000_000.0,
    )
    ready.sendgrid.behaviour.fail(429, X_RateLimit_Reset="1800000007")
    run_once(ready.app)
    assert ready.sleeps == [7.0]


def test_server_errors_are_retried_with_growing_backoff(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test", where="contact.email == 'jean@acme.fr'")
    live.sendgrid.behaviour.fail(500, count=2)
    summary = run_once(live.app)
    assert summary["execute"]["sent"] == {"email": 1}
    first, second = live.sleeps
    assert 0.3 < first < 0.7
    assert 0.7 < second < 1.3
    assert len(live.sendgrid.delivered()) == 1


def test_a_refusal_fails_that_touch_only_with_the_providers_reason(ready: Live) -> None:
    ready.sendgrid.behaviour.fail(400)
    summary = run_once(ready.app)
    assert summary["execute"]["sent"] == {"email": 1}
    assert summary["execute"]["failed"] == {"SendGrid 400": 1}
    [failure] = summary["execute"]["failures"]
    assert failure["reason"] == "SendGrid 400: stand-in planned 400"
    assert sorted(statuses(ready).values()) == [
        "failed: SendGrid 400: stand-in planned 400",
        "sent",
    ]
    assert ready.sleeps == []  # a 4xx is never retried


def test_an_outage_keeps_touches_for_a_later_attempt(ready: Live) -> None:
    ready.sendgrid.behaviour.fail(503, count=4 * 2)  # every attempt of this run
    summary = run_once(ready.app)
    assert summary["execute"]["requeued"] == 2
    assert set(statuses(ready).values()) == {"scheduled: SendGrid 503: stand-in planned 503"}
    summary = run_once(ready.at(NOW + timedelta(minutes=30)))  # the outage is over
    assert summary["execute"]["sent"] == {"email": 2}
    assert len(ready.sendgrid.delivered()) == 2


def test_a_touch_that_keeps_failing_is_given_up_with_the_reason(ready: Live) -> None:
    ready.sendgrid.behaviour.fail(503, count=1000)
    for attempt in range(5):
        run_once(ready.at(NOW + timedelta(hours=attempt)))
    assert set(statuses(ready).values()) == {
        "failed: retries exhausted after 5 runs: SendGrid 503: stand-in planned 503"
    }
    assert ready.sendgrid.delivered() == []


def test_a_timeout_after_the_send_is_reconciled_not_resent(ready: Live) -> None:
    ready.app.delivery.email = SendGridEmail(
        api_key=ready.sendgrid.api_key, host=ready.providers.sendgrid_server.url, timeout=0.5
    )
    ready.sendgrid.behaviour.plan(Planned(202, delay=1.5, accept=True))  # taken, answered late
    summary = run_once(ready.app)
    assert summary["execute"]["unknown_outcome"] == 1
    assert summary["execute"]["sent"] == {"email": 1}
    later = ready.at(NOW + timedelta(hours=1))
    summary = run_once(later)
    assert summary["reconcile"]["confirmed_sent"] == 1
    assert summary["reconcile"]["requeued"] == 0
    assert all(len(messages) == 1 for messages in ready.sendgrid.by_touch().values())
    assert set(statuses(ready).values()) == {"sent"} | {
        "sent: confirmed by the provider after an interruption"
    }
    with ready.app.engine.connect() as connection:
        due = connection.execute(sa.select(enrollments.c.next_due_at)).scalars().all()
    assert all(d is not None for d in due)  # both enrollments move on to their next step


def test_twilio_rate_limits_are_retried_too(ready: Live) -> None:
    run_once(ready.app)
    ready.twilio.behaviour.fail(429, Retry_After="2")
    summary = run_once(ready.at(NOW + timedelta(days=1)))
    assert summary["execute"]["sent"] == {"sms": 1}
    assert ready.sleeps == [2.0]
    assert len(ready.twilio.delivered()) == 1


def test_a_provider_nobody_answers_at_keeps_touches_for_a_later_attempt(ready: Live) -> None:
    ready.app.delivery.email = SendGridEmail(
        api_key=ready.sendgrid.api_key, host=f"http://127.0.0.1:{free_port()}"
    )
    summary = run_once(ready.app)
    assert summary["execute"]["requeued"] == 2  # never left: safe to try again
    assert summary["execute"]["unknown_outcome"] == 0
    assert {s.split(":")[0] for s in statuses(ready).values()} == {"scheduled"}
    assert all("SendGrid unreachable" in s for s in statuses(ready).values())


def test_emails_go_out_over_one_kept_alive_connection(ready: Live) -> None:
    sender = SendGridEmail(api_key=ready.sendgrid.api_key, host=ready.providers.sendgrid_server.url)
    ready.app.delivery.email = sender
    ready.app.delivery.concurrency = 1  # one after the other
    summary = run_once(ready.app)
    assert summary["execute"]["sent"] == {"email": 2}
    pool = sender._client.client._pool.connection_from_url(ready.providers.sendgrid_server.url)
    assert pool.num_connections == 1  # the second email reused the first one's connection
    assert len(ready.sendgrid.delivered()) == 2
