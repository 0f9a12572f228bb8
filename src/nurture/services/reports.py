"""Reports: the funnel by stage and temperature, and more as the product grows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nurture.adapters.db.tables import contacts
from nurture.domain.contacts import Stage, Temperature

__all__ = ["funnel"]


def funnel(connection: sa.Connection) -> dict[str, Any]:
    """Contacts by stage × temperature, every cell present (zeros included)."""
    counts = {(stage.value, temperature.value): 0 for stage in Stage for temperature in Temperature}
    query = sa.select(contacts.c.stage, contacts.c.temperature, sa.func.count()).group_by(
        contacts.c.stage, contacts.c.temperature
    )
    for stage, temperature, count in connection.execute(query):
        counts[(stage, temperature)] = int(count)
    rows = [
        {
            "stage": stage.value,
            **{t.value: counts[(stage.value, t.value)] for t in Temperature},
            "total": sum(counts[(stage.value, t.value)] for t in Temperature),
        }
        for stage in Stage
    ]
    return {"rows": rows, "total": sum(row["total"] for row in rows)}
