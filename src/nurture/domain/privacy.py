"""Privacy rules: the lawful basis of each channel, erasure keys and retention.

The defaults follow the CNIL's practice for B2B prospecting: an email to a professional
address may rest on legitimate interest when it relates to the person's job (every
message carries an opt-out); a private address and any SMS need recorded consent.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from dateutil.relativedelta import relativedelta

from nurture.domain.accounts import FREE_MAIL_DOMAINS
from nurture.domain.records import Record

__all__ = [
    "BASIS_WORDS",
    "CHANNELS",
    "Basis",
    "Channel",
    "ConsentRecord",
    "EmailPolicy",
    "ErasureKeys",
    "default_basis",
    "forgotten_message",
    "is_professional",
    "no_basis_reason",
    "parse_basis",
    "retention_cutoff",
]

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
#: Who may be emailed on legitimate interest: professional addresses only (the CNIL's
#: B2B practice), any address, or nobody (consent for everyone).
EmailPolicy = Literal["professional", "any", "never"]


class Basis(StrEnum):
    """Why a channel may be used for a contact, or that it may not."""

    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    NONE = "none"  # nothing recorded: the channel stays silent
    WITHDRAWN = "withdrawn"  # the person said no

    @property
    def allows(self) -> bool:
        """Whether messages may go out on this basis."""
        return self in (Basis.CONSENT, Basis.LEGITIMATE_INTEREST)


#: What a CSV cell may say, in English and French.
BASIS_WORDS: dict[str, Basis] = {
    **dict.fromkeys(
        ("yes", "y", "true", "1", "oui", "o", "vrai", "x", "consent", "opt-in", "optin"),
        Basis.CONSENT,
    ),
    **dict.fromkeys(
        ("legitimate_interest", "legitimate interest", "li"), Basis.LEGITIMATE_INTEREST
    ),
    **dict.fromkeys(("no", "n", "false", "0", "non", "faux", "none", ""), Basis.NONE),
    **dict.fromkeys(("withdrawn", "opt-out", "optout", "retiré"), Basis.WITHDRAWN),
}


def parse_basis(raw: str, channel: Channel) -> Basis:
    """The basis a CSV cell gives ``channel``; a word nurture does not know, or legitimate
    interest for SMS, is a :class:`ValueError` naming the column."""
    column = f"consent_{channel}"
    basis = BASIS_WORDS.get(raw.strip().lower())
    if basis is None:
        raise ValueError(f"{column} {raw!r} is not one of yes, no, legitimate_interest, withdrawn")
    if channel == "sms" and basis is Basis.LEGITIMATE_INTEREST:
        raise ValueError(
            f"{column} {raw!r}: an SMS needs recorded consent (yes), not legitimate interest"
        )
    return basis


def is_professional(email: str | None) -> bool:
    """Whether ``email`` is at a company's domain (not a free-mail or ISP one)."""
    if not email or "@" not in email:
        return False
    return email.rsplit("@", 1)[1].lower() not in FREE_MAIL_DOMAINS


def default_basis(channel: Channel, email: str | None, policy: EmailPolicy) -> Basis:
    """The basis of a channel nothing was recorded for."""
    if channel == "sms" or policy == "never":
        return Basis.NONE
    if policy == "any" or is_professional(email):
        return Basis.LEGITIMATE_INTEREST
    return Basis.NONE


def no_basis_reason(channel: Channel, basis: Basis | None, email: str | None) -> str:
    """Why a touch on ``channel`` was skipped: the run summary counts the part before the
    colon."""
    label = "SMS" if channel == "sms" else "email"
    if basis is Basis.WITHDRAWN:
        detail = "consent withdrawn"
    elif channel == "sms":
        detail = "an SMS needs recorded consent"
    elif email and not is_professional(email):
        detail = "a private address needs recorded consent"
    else:
        detail = "no consent or legitimate interest recorded"
    return f"no lawful basis for {label}: {detail}"


@dataclass(slots=True)
class ConsentRecord(Record):
    """One line of a contact's consent history."""

    contact_id: int
    channel: str
    basis: str
    source: str
    given_at: datetime
    recorded_at: datetime
    id: int = 0


#: The kinds of value a forgotten person leaves a hash of → the suppression channel it
#: is stored under.
_CHANNEL_OF = {"email": "email", "phone": "sms", "crm": "crm"}


class ErasureKeys:
    """Keyed hashes of a forgotten person's email, phone and CRM id: stored on the
    suppression list, they refuse the person's return without keeping who they were.

    ``key`` is the current secret; ``older`` are secrets it replaced, still checked so
    that a rotation never lets a forgotten person back in."""

    PREFIX = "hmac:"

    def __init__(self, key: str, *older: str) -> None:
        self._keys = [k.encode() for k in (key, *older) if k]

    def digest(self, kind: str, value: str) -> str:
        """The stored form of ``value`` (an email, phone or external id) under the key."""
        return self._digest(self._keys[0], kind, value)

    def candidates(self, kind: str, value: str | None) -> list[str]:
        """Every stored form ``value`` may have (one per key)."""
        if not value:
            return []
        return [self._digest(key, kind, value) for key in self._keys]

    def of_person(
        self, *, email: str | None, phone: str | None, external_id: str | None
    ) -> list[tuple[str, str]]:
        """(suppression channel, stored form) of what identifies a person, under the
        current key: what forgetting them writes."""
        given = zip(_CHANNEL_OF, (email, phone, external_id), strict=True)
        return [(_CHANNEL_OF[kind], self.digest(kind, value)) for kind, value in given if value]

    def person_candidates(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        external_id: str | None = None,
    ) -> list[str]:
        """Every stored form a person's email, phone or external id may have: what a
        later import or event is checked against."""
        given = zip(_CHANNEL_OF, (email, phone, external_id), strict=True)
        return [digest for kind, value in given for digest in self.candidates(kind, value)]

    def _digest(self, key: bytes, kind: str, value: str) -> str:
        message = f"{kind}:{value.strip().lower()}".encode()
        return self.PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def forgotten_message(contact_id: int | None, at: datetime | None) -> str:
    """What to say when someone asks about a person who was forgotten."""
    when = at.date().isoformat() if at else "an earlier day"
    return (
        f"contact {contact_id} was forgotten on {when}: nothing personal is held any more "
        f"(nurture contact show {contact_id} --audit says when, by whom and why)"
    )


def retention_cutoff(now: datetime, months: int) -> datetime | None:
    """Contacts with no interaction since this moment are kept no longer (``None``: the
    rule is off)."""
    if months <= 0:
        return None
    cutoff: datetime = now - relativedelta(months=months)
    return cutoff
