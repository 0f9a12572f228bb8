"""Measure the two ways of honouring delivery times (issue: one daily run, every time zone).

A. **Outbox + dispatch** (what nurture does): the daily run plans each touch with its
   delivery time; a dispatch flow every few minutes releases what is due.
B. **Provider-side scheduling**: the daily run hands every touch of the next 24 hours to
   the provider at once (SendGrid ``send_at`` with one batch id per message so that it can
   be cancelled; Twilio scheduled messages through a messaging service).

Both run here through the real SDKs against the local stand-ins. Usage::

    python bench/delivery_modes.py [--touches 2000] [--opt-out-rate 0.05]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from nurture.adapters.email import SendGridEmail
from nurture.adapters.holidays import holiday_check
from nurture.adapters.sms import TwilioSms
from nurture.domain.cadence import calendar_for
from nurture.domain.sequences import SendWindow
from nurture.ports import OutgoingEmail, OutgoingSms
from nurture.samples import generate_contacts
from nurture.standins import SendGridStandIn, TwilioStandIn, serve

RUN_AT = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Paris
WINDOW = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], hours="09:00-18:00")
TWILIO_MIN_LEAD = timedelta(minutes=15)  # Twilio refuses to schedule sooner than this


def touches(count: int) -> list[tuple[int, str, datetime]]:
    """(id, zone, delivery time) for ``count`` sample contacts planned at RUN_AT.

    Steps fall due at any time of day (the previous touch was done whenever it was), so a
    delivery time is either the opening of the window or a moment inside it.
    """
    rng = random.Random(11)
    out = []
    for index, persona in enumerate(generate_contacts(count), start=1):
        row = persona.row
        calendar = calendar_for(
            WINDOW,
            contact_timezone=row["timezone"],
            contact_country=row["country"],
            default_timezone="Europe/Paris",
            default_country="FR",
            holidays=holiday_check,
        )
        due = RUN_AT + timedelta(minutes=rng.randrange(-24 * 60, 24 * 60))
        deliver_at = calendar.next_open(max(due, RUN_AT))
        if deliver_at <= RUN_AT + timedelta(hours=24):
            out.append((index, row["timezone"], deliver_at))
    return out


def email(
    touch_id: int, send_at: datetime | None = None, batch: str | None = None
) -> OutgoingEmail:
    return OutgoingEmail(
        touch_id=touch_id,
        contact_id=touch_id,
        to=f"c{touch_id}@bench.example",
        to_name=None,
        from_email="bonjour@vigie-cyber.example",
        from_name="Vigie Cyber",
        subject="Bench",
        html="<p>Bonjour</p>",
        text="Bonjour",
        unsubscribe_url="https://u.example/u/x",
        send_at=send_at,
        batch_id=batch,
    )


def dispatch_mode(
    planned: list[tuple[int, str, datetime]],
    sendgrid: SendGridEmail,
    every: timedelta,
    opt_outs: set[int],
) -> dict[str, float]:
    """Release due touches every ``every`` for 24 hours; opt-outs are dropped locally."""
    pending = sorted(planned, key=lambda t: t[2])
    lateness, calls, ticks, busy = [], 0, 0, 0
    started = time.perf_counter()
    tick = RUN_AT
    while tick <= RUN_AT + timedelta(hours=24):
        ticks += 1
        due = [t for t in pending if t[2] <= tick]
        pending = [t for t in pending if t[2] > tick]
        busy += bool(due)
        for touch_id, _, deliver_at in due:
            if touch_id in opt_outs:
                continue  # cancelled in the outbox: nothing to call
            sendgrid.send(email(touch_id))
            calls += 1
            lateness.append((tick - deliver_at).total_seconds())
        tick += every
    return {
        "api_calls_per_touch": calls / max(1, len(planned) - len(opt_outs)),
        "cancel_calls": 0,
        "seconds_in_the_morning_run": 0.0,
        "seconds_sending_over_the_day": time.perf_counter() - started,
        "dispatch_runs_per_day": ticks,
        "dispatch_runs_with_work": busy,
        "median_lateness_s": statistics.median(lateness),
        "max_lateness_s": max(lateness),
    }


def provider_mode(
    planned: list[tuple[int, str, datetime]],
    sendgrid: SendGridEmail,
    twilio: TwilioSms,
    stand_in: SendGridStandIn,
    opt_outs: set[int],
) -> dict[str, float]:
    """Hand every touch over at RUN_AT with send_at; cancel the opt-outs afterwards."""
    batches: dict[int, str] = {}
    calls = 0
    too_soon = 0
    started = time.perf_counter()
    for touch_id, _, deliver_at in planned:
        batch = sendgrid.new_batch()
        batches[touch_id] = batch
        sendgrid.send(email(touch_id, send_at=deliver_at, batch=batch))
        calls += 2
        if deliver_at - RUN_AT < TWILIO_MIN_LEAD:
            too_soon += 1
    handed_over = time.perf_counter() - started
    sms_started = time.perf_counter()
    for touch_id, _, deliver_at in planned[:200]:  # Twilio: a sample, with a 15 min lead
        send_at = max(deliver_at, RUN_AT + TWILIO_MIN_LEAD)
        twilio.send(
            OutgoingSms(
                touch_id=touch_id,
                contact_id=touch_id,
                to="+33612345678",
                body="Bench",
                send_at=send_at,
            )
        )
    sms_seconds = (time.perf_counter() - sms_started) / 200
    for touch_id in opt_outs:
        sendgrid.cancel_batch(batches[touch_id])
    cancelled = sum(1 for m in stand_in.sent if m.cancelled)
    return {
        "api_calls_per_touch": calls / len(planned),
        "cancel_calls": len(opt_outs),
        "cancelled_confirmed": cancelled,
        "seconds_in_the_morning_run": handed_over,
        "seconds_per_scheduled_sms": sms_seconds,
        "touches_inside_twilio_15_min_lead": too_soon,
        "median_lateness_s": 0.0,
        "max_lateness_s": 0.0,
    }


def prefect_dispatch_cost(runs: int = 5) -> float:
    """Seconds per dispatch flow run with nothing to send (Prefect's share of the design)."""
    import os
    import tempfile
    from pathlib import Path

    from prefect.testing.utilities import prefect_test_harness

    folder = Path(tempfile.mkdtemp())
    os.environ["NURTURE_DATABASE_URL"] = f"sqlite:///{folder / 'dispatch.db'}"
    os.environ.setdefault("NURTURE_PROJECT_DIR", str(Path(__file__).resolve().parents[1]))
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from nurture.orchestration.flows import dispatch

    with prefect_test_harness(server_startup_timeout=60):
        dispatch(as_of=RUN_AT.isoformat())  # warm-up: schema, imports
        started = time.perf_counter()
        for minute in range(runs):
            dispatch(as_of=(RUN_AT + timedelta(minutes=5 * (minute + 1))).isoformat())
        return (time.perf_counter() - started) / runs


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--touches", type=int, default=2000)
    parser.add_argument("--opt-out-rate", type=float, default=0.05)
    parser.add_argument("--every-minutes", type=int, default=5)
    parser.add_argument(
        "--prefect",
        action="store_true",
        help="also time empty dispatch flow runs on Prefect's ephemeral API",
    )
    args = parser.parse_args()
    planned = touches(args.touches)
    rng = random.Random(3)
    opt_outs = {t[0] for t in planned if rng.random() < args.opt_out_rate}
    hours = sorted({t[2].strftime("%H:%MZ") for t in planned})
    print(
        f"{len(planned)} touches planned at {RUN_AT.isoformat()} (08:00 Paris); "
        f"delivery times {hours}; {len(opt_outs)} opt-outs after planning\n"
    )
    sendgrid_stand_in = SendGridStandIn(clock=lambda: RUN_AT.timestamp() + 60)
    twilio_stand_in = TwilioStandIn()
    with serve(sendgrid_stand_in.app) as sg_server, serve(twilio_stand_in.app) as tw_server:
        sendgrid = SendGridEmail(api_key=sendgrid_stand_in.api_key, host=sg_server.url)
        twilio = TwilioSms(
            account_sid=twilio_stand_in.account_sid,
            auth_token=twilio_stand_in.auth_token,
            base_url=tw_server.url,
            from_number=None,
            messaging_service_sid="MG" + "0" * 32,
        )
        outbox = dispatch_mode(planned, sendgrid, timedelta(minutes=args.every_minutes), opt_outs)
        sendgrid_stand_in.reset()
        provider = provider_mode(planned, sendgrid, twilio, sendgrid_stand_in, opt_outs)
    if args.prefect:
        outbox["prefect_seconds_per_empty_dispatch_run"] = prefect_dispatch_cost()
        outbox["prefect_seconds_per_day"] = (
            outbox["prefect_seconds_per_empty_dispatch_run"] * outbox["dispatch_runs_per_day"]
        )
    print(f"{'':40} {'outbox + dispatch':>20} {'provider-side':>16}")
    for key in sorted(set(outbox) | set(provider)):
        left, right = outbox.get(key, "—"), provider.get(key, "—")
        print(f"{key:40} {_fmt(left):>20} {_fmt(right):>16}")


if __name__ == "__main__":
    main()
