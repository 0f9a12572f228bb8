"""Every size, depth and duration nurture accepts from outside, named in one place.

Each limit is a setting (``NURTURE_MAX_…``, see :class:`nurture.settings.LimitSettings`)
with the default below; crossing one is a clear error that names the limit and the
setting that raises it, never a crash, a hang or a memory blow-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from nurture.errors import InputError, Location

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_DB_ID",
    "MAX_YEAR",
    "MIN_YEAR",
    "Limits",
    "active",
    "check_moment",
    "db_id",
    "install",
]

#: The largest id a database column holds (a signed 64-bit integer).
MAX_DB_ID = 2**63 - 1
#: Dates outside these years are refused at the edge: they are typos or attacks, and
#: some of them cannot be stored or computed with (year 9999 + a gap overflows).
MIN_YEAR = 1900
MAX_YEAR = 2200


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits in force; built from settings by ``bootstrap``."""

    #: A sequence, scoring or catalog YAML file, in bytes.
    yaml_bytes: int = 1_000_000
    #: Anchors and aliases in one YAML file (an alias bomb expands them exponentially).
    yaml_aliases: int = 100
    #: A rendered template, in characters.
    template_output_chars: int = 500_000
    #: How long one template render may run, in seconds.
    template_seconds: float = 2.0
    #: The longest string or list a template or an expression may build by repetition
    #: (``'a' * n``, ``[x] * n``, ``range(n)``, ``lipsum(n)``).
    repeat_items: int = 100_000
    #: A ``when`` or ``--where`` expression, in characters.
    expression_chars: int = 2_000
    #: Nesting depth of an expression (``not not not …``, ``((((…))))``).
    expression_depth: int = 40
    #: A webhook request body, in bytes.
    webhook_body_bytes: int = 5_000_000
    #: An inbound email post (SendGrid Inbound Parse takes messages up to 30 MB).
    inbound_body_bytes: int = 30_000_000
    #: Events in one webhook post or event file line batch.
    events_per_post: int = 10_000
    #: One CSV cell, in characters.
    csv_cell_chars: int = 10_000


DEFAULT_LIMITS = Limits()
_active = [DEFAULT_LIMITS]


def install(limits: Limits) -> None:
    """Make ``limits`` the ones in force in this process (``bootstrap`` does it once from
    the settings). Parsers deep inside validation (expressions in YAML files, the
    template sandbox) read them through :func:`active` rather than through every
    signature on the way."""
    _active[0] = limits


def active() -> Limits:
    """The limits in force."""
    return _active[0]


def db_id(value: object) -> int | None:
    """``value`` as a database id, or ``None`` when it is not one (empty, not a whole
    number, out of range): an id nobody could have issued names nothing."""
    if value is None or isinstance(value, bool | float):
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdecimal():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_DB_ID else None


def check_moment(moment: datetime, where: Location, *, what: str = "date") -> datetime:
    """``moment`` (made aware, UTC when naive) if its year is within the accepted range."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InputError(
            f"{what} {moment.date().isoformat()} is outside the years {MIN_YEAR}-{MAX_YEAR}",
            where,
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
