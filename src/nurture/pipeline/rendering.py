"""What templates see, and rendering one step for one contact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nurture.domain.contacts import Contact
from nurture.domain.messages import RenderedCall, RenderedEmail, RenderedSms
from nurture.domain.sequences import Channel, Sequence, Step
from nurture.ports import Templates
from nurture.specs.catalog import Asset
from nurture.tokens import reply_token, sign_token

__all__ = ["Sender", "owner_view", "render_step", "touch_context"]

Rendered = RenderedEmail | RenderedSms | RenderedCall


@dataclass(frozen=True)
class Sender:
    """Who sends, and how links back to nurture are built."""

    name: str
    email: str
    public_url: str
    link_secret: str
    #: NURTURE_REPLY_DOMAIN: replies come back to reply+<token>@ this domain.
    reply_domain: str | None = None

    def unsubscribe_url(self, contact_id: int | None, touch_id: int | None) -> str:
        """One-click unsubscribe link (RFC 8058 POST target and confirmation page)."""
        token = sign_token(self.link_secret, "unsubscribe", {"c": contact_id, "t": touch_id})
        return f"{self.public_url.rstrip('/')}/u/{token}"

    def reply_address(self, touch_id: int) -> str | None:
        """Where a reply to this touch goes (``None``: to the owner, as written)."""
        if not self.reply_domain:
            return None
        return f"reply+{reply_token(self.link_secret, touch_id)}@{self.reply_domain}"

    def message_id(self, touch_id: int) -> str:
        """The Message-ID of the touch's email (without angle brackets): the same on every
        attempt, so a provider or a mailbox that sees it twice keeps one copy."""
        domain = self.reply_domain or self.email.rpartition("@")[2] or "nurture.invalid"
        return f"nurture.{reply_token(self.link_secret, touch_id)}@{domain}"

    def content_url(self, contact_id: int | None, touch_id: int | None, asset_id: str) -> str:
        """Tracked link to a content asset."""
        token = sign_token(
            self.link_secret, "content", {"c": contact_id, "t": touch_id, "a": asset_id}
        )
        return f"{self.public_url.rstrip('/')}/c/{token}"


def owner_view(owner: str | None) -> dict[str, str]:
    """The contact's owner (a rep's email) as templates see it."""
    if not owner:
        return {"email": "", "name": "", "first_name": ""}
    local = owner.split("@", 1)[0]
    words = [w.capitalize() for w in local.replace("_", ".").replace("-", ".").split(".") if w]
    return {"email": owner, "name": " ".join(words), "first_name": words[0] if words else ""}


def _contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "email": contact.email,
        "phone": contact.phone,
        "company": contact.company,
        "role": contact.role,
        "sector": contact.sector,
        "company_size": contact.company_size,
        "country": contact.country,
        "language": contact.language,
        "deal_value": contact.deal_value,
        "custom": dict(contact.custom),
        "stage": contact.stage.value,
        "score": contact.score,
        "temperature": contact.temperature.value,
        "bant": contact.bant.as_dict(),
    }


def touch_context(
    *,
    contact: Contact,
    sender: Sender,
    touch_id: int | None,
    sequence: Sequence | None = None,
    step: Step | None = None,
    asset: Asset | None = None,
) -> dict[str, Any]:
    """Everything a template may use (and nothing else: undefined names are errors)."""
    context: dict[str, Any] = {
        "contact": _contact_view(contact),
        "owner": owner_view(contact.owner),
        "sender": {"name": sender.name, "email": sender.email},
        "sequence": (
            {"id": sequence.id, "name": sequence.name, "version": sequence.version}
            if sequence
            else None
        ),
        "step": {"id": step.id, "channel": step.channel.value} if step else None,
        "unsubscribe_url": sender.unsubscribe_url(contact.id, touch_id),
        "content": None,
    }
    if asset is not None:
        context["content"] = {
            "id": asset.id,
            "title": asset.title_in(contact.language),
            "topic": asset.topic,
            "kind": asset.kind,
            "summary": asset.summary_in(contact.language),
            "url": sender.content_url(contact.id, touch_id, asset.id),
        }
    return context


def render_step(
    store: Templates, step: Step, *, contact: Contact, context: dict[str, Any]
) -> Rendered:
    """Render ``step`` for ``contact``; a :class:`TemplateError` fails this touch only."""
    name = step.carrier_template
    if step.channel == Channel.CALL:
        return store.render_call(name, language=contact.language, context=context)
    if step.sends_on == "sms":
        return store.render_sms(name, language=contact.language, context=context)
    return store.render_email(name, language=contact.language, context=context)
