"""Who may join a sequence."""

from __future__ import annotations

from nurture.domain.contacts import Contact
from nurture.domain.sequences import Sequence

__all__ = ["enrollment_refusal"]


def enrollment_refusal(
    sequence: Sequence,
    contact: Contact,
    *,
    already_enrolled: bool,
    email_suppressed: str | None,
) -> str | None:
    """Why ``contact`` cannot join ``sequence`` now, or ``None`` when it can.

    ``email_suppressed`` is the reason the contact's address is suppressed (unsubscribe,
    bounce, spam report), if it is: such a contact is never enrolled again.
    """
    if already_enrolled:
        return f"already enrolled in {sequence.id}"
    if email_suppressed:
        return f"suppressed ({email_suppressed})"
    return sequence.audience.refusal(contact)
