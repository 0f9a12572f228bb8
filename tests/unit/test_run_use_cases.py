"""The run's use cases over the in-memory unit of work and fake providers: planning,
executing (the exactly-once claim/record protocol), dispatching inside windows,
reconciling, applying events and the lifecycle. No database, no Prefect."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from nurture.adapters.holidays import holiday_check
from nurture.bootstrap import project_tools
from nurture.commands.enrollment import enroll
from nurture.domain.events import EventType
from nurture.domain.planning import Budget
from nurture.domain.touches import TouchStatus
from nurture.errors import PermanentDeliveryError, TransientDeliveryError
from nurture.inbound import InboundEvent
from nurture.pipeline.delivery import Delivery, RetryPolicy
from nurture.pipeline.execute import execute_batch
from nurture.pipeline.ingest import ingest_events
from nurture.pipeline.lifecycle import RunContext, exit_enrollments
from nurture.pipeline.plan import SendNow, plan_due
from nurture.pipeline.reconcile import reconcile
from nurture.pipeline.rendering import Sender
from nurture.specs.project import Project, load_project
from tests.conftest import NOW
from tests.support.fakes import FakeEmail, FakeSms, FakeUnitOfWork

MORNINGS = """\
id: mornings
name: One email, Paris afternoons only
version: 1
audience: {stages: [contact, lead, prospect]}
cadence:
  gaps: {cold: 0, warm: 0, hot: 0}
  deal_size: {small: 1, medium: 1, large: 1}
send_window:
  {days: [mon, tue, wed, thu, fri], hours: "14:00-15:00", timezone: Europe/Paris, holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: email-2, channel: email, template: emails/follow-up-resource}
