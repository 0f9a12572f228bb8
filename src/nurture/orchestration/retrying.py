"""Which task failures Prefect retries: a database that was briefly unavailable only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

__all__ = ["RETRYING"]


def _database_unavailable(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry only when the database was briefly unavailable (locked, connection lost)."""
    try:
        state.result()
    except OperationalError:
        return True
    except Exception:
        return False
    return False


#: Every task retries a database that was briefly unavailable, and nothing else.
RETRYING: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [1.0, 5.0, 15.0],
    "retry_condition_fn": _database_unavailable,
}
