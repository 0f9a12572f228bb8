"""What the stored records of the domain (touches, enrollments, events, call tasks) share:
built from a stored row by column name, or positionally from values selected in field
order, and given back as a mapping of column names."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Self

__all__ = ["Record", "field_names"]


_NAMES: dict[type[Any], tuple[str, ...]] = {}


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a record class, in constructor order: select columns in this order
    to build records positionally (``Touch(*row)``), with no lookup by name."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


class Record:
    """A mixin for the record dataclasses (their ``__post_init__`` turns stored strings
    into their enums)."""

    __slots__ = ()

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """The record a stored row (a mapping of column names) describes."""
        return cls(**{name: row[name] for name in field_names(cls) if name in row})

    def as_row(self, names: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The record as a mapping of column names: ``names``, or every field but the id."""
        wanted = names or tuple(n for n in field_names(type(self)) if n != "id")
        return {name: getattr(self, name) for name in wanted}
