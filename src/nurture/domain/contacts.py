"""Contacts and the words the sales practice uses about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "BANT_FACTS",
    "CONTACT_ATTRIBUTES",
    "CONTACT_FIELDS",
    "Bant",
    "Consent",
    "Contact",
    "DealBand",
    "Stage",
    "Temperature",
]


class Stage(StrEnum):
    """Where a contact stands in the lifecycle."""

    CONTACT = "contact"
    LEAD = "lead"
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    DISQUALIFIED = "disqualified"
    RECYCLED = "recycled"


class Temperature(StrEnum):
    """How ready a contact is, read off the score."""

    COLD = "cold"
    WARM = "warm"
    HOT = "hot"

    @property
    def rank(self) -> int:
        """0 for cold, 1 for warm, 2 for hot."""
        return _TEMPERATURE_RANK[self]


_TEMPERATURE_RANK = {Temperature.COLD: 0, Temperature.WARM: 1, Temperature.HOT: 2}


class DealBand(StrEnum):
    """The size of the ticket, read off the estimated deal value."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def rank(self) -> int:
        """0 for small, 1 for medium, 2 for large."""
        return _BAND_RANK[self]


_BAND_RANK = {DealBand.SMALL: 0, DealBand.MEDIUM: 1, DealBand.LARGE: 2}

BANT_FACTS = ("budget", "authority", "need", "timing")


@dataclass(slots=True)
class Bant:
    """Explicit qualification facts; a fact is known when it has a value."""

    budget: str | None = None
    authority: str | None = None
    need: str | None = None
    timing: str | None = None

    def known(self, fact: str) -> bool:
        """Whether ``fact`` (budget, authority, need or timing) has been recorded."""
        if fact not in BANT_FACTS:
            raise ValueError(f"unknown BANT fact {fact!r} (known: {', '.join(BANT_FACTS)})")
        value = getattr(self, fact)
        return value is not None and str(value).strip() != ""

    def missing(self, facts: tuple[str, ...] | list[str]) -> list[str]:
        """The facts among ``facts`` that are not known yet."""
        return [fact for fact in facts if not self.known(fact)]

    def as_dict(self) -> dict[str, str | None]:
        """The four facts as a plain mapping."""
        return {fact: getattr(self, fact) for fact in BANT_FACTS}

    def merged(self, facts: dict[str, str | None]) -> Bant:
        """A copy with ``facts`` recorded over the current ones (empty values are ignored)."""
        values = self.as_dict()
        for fact, value in facts.items():
            if fact not in BANT_FACTS:
                raise ValueError(f"unknown BANT fact {fact!r} (known: {', '.join(BANT_FACTS)})")
            if value is not None and str(value).strip():
                values[fact] = str(value).strip()
        return Bant(**values)


@dataclass(slots=True)
class Consent:
    """Whether each channel may be used, and on what lawful basis
    (:class:`nurture.domain.privacy.Basis`): B2B email to a professional address rests on
    legitimate interest; SMS needs recorded consent."""

    email: bool = True
    sms: bool = False
    email_basis: str = "legitimate_interest"
    sms_basis: str = "none"


@dataclass(slots=True)
class Contact:
    """Anyone in the base."""

    id: int | None = None
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    #: The company's id in the CRM: colleagues share it (else their email domain does).
    account_id: str | None = None
    role: str | None = None
    sector: str | None = None
    company_size: int | None = None
    country: str | None = None
    timezone: str | None = None
    language: str | None = None
    owner: str | None = None
    deal_value: float | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    consent: Consent = field(default_factory=Consent)
    bant: Bant = field(default_factory=Bant)
    stage: Stage = Stage.CONTACT
    score: int = 0
    fit: float = 0.0
    interest: float = 0.0
    temperature: Temperature = Temperature.COLD
    deal_band: DealBand = DealBand.SMALL
    last_interest_at: datetime | None = None
    #: Where the record came from (an import file, a form, an event).
    source: str | None = None
    #: When the person was forgotten (erasure): nothing personal is left.
    forgotten_at: datetime | None = None

    @property
    def full_name(self) -> str:
        """First and last name, or the email when both are missing."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or (self.email or "")


#: What a contact *is*: the attributes a person gives (a CSV import, a CRM), in the order
#: they are shown. Every other list of contact attributes is built from this one.
CONTACT_ATTRIBUTES: tuple[str, ...] = (
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "account_id",
    "role",
    "sector",
    "company_size",
    "country",
    "timezone",
    "language",
    "owner",
    "deal_value",
)

#: What an expression may read of a contact: its attributes and what nurture computed.
CONTACT_FIELDS = frozenset(
    {
        "id",
        *CONTACT_ATTRIBUTES,
        "full_name",
        "custom",
        "consent",
        "bant",
        "stage",
        "score",
        "fit",
        "interest",
        "temperature",
        "deal_band",
    }
)
