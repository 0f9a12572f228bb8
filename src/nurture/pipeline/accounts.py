"""Accounts: when one person of a company answers, their colleagues' sequences stop."""

from __future__ import annotations

from nurture.domain.accounts import account_key
from nurture.domain.contacts import Contact
from nurture.domain.sequences import ExitReason
from nurture.pipeline.lifecycle import RunContext, exit_enrollments
from nurture.ports import UnitOfWork

__all__ = ["stop_account"]

#: What one person's answer means for their colleagues' enrollments.
_ACCOUNT_EXITS = {
    "replied": (ExitReason.ACCOUNT_REPLIED, "replied"),
    "meeting_booked": (ExitReason.ACCOUNT_MEETING_BOOKED, "booked a meeting"),
}


def stop_account(*, uow: UnitOfWork, contact: Contact, reason: str, ctx: RunContext) -> int:
    """When ``contact`` replied or booked a meeting, the other contacts of the same
    account leave the sequences that exit on ``account_replied`` or
    ``account_meeting_booked``, with the reason naming who answered. Returns how many
    enrollments ended."""
    account = account_key(contact.account_id, contact.email)
    if reason not in _ACCOUNT_EXITS or account is None:
        return 0
    exit_reason, verb = _ACCOUNT_EXITS[reason]
    # Ids only: the journal and the audit trail outlive an erasure.
    who = f"contact {contact.id} of the same account"
    ended = 0
    for colleague in uow.contacts.in_account(account):
        if colleague.id == contact.id:
            continue
        ended += len(
            exit_enrollments(
                uow=uow, contact=colleague, reason=exit_reason, ctx=ctx, detail=f"{who} {verb}"
            )
        )
    return ended