exit_on: [replied]
"""


@pytest.fixture
def project(project_dir: Path) -> Project:
    (project_dir / "sequences" / "mornings.yaml").write_text(MORNINGS, encoding="utf-8")
    return load_project(project_dir, tools=project_tools())


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _ctx(project: Project, minutes: int = 0) -> RunContext:
    return RunContext(
        project=project,
        sender=Sender("Claire", "claire@acme.example", "https://n.example", "k" * 32),
        now=NOW + timedelta(minutes=minutes),
        run_id="run-1",
        holidays=holiday_check,
    )


def _person(uow: FakeUnitOfWork, email: str = "jean@client.fr", **extra: object) -> int:
    row = {
        "email": email,
        "phone": "+33612345678",
        "first_name": "Jean",
        "language": "fr",
        "country": "FR",
        "consent_email": True,
        "consent_sms": False,
        "stage": "lead",
        "owner": "claire@acme.example",
    }
    return uow.contacts.add(**{**row, **extra})


def _enrolled(uow: FakeUnitOfWork, project: Project, sequence_id: str, *ids: int) -> None:
    for contact_id in ids:
        enroll(
            uow=uow,
            project=project,
            sequence_id=sequence_id,
            now=NOW - timedelta(days=1),
            contact_ref=str(contact_id),
        )
    uow.commit()


def _delivery(email: FakeEmail | None = None, **retry: int) -> Delivery:
    policy = RetryPolicy(attempts=1, **retry)
    return Delivery(email=email or FakeEmail(), sms=FakeSms(), retry=policy, sleep=lambda _: None)


# Planning ------------------------------------------------------------------------------


def test_a_due_step_is_scheduled_and_its_enrollment_moves_past_it(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _enrolled(uow, project, "channels-test", _person(uow))
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget())
    (touch,) = uow.touches.rows.values()
    assert (touch.status, touch.step_id, touch.address) == (
        TouchStatus.SCHEDULED,
        "email-1",
        "jean@client.fr",
    )
    (enrollment,) = uow.enrollments.rows.values()
    assert (enrollment.step_index, enrollment.next_due_at) == (1, None)
    assert report.planned == {"email": 1}
    assert uow.commits >= 2  # what was planned is committed


def test_over_budget_steps_are_deferred_with_their_reason_never_dropped(
    uow: FakeUnitOfWork, project: Project
) -> None:
    contact = _person(uow)
    _enrolled(uow, project, "channels-test", contact)
    _enrolled(uow, project, "mornings", contact)
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget(per_day=1))
    assert len(uow.touches.rows) == 1
    assert report.deferred == {"daily budget": 1}
    deferral = next(e for e in uow.journal.rows if e.kind == "deferred")
    assert "daily budget: 1 touch(es) already on 2026-03-02 (max 1)" in deferral.reason
    assert deferral.enrollment_id is not None
    waiting = uow.enrollments.rows[deferral.enrollment_id]
    assert (waiting.step_index, waiting.status) == (0, "active")
    assert waiting.next_due_at is not None  # still due: the next run plans it


def test_a_step_that_cannot_reach_the_contact_is_skipped_and_the_enrollment_moves_on(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _enrolled(uow, project, "channels-test", _person(uow, consent_email=False))
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget())
    (touch,) = uow.touches.rows.values()
    assert (touch.status, touch.reason) == (
        TouchStatus.SKIPPED,
        "no lawful basis for email: no consent or legitimate interest recorded",
    )
    (enrollment,) = uow.enrollments.rows.values()
    assert enrollment.step_index == 1
    assert enrollment.next_due_at is not None
    assert report.skipped == {"no lawful basis for email": 1}


def test_a_window_that_does_not_open_within_the_horizon_holds_the_step(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _enrolled(uow, project, "mornings", _person(uow))
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget(horizon=timedelta(hours=1)))
    assert report.held == 1
    assert not uow.touches.rows
    assert uow.enrollments.rows[1].step_index == 0


def test_a_contact_who_left_the_audience_leaves_the_sequence(
    uow: FakeUnitOfWork, project: Project
) -> None:
    contact = _person(uow)
    _enrolled(uow, project, "mornings", contact)
    uow.contacts.rows[contact]["stage"] = "customer"
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget())
    assert report.left_audience == 1
    enrollment = uow.enrollments.rows[1]
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "left_audience")
    assert not uow.touches.rows


# Executing: claim, send, record --------------------------------------------------------


def _planned(uow: FakeUnitOfWork, project: Project, *emails: str) -> None:
    ids = [_person(uow, email) for email in emails]
    _enrolled(uow, project, "channels-test", *ids)
    plan_due(uow=uow, ctx=_ctx(project), budget=Budget())


def test_a_claimed_touch_is_sent_once_recorded_and_its_next_step_scheduled(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _planned(uow, project, "jean@client.fr")
    email = FakeEmail()
    report = execute_batch(
        uow=uow, ctx=_ctx(project), delivery=_delivery(email), worker="w1", batch_size=10
    )
    assert [e.to for e in email.sent] == ["jean@client.fr"]
    touch = uow.touches.rows[1]
    assert (touch.status, touch.provider_message_id, touch.attempts) == (
        TouchStatus.SENT,
        "em-1",
        1,
    )
    assert report.sent == {"email": 1}
    assert uow.enrollments.rows[1].next_due_at is not None  # the SMS step is due next
    again = execute_batch(
        uow=uow, ctx=_ctx(project), delivery=_delivery(email), worker="w1", batch_size=10
    )
    assert again.claimed == 0
    assert len(email.sent) == 1


# Planning that sends what is due now (the daily run) -------------------------------------


def test_planning_sends_what_is_due_now_once_and_leaves_the_rest_scheduled(
    uow: FakeUnitOfWork, project: Project
) -> None:
    now, later = _person(uow, "jean@client.fr"), _person(uow, "marie@client.fr")
    _enrolled(uow, project, "channels-test", now)
    _enrolled(uow, project, "mornings", later)  # its window opens at 14:00 Paris
    email = FakeEmail()
    send = SendNow(_delivery(email), "run-1/p0")
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget(), send=send)
    assert [e.to for e in email.sent] == ["jean@client.fr"]
    sent = next(t for t in uow.touches.rows.values() if t.contact_id == now)
    assert (sent.status, sent.claimed_by, sent.attempts, sent.provider_message_id) == (
        TouchStatus.SENT,
        "run-1/p0",
        1,
        f"em-{sent.id}",
    )
    waiting = next(t for t in uow.touches.rows.values() if t.contact_id == later)
    assert (waiting.status, waiting.claimed_by) == (TouchStatus.SCHEDULED, None)
    assert report.deliver_now == 1
    assert report.sent is not None
    assert (report.sent.claimed, report.sent.sent) == (1, {"email": 1})
    assert report.as_dict()["execution"]["sent"] == {"email": 1}
    assert uow.enrollments.rows[sent.enrollment_id].next_due_at is not None  # SMS next
    again = execute_batch(
        uow=uow, ctx=_ctx(project), delivery=_delivery(email), worker="w1", batch_size=10
    )
    assert again.claimed == 0  # nothing due is left for the batches
    assert len(email.sent) == 1


def test_planning_never_sends_a_touch_whose_key_was_there_already(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _enrolled(uow, project, "channels-test", _person(uow))
    ctx = _ctx(project)
    plan_due(uow=uow, ctx=ctx, budget=Budget(), commit=False)  # the same step, decided
    (touch,) = uow.touches.rows.values()
    touch.status, touch.claimed_by = TouchStatus.SENDING, "an-earlier-run/p0"
    uow.enrollments.rows[touch.enrollment_id].step_index = 0  # due again, as if not moved
    uow.enrollments.rows[touch.enrollment_id].next_due_at = ctx.now
    uow.commit()
    email, roomy = FakeEmail(), Budget(per_day=5, per_week=5)  # the earlier touch counts
    report = plan_due(uow=uow, ctx=ctx, budget=roomy, send=SendNow(_delivery(email), "r/p0"))
    assert report.deliver_now == 1  # decided again...
    assert email.sent == []  # ...but the earlier run's touch is reconciliation's
    assert report.sent is not None
    assert report.sent.claimed == 0
    assert [t.claimed_by for t in uow.touches.rows.values()] == ["an-earlier-run/p0"]


def test_an_opt_out_between_the_plan_and_its_sending_cancels_the_touch(
    uow: FakeUnitOfWork, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planners check the suppression list again before sending, as a batch does."""
    _enrolled(uow, project, "channels-test", _person(uow, "jean@client.fr"))
    committed = uow.commit

    def commit_then_opt_out() -> None:  # an unsubscribe lands as the plan is committed
        committed()
        if uow.touches.rows:
            uow.suppressions.suppress("email", "jean@client.fr", reason="unsubscribe", at=NOW)

    monkeypatch.setattr(uow, "commit", commit_then_opt_out)
    email = FakeEmail()
    report = plan_due(uow=uow, ctx=_ctx(project), budget=Budget(),
                      send=SendNow(_delivery(email), "r/p0"))  # fmt: skip
    assert email.sent == []
    (touch,) = uow.touches.rows.values()
    assert (touch.status, touch.reason) == (TouchStatus.CANCELLED, "suppressed: unsubscribe")
    assert report.sent is not None
    assert report.sent.cancelled == {"suppressed": 1}


