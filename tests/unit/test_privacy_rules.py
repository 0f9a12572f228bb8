"""The privacy rules (lawful basis, erasure keys, retention, audit lines) and the erasure
and retention use cases over the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nurture.adapters.holidays import holiday_check
from nurture.bootstrap import project_tools
from nurture.commands.enrollment import enroll
from nurture.commands.privacy import Eraser, apply_retention, forget_contact
from nurture.domain.audit import from_journal
from nurture.domain.enrollment import EnrollmentStatus
from nurture.domain.journal import JournalEntry
from nurture.domain.privacy import (
    Basis,
    ErasureKeys,
    default_basis,
    no_basis_reason,
    parse_basis,
    retention_cutoff,
)
from nurture.errors import InputError, NotFound
from nurture.pipeline.lifecycle import RunContext
from nurture.pipeline.rendering import Sender
from nurture.specs.project import Project, load_project
from tests.conftest import NOW
from tests.support.fakes import FakeUnitOfWork


@pytest.mark.parametrize(
    ("raw", "channel", "basis"),
    [
        ("yes", "email", Basis.CONSENT),
        ("Oui", "sms", Basis.CONSENT),
        ("legitimate_interest", "email", Basis.LEGITIMATE_INTEREST),
        ("non", "sms", Basis.NONE),
        ("withdrawn", "email", Basis.WITHDRAWN),
    ],
)
def test_a_cell_names_a_basis(raw: str, channel: str, basis: Basis) -> None:
    assert parse_basis(raw, channel) is basis  # type: ignore[arg-type]


def test_an_unknown_word_or_legitimate_interest_for_sms_is_refused() -> None:
    with pytest.raises(ValueError, match="consent_email 'maybe' is not one of"):
        parse_basis("maybe", "email")
    with pytest.raises(ValueError, match="an SMS needs recorded consent"):
        parse_basis("legitimate_interest", "sms")


def test_defaults_follow_the_b2b_practice() -> None:
    assert default_basis("email", "jean@acme.fr", "professional") is Basis.LEGITIMATE_INTEREST
    assert default_basis("email", "jean@gmail.com", "professional") is Basis.NONE
    assert default_basis("email", "jean@gmail.com", "any") is Basis.LEGITIMATE_INTEREST
    assert default_basis("email", "jean@acme.fr", "never") is Basis.NONE
    assert default_basis("sms", "jean@acme.fr", "any") is Basis.NONE
    assert no_basis_reason("email", Basis.NONE, "a@gmail.com").startswith(
        "no lawful basis for email: a private address"
    )
    assert no_basis_reason("sms", Basis.WITHDRAWN, None) == (
        "no lawful basis for SMS: consent withdrawn"
    )


def test_erasure_hashes_are_keyed_stable_and_survive_a_rotation() -> None:
    old = ErasureKeys("first-secret")
    digest = old.digest("email", "Jean@Acme.fr")
    assert digest == old.digest("email", "jean@acme.fr ")  # the same person
    assert digest.startswith("hmac:")
    assert "jean" not in digest
    assert ErasureKeys("another").digest("email", "jean@acme.fr") != digest
    rotated = ErasureKeys("new-secret", "first-secret")
    assert digest in rotated.candidates("email", "jean@acme.fr")
    assert old.digest("phone", "jean@acme.fr") != digest  # kinds do not collide
    assert rotated.candidates("email", None) == []


def test_retention_counts_calendar_months() -> None:
    assert retention_cutoff(datetime(2026, 3, 31, tzinfo=UTC), 36) == datetime(
        2023, 3, 31, tzinfo=UTC
    )
    assert retention_cutoff(NOW, 0) is None


def test_only_changes_of_enrollments_and_stages_are_audited() -> None:
    exited = JournalEntry("exited", "cold v1: exited:replied", NOW, contact_id=3, run_id="r1")
    audited = from_journal(exited, None)
    assert audited is not None
    assert (audited.actor, audited.subject, audited.change) == ("run r1", "enrollment", "exited")
    assert from_journal(JournalEntry("deferred", "budget", NOW, contact_id=3), "x") is None
    paused = from_journal(JournalEntry("paused", "congés", NOW, contact_id=3), "camille")
    assert paused is not None
    assert paused.actor == "camille"


# -- the use cases over fakes -----------------------------------------------------------------

ONE_EMAIL = """\
id: one
name: One email
version: 1
audience: {stages: [contact, lead, prospect]}
cadence:
  gaps: {cold: 1, warm: 1, hot: 1}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
