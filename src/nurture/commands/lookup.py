"""Finding the contact a person names on the command line or in a request."""

from __future__ import annotations

from nurture.domain.contacts import Contact
from nurture.domain.privacy import forgotten_message
from nurture.domain.scoring import ScoredContact
from nurture.errors import NotFound
from nurture.ports import UnitOfWork

__all__ = ["contact_id", "find_contact", "living_contact", "require_contact"]


def find_contact(uow: UnitOfWork, ref: str) -> ScoredContact:
    """The contact ``ref`` names (id, email or external id) with its scoring state, or a
    :class:`NotFound` that says what may be given."""
    found = uow.contacts.find(ref)
    if found is None or found.contact.id is None:
        raise NotFound(f"no contact {ref!r} (give an id, an email or an external id)")
    return found


def require_contact(uow: UnitOfWork, ref: str) -> Contact:
    """The contact ``ref`` names, or a :class:`NotFound`."""
    return find_contact(uow, ref).contact


def contact_id(uow: UnitOfWork, ref: str) -> int:
    """The id of the contact ``ref`` names, or a :class:`NotFound`."""
    found = find_contact(uow, ref).contact.id
    assert found is not None  # find_contact refuses a contact without one
    return found


def living_contact(uow: UnitOfWork, ref: str) -> ScoredContact:
    """The contact ``ref`` names, unless it was forgotten: then a :class:`NotFound` that
    says when (nothing personal is left to show)."""
    found = find_contact(uow, ref)
    if found.contact.forgotten_at is not None:
        raise NotFound(forgotten_message(found.contact.id, found.contact.forgotten_at))
    return found
