"""Receiving an email that came back, over the in-memory unit of work: the matching
order, the follow-ups, and pauses that end by themselves with shifted due dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nurture.adapters.holidays import holiday_check
from nurture.bootstrap import project_tools
from nurture.commands.enrollment import enroll
from nurture.domain.enrollment import EnrollmentStatus
from nurture.domain.planning import Budget
from nurture.domain.replies import MailKind
from nurture.domain.touches import TouchStatus
from nurture.inbound_mail import InboundMail
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.pauses import resume_paused
from nurture.pipeline.plan import plan_due
from nurture.pipeline.rendering import Sender
from nurture.pipeline.replies import ReplyPolicy, receive_mail
from nurture.specs.project import Project, load_project
from nurture.tokens import LinkKeys, reply_token
from tests.conftest import NOW
from tests.support.fakes import FakeUnitOfWork

SECRET = "k" * 32
AFTERNOONS = """\
id: afternoons
name: Two emails, Paris afternoons only
version: 1
audience: {stages: [contact, lead, prospect]}
cadence:
  gaps: {cold: 2, warm: 2, hot: 2}
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
    (project_dir / "sequences" / "afternoons.yaml").write_text(AFTERNOONS, encoding="utf-8")
    return load_project(project_dir, tools=project_tools())


@pytest.fixture
def uow(project: Project) -> FakeUnitOfWork:
    """Jean, enrolled yesterday; his first email is planned for 14:00 Paris today."""
    fake = FakeUnitOfWork()
    fake.contacts.add(
        email="jean@client.fr", first_name="Jean", owner="claire@acme.example", stage="lead"
    )
    fake.contacts.add(email="paul@client.fr", first_name="Paul", stage="lead")
    enroll(
        uow=fake,
        project=project,
        sequence_id="afternoons",
        now=NOW - timedelta(days=1),
        contact_ref="1",
    )
    plan_due(uow=fake, ctx=_ctx(project), budget=Budget())
    fake.commit()
    return fake


def _ctx(project: Project, at: datetime = NOW) -> RunContext:
    sender = Sender("Claire", "claire@acme.example", "https://n.example", SECRET, "r.example")
    return RunContext(project=project, sender=sender, now=at, run_id=None, holidays=holiday_check)


POLICY = ReplyPolicy(read_token=lambda token: LinkKeys(SECRET).read_reply(token, today=NOW.date()))


def _mail(**fields: object) -> InboundMail:
    base: dict[str, object] = {
        "sender": "jean@client.fr",
        "sender_name": "Jean",
        "recipients": (),
        "subject": "Re: NIS2",
        "headers": {},
        "text": "Oui, appelez-moi.",
        "message_id": "m-1@client.fr",
    }
    return InboundMail(**{**base, **fields})  # type: ignore[arg-type]


def test_the_token_wins_over_the_thread_and_the_sender(
    uow: FakeUnitOfWork, project: Project
) -> None:
    (touch,) = uow.touches.rows.values()
    other = uow.contacts.add(email="marie@client.fr", stage="lead")
    mail = _mail(
        sender="marie@client.fr",  # a colleague answers on the thread Jean was sent
        recipients=(f"reply+{reply_token(SECRET, touch.id)}@r.example",),
        answers=("unknown@elsewhere",),
    )
    outcome = receive_mail(uow=uow, mail=mail, ctx=_ctx(project), policy=POLICY)
    assert (outcome.matched_by, outcome.contact_id, outcome.touch_id) == (
        "reply address",
        touch.contact_id,
        touch.id,
    )
    assert outcome.contact_id != other


def test_the_thread_comes_before_the_sender(uow: FakeUnitOfWork, project: Project) -> None:
    (touch,) = uow.touches.rows.values()
    touch.message_id = "nurture.abc@r.example"
    mail = _mail(sender="paul@client.fr", answers=("nurture.abc@r.example",))
    outcome = receive_mail(uow=uow, mail=mail, ctx=_ctx(project), policy=POLICY)
    assert (outcome.matched_by, outcome.contact_id) == ("thread", touch.contact_id)


def test_the_sender_matches_only_a_known_address(uow: FakeUnitOfWork, project: Project) -> None:
    known = receive_mail(
        uow=uow, mail=_mail(sender="paul@client.fr"), ctx=_ctx(project), policy=POLICY
    )
    assert (known.matched_by, known.contact_id) == ("sender address", 2)
    stranger = _mail(sender="who@nowhere.example", message_id="m-2@x")
    unknown = receive_mail(uow=uow, mail=stranger, ctx=_ctx(project), policy=POLICY)
    assert unknown.contact_id is None
    assert "no contact with who@nowhere.example" in (unknown.unmatched or "")


def test_a_reply_cancels_the_afternoon_touch_and_leaves_a_task(
    uow: FakeUnitOfWork, project: Project
) -> None:
    (touch,) = uow.touches.rows.values()
    assert touch.status == TouchStatus.SCHEDULED
    ten = NOW + timedelta(hours=1)
    outcome = receive_mail(uow=uow, mail=_mail(), ctx=_ctx(project, ten), policy=POLICY)
    assert outcome.kind == MailKind.REPLY
    assert uow.touches.rows[touch.id].status == TouchStatus.CANCELLED
    (enrollment,) = uow.enrollments.rows.values()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "replied")
    (task,) = uow.tasks.rows.values()
    assert (task.owner, task.script, task.due_at) == (
        "claire@acme.example",
        "Oui, appelez-moi.",
        ten,
    )


def test_an_out_of_office_pauses_then_resumes_at_the_same_step_shifted(
    uow: FakeUnitOfWork, project: Project
) -> None:
    (touch,) = uow.touches.rows.values()
    mail = _mail(
        subject="Réponse automatique : NIS2",
        headers={"auto-submitted": "auto-replied"},
        text="Absent jusqu'au 6 mars inclus, de retour le lundi 9 mars.",
    )
    outcome = receive_mail(uow=uow, mail=mail, ctx=_ctx(project), policy=POLICY)
    assert str(outcome.paused_until) == "2026-03-09"
    assert uow.touches.rows[touch.id].status == TouchStatus.CANCELLED  # not sent while away
    (enrollment,) = uow.enrollments.rows.values()
    assert (enrollment.status, enrollment.step_index) == (EnrollmentStatus.PAUSED, 0)
    assert enrollment.paused_until == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 08:00 Paris
    assert resume_paused(uow=uow, ctx=_ctx(project, NOW + timedelta(days=3))) == 0
    back = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    assert resume_paused(uow=uow, ctx=_ctx(project, back)) == 1
    (enrollment,) = uow.enrollments.rows.values()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.step_index == 0  # the step that was not sent comes again
    assert enrollment.next_due_at is not None
    assert enrollment.next_due_at >= back
    kinds = uow.journal.kinds()
    assert (kinds.count("paused"), kinds[-1]) == (1, "resumed")


def test_the_same_message_twice_is_acted_on_once(uow: FakeUnitOfWork, project: Project) -> None:
    first = receive_mail(uow=uow, mail=_mail(), ctx=_ctx(project), policy=POLICY)
    again = receive_mail(uow=uow, mail=_mail(), ctx=_ctx(project), policy=POLICY)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert len(uow.tasks.rows) == 1
