"""What an imported row changes in a contact's lawful basis and BANT: the lines of its
consent history and of its audit trail."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, time
from typing import Any

from nurture.domain.privacy import CHANNELS, ConsentRecord
from nurture.specs.contact_rows import ContactRow

__all__ = ["bant_changes", "consent_changes"]


def consent_changes(
    row: ContactRow,
    before: Mapping[str, Any],
    record: Mapping[str, Any],
    *,
    contact_id: int,
    where: str,
    now: datetime,
) -> Iterator[ConsentRecord]:
    """A history line for each channel whose basis the row states for a new contact, or
    changes for a stored one. Its source is the row's ``source`` cell, else the file and
    row; its date the row's ``*_date``. A new contact's default basis (nothing in the
    cell) is not a line: the contact's basis and source say it."""
    for channel in CHANNELS:
        after = record.get(f"basis_{channel}")
        was = before.get(f"basis_{channel}")
        stated = row.values.get(f"basis_{channel}") is not None
        if not after or after == was or (was is None and not stated):
            continue
        given = row.consent_dates.get(channel)
        yield ConsentRecord(
            contact_id=contact_id,
            channel=channel,
            basis=after,
            source=(row.values.get("source") or where)[:200],
            given_at=datetime.combine(given, time(12), tzinfo=UTC) if given else now,
            recorded_at=now,
        )


def bant_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The BANT facts whose value changed (names only: the values stay on the contact)."""
    return sorted(fact for fact in {*before, *after} if before.get(fact) != after.get(fact))