def test_planning_that_sends_must_commit() -> None:
    with pytest.raises(ValueError, match="committed"):
        plan_due(uow=FakeUnitOfWork(), ctx=None, budget=Budget(), commit=False,  # type: ignore[arg-type]
                 send=SendNow(_delivery(), "r/p0"))  # fmt: skip


class _ThreadNoting(FakeEmail):
    """Notes the thread each email was handed over on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def send(self, email):  # type: ignore[no-untyped-def]
        self.threads.append(threading.get_ident())
        return super().send(email)


@pytest.mark.parametrize(("inline", "on_the_batch_thread"), [({"email"}, True), (set(), False)])
def test_the_outbox_is_written_in_the_batch_thread_and_providers_in_sender_threads(
    uow: FakeUnitOfWork, project: Project, inline: set[str], on_the_batch_thread: bool
) -> None:
    _planned(uow, project, "jean@client.fr", "marie@client.fr", "paul@client.fr")
    email = _ThreadNoting()
    delivery = Delivery(email=email, sms=FakeSms(), concurrency=4, inline=frozenset(inline))
    report = execute_batch(uow=uow, ctx=_ctx(project), delivery=delivery, worker="w", batch_size=9)
    assert report.sent == {"email": 3}
    here = threading.get_ident()
    assert [thread == here for thread in email.threads] == [on_the_batch_thread] * 3


def test_a_crash_after_the_claim_never_sends_twice_and_reconciliation_settles_it(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _planned(uow, project, "jean@client.fr", "marie@client.fr")

    class CrashAfterFirst(FakeEmail):
        def send(self, email):  # type: ignore[no-untyped-def]
            receipt = super().send(email)
            if len(self.sent) == 1:
                raise SystemExit("killed after handing the first email over")
            return receipt

    provider = CrashAfterFirst()
    with pytest.raises(SystemExit):
        execute_batch(
            uow=uow,
            ctx=_ctx(project),
            delivery=Delivery(email=provider, sms=FakeSms(), concurrency=1),
            worker="run-0/w1",
            batch_size=10,
        )
    uow.rollback()  # the process died: only what was committed remains
    assert {t.status for t in uow.touches.rows.values()} == {TouchStatus.SENDING}
    nothing = execute_batch(
        uow=uow, ctx=_ctx(project, 1), delivery=_delivery(), worker="w2", batch_size=10
    )
    assert nothing.claimed == 0  # claimed touches are never taken again blindly
    report = reconcile(uow=uow, ctx=_ctx(project, 2), delivery=_delivery(provider), wall_now=NOW)
    assert (report.confirmed_sent, report.requeued) == (1, 1)
    statuses = sorted((t.address, t.status) for t in uow.touches.rows.values())
    assert statuses == [
        ("jean@client.fr", TouchStatus.SENT),
        ("marie@client.fr", TouchStatus.SCHEDULED),
    ]
    execute_batch(
        uow=uow, ctx=_ctx(project, 3), delivery=_delivery(provider), worker="w3", batch_size=10
    )
    assert sorted(e.to for e in provider.sent) == ["jean@client.fr", "marie@client.fr"]


def test_a_transient_refusal_is_requeued_then_failed_once_retries_are_spent(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _planned(uow, project, "jean@client.fr")
    email = FakeEmail(refuse={"jean@client.fr": TransientDeliveryError("429 too many")})
    delivery = _delivery(email, max_attempts_per_touch=2)
    first = execute_batch(uow=uow, ctx=_ctx(project), delivery=delivery, worker="w", batch_size=5)
    touch = uow.touches.rows[1]
    assert first.requeued == 1
    assert (touch.status, touch.deliver_at) == (TouchStatus.SCHEDULED, NOW + timedelta(minutes=5))
    second = execute_batch(
        uow=uow, ctx=_ctx(project, 10), delivery=delivery, worker="w", batch_size=5
    )
    assert second.failed == {"retries exhausted": 1}
    assert uow.touches.rows[1].status == TouchStatus.FAILED
    assert uow.touches.rows[1].reason == "retries exhausted after 2 runs: 429 too many"
    assert not email.sent


def test_a_permanent_refusal_fails_that_touch_only(uow: FakeUnitOfWork, project: Project) -> None:
    _planned(uow, project, "jean@client.fr", "marie@client.fr")
    email = FakeEmail(refuse={"jean@client.fr": PermanentDeliveryError("550 no such user")})
    report = execute_batch(
        uow=uow, ctx=_ctx(project), delivery=_delivery(email), worker="w", batch_size=5
    )
    assert report.sent == {"email": 1}
    assert report.failed == {"550 no such user": 1}
    assert [e.to for e in email.sent] == ["marie@client.fr"]


# Dispatching inside windows ------------------------------------------------------------


def test_dispatch_waits_for_the_window_and_does_not_count_the_early_release(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _enrolled(uow, project, "mornings", _person(uow))
    plan_due(uow=uow, ctx=_ctx(project), budget=Budget())
    touch = uow.touches.rows[1]
    assert touch.deliver_at == NOW.replace(hour=13)  # 14:00 in Paris
    email = FakeEmail()
    late = _ctx(project, minutes=6 * 60 + 30)  # 15:30 Paris: the window has closed
    uow.touches.rows[1].deliver_at = NOW  # as if released early by a stale plan
    report = execute_batch(uow=uow, ctx=late, delivery=_delivery(email), worker="w", batch_size=5)
    assert report.rescheduled == 1
    touch = uow.touches.rows[1]
    assert (touch.status, touch.attempts) == (TouchStatus.SCHEDULED, 0)
    assert touch.deliver_at == (NOW + timedelta(days=1)).replace(hour=13)
    assert not email.sent


def test_an_opt_out_between_planning_and_dispatch_cancels_the_touch(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _planned(uow, project, "jean@client.fr")
    uow.suppressions.suppress("email", "jean@client.fr", reason="unsubscribed", at=NOW)
    email = FakeEmail()
    report = execute_batch(
        uow=uow, ctx=_ctx(project), delivery=_delivery(email), worker="w", batch_size=5
    )
    assert report.cancelled == {"suppressed": 1}
    assert uow.touches.rows[1].reason == "suppressed: unsubscribed"
    assert not email.sent


# Events and the lifecycle --------------------------------------------------------------


def _event(kind: EventType, key: str, **fields: object) -> InboundEvent:
    return InboundEvent(
        provider="test", provider_event_id=key, type=kind, occurred_at=NOW, **fields
    )  # type: ignore[arg-type]


def test_an_unsubscribe_suppresses_cancels_and_exits(uow: FakeUnitOfWork, project: Project) -> None:
    _planned(uow, project, "jean@client.fr")
    report = ingest_events(
        uow=uow,
        events=[_event(EventType.UNSUBSCRIBE, "u1", contact_id=1, address="jean@client.fr")],
        ctx=_ctx(project),
    )
    assert report.applied is not None
    assert report.applied.applied == 1
    assert uow.suppressions.rows == {("email", "jean@client.fr"): "unsubscribe"}
    assert uow.touches.rows[1].status == TouchStatus.CANCELLED
    assert uow.enrollments.rows[1].status == "exited"


def test_applied_events_record_the_contact_they_were_matched_to(
    uow: FakeUnitOfWork, project: Project
) -> None:
    # Only what changed is written back: the contact an event named already stays, the
    # contact found by its address is recorded, and so is the error of one that failed.
    _planned(uow, project, "jean@client.fr")
    named = _event(EventType.EMAIL_OPEN, "o1", contact_id=1)
    by_address = _event(EventType.EMAIL_OPEN, "o2", address="jean@client.fr")
    poison = _event(
        EventType.FORM_FILL, "p1", contact_id=1, payload={"data": {"bant": {"Budget": "50k"}}}
    )
    ingest_events(uow=uow, events=[named, by_address, poison], ctx=_ctx(project))
    rows = {e.provider_event_id: e for e in uow.events.rows.values()}
    assert {key: (e.status, e.contact_id) for key, e in rows.items()} == {
        "o1": ("applied", 1),
        "o2": ("applied", 1),
        "p1": ("failed", 1),
    }
    assert rows["o1"].error is None
    assert rows["o1"].applied_at == NOW
    assert rows["p1"].error


def test_a_poison_event_is_quarantined_and_the_opt_out_after_it_still_applies(
    uow: FakeUnitOfWork, project: Project
) -> None:
    _planned(uow, project, "jean@client.fr")
    poison = _event(
        EventType.FORM_FILL, "p1", contact_id=1, payload={"data": {"bant": {"Budget": "50k"}}}
    )
    stop = _event(EventType.UNSUBSCRIBE, "u1", contact_id=1, address="jean@client.fr")
    ingest_events(uow=uow, events=[poison, stop], ctx=_ctx(project))
    statuses = {e.provider_event_id: e.status for e in uow.events.rows.values()}
    assert statuses == {"p1": "failed", "u1": "applied"}
    assert uow.touches.rows[1].status == TouchStatus.CANCELLED


def test_a_contact_whose_events_fail_together_counts_its_effects_once(
    uow: FakeUnitOfWork, project: Project
) -> None:
    # The opt-out comes first and cancels the touch; the poison after it makes the
    # contact's events fall back to one at a time, and the opt-out is applied again:
    # what the failed attempt counted must not be counted twice.
    _planned(uow, project, "jean@client.fr")
    stop = _event(EventType.UNSUBSCRIBE, "u1", contact_id=1, address="jean@client.fr")
    poison = _event(
        EventType.FORM_FILL, "p1", contact_id=1, payload={"data": {"bant": {"Budget": "50k"}}}
    )
    ctx = _ctx(project)
    report = ingest_events(uow=uow, events=[stop, poison], ctx=ctx)
    statuses = {e.provider_event_id: e.status for e in uow.events.rows.values()}
    assert statuses == {"u1": "applied", "p1": "failed"}
    assert report.applied is not None
    assert (report.applied.applied, report.applied.failed) == (1, 1)
    assert ctx.effects.cancelled == {"opted out": 1}
    assert uow.touches.rows[1].status == TouchStatus.CANCELLED


def test_a_poison_event_in_a_chunk_counts_the_other_contacts_effects_once(
    uow: FakeUnitOfWork, project: Project
) -> None:
    # Contacts are applied together; the poison makes the chunk fall back to one contact
    # at a time, and what the failed attempt counted must not be counted again.
    _planned(uow, project, "jean@client.fr", "alice@globex.com")
    poison = _event(
        EventType.FORM_FILL, "p1", contact_id=1, payload={"data": {"bant": {"Budget": "50k"}}}
    )
    stops = [
        _event(EventType.UNSUBSCRIBE, "u1", contact_id=1, address="jean@client.fr"),
        _event(EventType.UNSUBSCRIBE, "u2", contact_id=2, address="alice@globex.com"),
    ]
    ctx = _ctx(project)
    report = ingest_events(uow=uow, events=[stops[1], poison, stops[0]], ctx=ctx)
    statuses = {e.provider_event_id: e.status for e in uow.events.rows.values()}
    assert statuses == {"p1": "failed", "u1": "applied", "u2": "applied"}
    assert report.applied is not None
    assert (report.applied.applied, report.applied.failed) == (2, 1)
    assert ctx.effects.cancelled == {"opted out": 2}  # one touch each, counted once
    assert {t.status for t in uow.touches.rows.values()} == {TouchStatus.CANCELLED}


def test_events_of_many_contacts_are_applied_together_and_read_once(
    uow: FakeUnitOfWork, project: Project
) -> None:
    ids = [_person(uow, f"p{i}@client.fr") for i in range(5)]
    reads: list[list[int]] = []
    scored = uow.contacts.scored

    def counting(chosen: list[int]) -> object:
        reads.append(list(chosen))
        return scored(chosen)

    uow.contacts.scored = counting  # type: ignore[method-assign]
    events = [_event(EventType.EMAIL_OPEN, f"o{i}", contact_id=i) for i in ids]
    report = ingest_events(uow=uow, events=events, ctx=_ctx(project))
    assert report.applied is not None
    assert report.applied.applied == 5
    assert reads == [ids]  # applied, then the stage rules, from one read
    assert all(uow.contacts.scored([i])[i].contact.interest > 0 for i in ids)


def test_exiting_on_a_reply_cancels_only_that_sequence_s_touches(
    uow: FakeUnitOfWork, project: Project
) -> None:
    contact = _person(uow)
    _enrolled(uow, project, "channels-test", contact)
    plan_due(uow=uow, ctx=_ctx(project), budget=Budget())
    ctx = _ctx(project)
    left = exit_enrollments(uow=uow, contact=uow.contacts.get("1"), reason="replied", ctx=ctx)  # type: ignore[arg-type]
    assert left == ["channels-test"]
    assert uow.touches.rows[1].status == TouchStatus.CANCELLED
    assert "cancelled" in uow.journal.kinds()
    assert ctx.effects.cancelled == {"exited": 1}
    assert uow.touches.rows[1].reason == "exited: replied"
