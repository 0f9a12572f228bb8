"""A rep's hand on a live run: a paused contact receives nothing until resumed, then
continues where it stopped; a test send goes through the real SDK and counts nowhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from nurture.adapters.db.tables import enrollments, touches
from nurture.commands.control import change_enrollments, select_enrollments
from nurture.commands.send_test import sample_contact, send_test
from tests.conftest import NOW
from tests.support.live import Live
from tests.support.people import enroll_all, import_people
from tests.support.run import run_once


def _act(live: Live, action: str, reason: str) -> list[int]:
    app = live.app
    with app.uow() as uow:
        chosen = select_enrollments(uow=uow, contact_ref="jean@acme.fr")
        report = change_enrollments(
            uow=uow,
            enrollments=chosen,
            action=action,
            reason=reason,
            by="camille",
            ctx=app.run_context(),
        )
    return report.changed


def _sent_to_jean(live: Live) -> list[str]:
    with live.app.engine.connect() as connection:
        query = sa.select(touches.c.step_id).where(touches.c.status == "sent")  # only Jean
        return [row.step_id for row in connection.execute(query.order_by(touches.c.id))]


def test_a_paused_contact_gets_nothing_then_resumes_where_it_stopped(
    live: Live, tmp_path: Path
) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test", where="contact.email == 'jean@acme.fr'")
    run_once(live.app)
    assert _sent_to_jean(live) == ["email-1"]
    assert len(_act(live, "pause", "on holiday")) == 1
    for day in range(1, 4):
        run_once(live.at(NOW + timedelta(days=day)))
    assert _sent_to_jean(live) == ["email-1"]
    assert len(_act(live, "resume", "back")) == 1
    run_once(live.at(NOW + timedelta(days=4)))
    assert _sent_to_jean(live) == ["email-1", "sms-1"]  # the next step, not a skipped one


def test_stop_cancels_what_was_planned(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test", where="contact.email == 'jean@acme.fr'")
    run_once(live.app)
    _act(live, "stop", "signed elsewhere")
    with live.app.engine.connect() as connection:
        row = connection.execute(sa.select(enrollments)).mappings().one()
    assert (row["status"], row["exit_reason"]) == ("exited", "manual")
    run_once(live.at(NOW + timedelta(days=1)))
    assert _sent_to_jean(live) == ["email-1"]


def test_a_test_send_goes_through_sendgrid_with_test_in_the_subject(live: Live) -> None:
    app = live.app
    sent = send_test(
        project=app.project,
        sender=app.sender,
        delivery=app.delivery,
        contact=sample_contact("fr"),
        sequence_id="channels-test",
        step_id="email-1",
        to="marketing@vigie-cyber.example",
    )
    [message] = live.sendgrid.delivered()
    assert message.to == "marketing@vigie-cyber.example"
    assert message.payload["subject"].startswith("[TEST] ")
    assert sent["provider"] == "sendgrid"
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(touches)).scalar() == 0
