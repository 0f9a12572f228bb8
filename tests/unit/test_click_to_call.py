"""Click-to-call goes through the Dialer port: the rep is rung, then the contact."""

from __future__ import annotations

from typing import Any

import pytest

from nurture.commands.calls import dial
from nurture.domain.contacts import Contact
from nurture.errors import ConfigurationError, NotFound


class _Tasks:
    def get(self, task_id: int) -> dict[str, Any] | None:
        return {"id": 7, "contact_id": 3} if task_id == 7 else None


class _Contacts:
    def __init__(self, phone: str | None) -> None:
        self.phone = phone

    def get(self, ref: str) -> Contact | None:
        return Contact(id=3, phone=self.phone) if ref == "3" else None


class _Uow:
    def __init__(self, phone: str | None = "+33612345678") -> None:
        self.tasks, self.contacts = _Tasks(), _Contacts(phone)


class _Dialer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def dial(self, *, rep_phone: str, contact_phone: str) -> str:
        self.calls.append((rep_phone, contact_phone))
        return "CA1"


def test_the_rep_is_bridged_to_the_contact() -> None:
    dialer = _Dialer()
    assert dial(uow=_Uow(), dialer=dialer, task_id=7, rep_phone="+33700000001") == "CA1"  # type: ignore[arg-type]
    assert dialer.calls == [("+33700000001", "+33612345678")]


def test_without_telephony_or_a_number_the_reason_is_given() -> None:
    with pytest.raises(ConfigurationError, match="needs the twilio driver"):
        dial(uow=_Uow(), dialer=None, task_id=7, rep_phone="+33700000001")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="the contact has no phone number"):
        dial(uow=_Uow(phone=None), dialer=_Dialer(), task_id=7, rep_phone="+3370")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no call task 8"):
        dial(uow=_Uow(), dialer=_Dialer(), task_id=8, rep_phone="+3370")  # type: ignore[arg-type]
