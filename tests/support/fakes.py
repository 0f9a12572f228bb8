"""In-memory fakes of the ports, for unit tests of services (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from nurture.domain.contacts import Contact
from nurture.domain.lifecycle import StageChange
from nurture.ports import StoredContact

__all__ = ["FakeContacts", "FakeUnitOfWork"]

_ATTRIBUTES = (
    "external_id email phone first_name last_name company role sector company_size country "
    "timezone language owner deal_value consent_email consent_sms custom"
).split()


class FakeContacts:
    """Contacts in a dict, keyed by id."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.history: list[tuple[int, StageChange]] = []

    def _stored(self, row: Mapping[str, Any]) -> StoredContact:
        return StoredContact(
            id=row["id"],
            email=row.get("email"),
            external_id=row.get("external_id"),
            row_hash=row.get("row_hash"),
            stage=row.get("stage", "contact"),
            interest_state=row.get("interest_state") or {},
            bant=row.get("bant") or {},
            attributes={"id": row["id"], **{k: row.get(k) for k in _ATTRIBUTES}},
        )

    def find_existing(
        self, *, emails: Sequence[str], external_ids: Sequence[str]
    ) -> dict[tuple[str, str], StoredContact]:
        found = {}
        for row in self.rows.values():
            if row.get("email") in emails:
                found[("email", row["email"])] = self._stored(row)
            if row.get("external_id") in external_ids:
                found[("external_id", row["external_id"])] = self._stored(row)
        return found

    def load_details(self, stored: Sequence[StoredContact]) -> dict[int, StoredContact]:
        return {s.id: self._stored(self.rows[s.id]) for s in stored}

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            new_id = len(self.rows) + 1
            self.rows[new_id] = {**row, "id": new_id}

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            self.rows[row["id"]].update(row)

    def save(
        self, inserts: Sequence[Mapping[str, Any]], updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], str]]:
        self.add_many(inserts)
        self.update_many(updates)
        return []

    def get(self, ref: str) -> Contact | None:
        for row in self.rows.values():
            if ref in (str(row["id"]), row.get("email"), row.get("external_id")):
                return Contact(id=row["id"], email=row.get("email"))
        return None

    def add_stage_changes(self, contact_id: int, changes: Sequence[StageChange]) -> None:
        self.history += [(contact_id, change) for change in changes]
        if changes:
            self.rows[contact_id]["stage"] = changes[-1].to_stage.value

    def count(self) -> int:
        return len(self.rows)


class FakeUnitOfWork:
    """Commits are counted; nothing is rolled back (tests check what was committed)."""

    def __init__(self) -> None:
        self.contacts = FakeContacts()
        self.commits = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        return None
