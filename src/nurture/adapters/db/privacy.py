"""Consent history, the audit trail and erasure in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from nurture.adapters.db.journal import SqlAudit
from nurture.adapters.db.suppressions import SqlSuppressions
from nurture.adapters.db.tables import (
    IDLE_SINCE,
    call_tasks,
    consent_history,
    contacts,
    enrollments,
    events,
    suppressions,
    touches,
)
from nurture.domain.audit import AuditEntry
from nurture.domain.privacy import ConsentRecord
from nurture.ports import Erased

__all__ = ["SqlPrivacy"]

_FORGOTTEN = "forgotten"
#: What is personal on a contact row; the rest (stage, score, sector, size, country,
#: owner, deal value) stays, anonymous, so that reports stay true.
_PERSONAL: dict[str, object] = {
    "external_id": None,
    "email": None,
    "phone": None,
    "first_name": None,
    "last_name": None,
    "company": None,
    "account_id": None,
    "account": None,
    "role": None,
    "source": None,
    "row_hash": None,
    "custom": {},
    "bant": {},
    "consent_email": False,
    "consent_sms": False,
    "basis_email": "none",
    "basis_sms": "none",
}


class SqlPrivacy:
    """Consent history, audit trail and erasure."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def add_consents(self, records: Sequence[ConsentRecord]) -> None:
        """Append to contacts' consent histories."""
        if records:
            self._db.execute(consent_history.insert(), [r.as_row() for r in records])

    def consents(self, contact_id: int) -> list[ConsentRecord]:
        """A contact's consent history, oldest first."""
        query = (
            sa.select(consent_history)
            .where(consent_history.c.contact_id == contact_id)
            .order_by(consent_history.c.recorded_at, consent_history.c.id)
        )
        return [ConsentRecord.from_row(row) for row in self._db.execute(query).mappings()]

    def audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append lines to the audit trail."""
        SqlAudit(self._db).add_many(entries)

    def audit_for(self, contact_id: int) -> list[AuditEntry]:
        """A contact's audit trail, oldest first."""
        return SqlAudit(self._db).for_contact(contact_id)

    def forgotten(self, candidates: Sequence[str]) -> dict[str, datetime]:
        """Which keyed hashes belong to a forgotten person → when."""
        wanted = sorted(set(candidates))
        found: dict[str, datetime] = {}
        for start in range(0, len(wanted), 500):
            query = sa.select(suppressions.c.address, suppressions.c.created_at).where(
                suppressions.c.reason == _FORGOTTEN,
                suppressions.c.address.in_(wanted[start : start + 500]),
            )
            found.update({row.address: row.created_at for row in self._db.execute(query)})
        return found

    def erase(self, contact_id: int, *, hashes: Sequence[tuple[str, str]], at: datetime) -> Erased:
        """Remove the personal data of a contact; keep counts, stages and scores."""
        db, erased = self._db, Erased()
        person = db.execute(
            sa.select(contacts.c.email, contacts.c.phone).where(contacts.c.id == contact_id)
        ).one()
        addresses = [a for a in (person.email, person.phone) if a]
        mine = sa.or_(
            events.c.contact_id == contact_id,
            events.c.touch_id.in_(
                sa.select(touches.c.id).where(touches.c.contact_id == contact_id)
            ),
            events.c.address.in_(addresses) if addresses else sa.false(),
        )
        erased.counts["events"] = db.execute(
            events.update().where(mine).values(payload={}, address=None, error=None)
        ).rowcount
        copies = db.execute(
            sa.select(touches.c.id, touches.c.channel).where(touches.c.contact_id == contact_id)
        ).all()
        erased.email_touches = [i for i, channel in copies if channel == "email"]
        erased.sms_touches = [i for i, channel in copies if channel == "sms"]
        erased.counts["touches"] = db.execute(
            touches.update()
            .where(touches.c.contact_id == contact_id)
            .values(address=None, subject=None)
        ).rowcount
        erased.counts["call_tasks"] = db.execute(
            call_tasks.update()
            .where(call_tasks.c.contact_id == contact_id)
            .values(title="call (person forgotten)", script="", context={}, note=None)
        ).rowcount
        if addresses:
            db.execute(suppressions.delete().where(suppressions.c.address.in_(addresses)))
        kept = SqlSuppressions(db)
        for channel, digest in hashes:
            kept.suppress(channel, digest, reason=_FORGOTTEN, at=at)
        db.execute(
            contacts.update()
            .where(contacts.c.id == contact_id)
            .values(**_PERSONAL, forgotten_at=at, updated_at=at)
        )
        return erased

    def expired(self, *, before: datetime, limit: int = 10_000) -> list[int]:
        """Contacts past retention (nothing from them since ``before``, nothing open)."""
        c = contacts.c
        # From the index on the idle date: most days nobody is that old, and then no
        # contact is read (the full query reads them all: 0.3 s over 1,000,000).
        if self._db.execute(sa.select(c.id).where(before > IDLE_SINCE).limit(1)).first() is None:
            return []
        running = sa.exists().where(
            enrollments.c.contact_id == c.id, enrollments.c.status.in_(("active", "paused"))
        )
        open_task = sa.exists().where(
            call_tasks.c.contact_id == c.id, call_tasks.c.status == "open"
        )
        query = (
            sa.select(c.id)
            .where(
                c.forgotten_at.is_(None),
                c.stage != "customer",
                before > IDLE_SINCE,
                ~running,
                ~open_task,
            )
            .order_by(c.id)
            .limit(limit)
        )
        return list(self._db.execute(query).scalars())

    def count_forgotten(self) -> int:
        """How many people were forgotten."""
        query = sa.select(sa.func.count()).where(contacts.c.forgotten_at.is_not(None))
        return int(self._db.execute(query).scalar_one())
