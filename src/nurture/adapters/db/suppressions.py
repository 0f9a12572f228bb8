"""Suppressed addresses and numbers: nothing goes to them, on any sequence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from nurture.adapters.db.bulk import any_of
from nurture.adapters.db.tables import suppressions
from nurture.ports import Suppression

__all__ = ["SqlSuppressions"]

_CHUNK = 500


class SqlSuppressions:
    """The suppression list."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection

    def active(self, channel: str, addresses: Iterable[str | None]) -> dict[str, str]:
        """Suppressed ``addresses`` of ``channel`` (email or sms) → reason."""
        wanted = sorted({a for a in addresses if a})
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _CHUNK):
            query = sa.select(suppressions.c.address, suppressions.c.reason).where(
                suppressions.c.channel == channel,
                suppressions.c.active.is_(True),
                any_of(self._db, suppressions.c.address, wanted[start : start + _CHUNK]),
            )
            found.update({row.address: row.reason for row in self._db.execute(query)})
        return found

    def for_addresses(self, addresses: Iterable[str | None]) -> list[Suppression]:
        """Every suppression, active or lifted, of these addresses (any channel)."""
        wanted = sorted({a for a in addresses if a})
        if not wanted:
            return []
        c = suppressions.c
        query = sa.select(
            c.channel, c.address, c.active, c.reason, c.created_at, c.updated_at
        ).where(c.address.in_(wanted))
        return [Suppression(*row) for row in self._db.execute(query.order_by(c.id)).all()]

    def suppress(
        self, channel: str, address: str, *, reason: str, at: datetime, event_id: int | None = None
    ) -> bool:
        """Suppress ``address``; returns whether it was not suppressed before."""
        row = self._db.execute(
            sa.select(suppressions.c.id, suppressions.c.active).where(
                suppressions.c.channel == channel, suppressions.c.address == address
            )
        ).first()
        if row is None:
            self._db.execute(
                suppressions.insert().values(
                    channel=channel,
                    address=address,
                    active=True,
                    reason=reason,
                    event_id=event_id,
                    created_at=at,
                    updated_at=at,
                )
            )
            return True
        if row.active:
            return False
        self._db.execute(
            suppressions.update()
            .where(suppressions.c.id == row.id)
            .values(active=True, reason=reason, event_id=event_id, updated_at=at)
        )
        return True

    def lift(self, channel: str, address: str, *, at: datetime) -> bool:
        """Lift a suppression (an SMS START); returns whether one was active."""
        result = self._db.execute(
            suppressions.update()
            .where(
                suppressions.c.channel == channel,
                suppressions.c.address == address,
                suppressions.c.active.is_(True),
            )
            .values(active=False, updated_at=at)
        )
        return bool(result.rowcount)
