"""Click-to-call goes through the Dialer port: the rep is rung, then the contact."""

from __future__ import annotations

import pytest

from nurture.commands.calls import dial
from nurture.domain.tasks import CallTask, TaskKind
from nurture.errors import ConfigurationError, NotFound
from tests.conftest import NOW
from tests.support.fakes import FakeUnitOfWork


def _uow(phone: str | None = "+33612345678") -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    contact = uow.contacts.add(email="jean@client.fr", phone=phone)
    uow.tasks.add_many(
        [
            CallTask(
                contact_id=contact, kind=TaskKind.SEQUENCE, title="Call", due_at=NOW, created_at=NOW
            )
        ]
    )
    return uow


class _Dialer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def dial(self, *, rep_phone: str, contact_phone: str) -> str:
        self.calls.append((rep_phone, contact_phone))
        return "CA1"


def test_the_rep_is_bridged_to_the_contact() -> None:
    dialer = _Dialer()
    assert dial(uow=_uow(), dialer=dialer, task_id=1, rep_phone="+33700000001") == "CA1"  # type: ignore[arg-type]
    assert dialer.calls == [("+33700000001", "+33612345678")]


def test_without_telephony_or_a_number_the_reason_is_given() -> None:
    with pytest.raises(ConfigurationError, match="needs the twilio driver"):
        dial(uow=_uow(), dialer=None, task_id=1, rep_phone="+33700000001")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="the contact has no phone number"):
        dial(uow=_uow(phone=None), dialer=_Dialer(), task_id=1, rep_phone="+3370")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no call task 8"):
        dial(uow=_uow(), dialer=_Dialer(), task_id=8, rep_phone="+3370")  # type: ignore[arg-type]