"""
KEYS = ErasureKeys("k" * 32)


@pytest.fixture
def project(project_dir: Path) -> Project:
    (project_dir / "sequences" / "one.yaml").write_text(ONE_EMAIL, encoding="utf-8")
    return load_project(project_dir, tools=project_tools())


def _ctx(project: Project, at: datetime = NOW) -> RunContext:
    sender = Sender("Claire", "claire@acme.example", "https://n.example", "s" * 32, None)
    return RunContext(project=project, sender=sender, now=at, holidays=holiday_check)


def _erased(calls: list[tuple[list[int], list[int]]]):  # type: ignore[no-untyped-def]
    def erase(email: list[int], sms: list[int]) -> int:
        calls.append((list(email), list(sms)))
        return len(email) + len(sms)

    return erase


def test_forgetting_ends_enrollments_keeps_hashes_and_is_idempotent(project: Project) -> None:
    uow = FakeUnitOfWork()
    uow.contacts.add(
        email="jean@acme.fr",
        phone="+33612345678",
        external_id="c1",
        first_name="Jean",
        created_at=NOW,
    )
    enroll(uow=uow, project=project, sequence_id="one", now=NOW, contact_ref="1")
    uow.suppressions.suppress("sms", "+33612345678", reason="STOP", at=NOW)
    calls: list[tuple[list[int], list[int]]] = []
    report = forget_contact(
        uow=uow,
        ref="c1",
        reason="request",
        by="dpo",
        eraser=Eraser(_ctx(project), KEYS, _erased(calls)),
    )
    assert report.enrollments_ended == 1
    (enrollment,) = uow.enrollments.rows.values()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "forgotten")
    row = uow.contacts.rows[1]
    assert (row["email"], row["phone"], row["first_name"]) == (None, None, None)
    assert ("sms", "+33612345678") not in uow.suppressions.rows  # the plain number goes
    assert ("email", KEYS.digest("email", "jean@acme.fr")) in uow.suppressions.rows
    assert ("sms", KEYS.digest("phone", "+33612345678")) in uow.suppressions.rows
    assert calls == [([], [])]
    assert [a.subject for a in uow.privacy.audit_for(1)][-1] == "erasure"
    again = forget_contact(
        uow=uow,
        ref="1",
        reason="again",
        by="dpo",
        eraser=Eraser(_ctx(project), KEYS, _erased(calls)),
    )
    assert again.already is not None
    assert len(calls) == 1  # nothing done the second time


def test_forgetting_needs_a_reason_and_a_known_contact(project: Project) -> None:
    uow = FakeUnitOfWork()
    uow.contacts.add(email="jean@acme.fr", created_at=NOW)
    with pytest.raises(NotFound, match=r"no contact 'paul@acme\.fr'"):
        forget_contact(
            uow=uow,
            ref="paul@acme.fr",
            reason="r",
            by="x",
            eraser=Eraser(_ctx(project), KEYS, _erased([])),
        )
    with pytest.raises(InputError, match="--reason is required"):
        forget_contact(
            uow=uow, ref="1", reason=" ", by="x", eraser=Eraser(_ctx(project), KEYS, _erased([]))
        )
    assert uow.contacts.rows[1]["email"] == "jean@acme.fr"


def test_retention_forgets_only_the_idle_with_nothing_open(project: Project) -> None:
    uow = FakeUnitOfWork()
    old = NOW - timedelta(days=37 * 31)
    uow.contacts.add(email="old@acme.fr", created_at=old, last_interest_at=None)
    uow.contacts.add(email="clicked@acme.fr", created_at=old, last_interest_at=NOW)
    uow.contacts.add(email="client@acme.fr", created_at=old, stage="customer")
    uow.contacts.add(email="busy@acme.fr", created_at=old)
    enroll(uow=uow, project=project, sequence_id="one", now=old, contact_ref="4")
    dry = apply_retention(
        uow=uow, months=36, ctx=_ctx(project), keys=None, erase_copies=_erased([]), dry_run=True
    )
    assert dry.contact_ids == [1]
    assert uow.contacts.rows[1]["email"] == "old@acme.fr"
    done = apply_retention(
        uow=uow, months=36, ctx=_ctx(project), keys=KEYS, erase_copies=_erased([])
    )
    assert done.contact_ids == [1]
    assert uow.contacts.rows[1]["email"] is None
    assert [uow.contacts.rows[i]["email"] for i in (2, 3, 4)] == [
        "clicked@acme.fr",
        "client@acme.fr",
        "busy@acme.fr",
    ]
    off = apply_retention(uow=uow, months=0, ctx=_ctx(project), keys=KEYS, erase_copies=_erased([]))
    assert off.cutoff is None
    assert off.contact_ids == []
