"""``nurture send-test SEQUENCE STEP --to ADDRESS``: one step, rendered for a contact (a
sample one if none is given) and sent to the marketer's own address through the
configured driver, with ``[TEST]`` in front. Nothing is recorded: no touch, no journal,
no budget, no statistics."""

from __future__ import annotations

from typing import Any

from nurture.domain.contacts import Consent, Contact
from nurture.domain.messages import RenderedCall, RenderedEmail, RenderedSms
from nurture.errors import InputError, NotFound
from nurture.pipeline.delivery import Delivery
from nurture.pipeline.rendering import Sender, render_step, touch_context
from nurture.ports import OutgoingEmail, OutgoingSms
from nurture.specs.cells import normalise_email, normalise_phone
from nurture.specs.project import Project

__all__ = ["sample_contact", "send_test"]

_PREFIX = "[TEST] "


def sample_contact(language: str) -> Contact:
    """Who a test renders for when no contact is named: plausible, and no one real."""
    return Contact(
        email="camille.exemple@exemple.fr",
        first_name="Camille",
        last_name="Exemple",
        company="Exemple Industrie",
        role="Directrice des systèmes d'information",
        sector="industry",
        company_size=250,
        country="FR",
        timezone="Europe/Paris",
        language=language,
        owner="commercial@exemple.fr",
        consent=Consent(email=True, sms=True),
    )


def send_test(
    *,
    project: Project,
    sender: Sender,
    delivery: Delivery,
    contact: Contact,
    sequence_id: str,
    step_id: str,
    to: str,
    region: str = "FR",
) -> dict[str, Any]:
    """Render ``step_id`` of ``sequence_id`` for ``contact`` and send it to ``to``."""
    sequence = project.sequence(sequence_id)
    step = next((s for s in sequence.steps if s.id == step_id), None)
    if step is None:
        known = ", ".join(s.id for s in sequence.steps)
        raise NotFound(f"{sequence_id} has no step {step_id!r} (its steps: {known})")
    asset = project.catalog.get(step.content) if step.content else None
    context = touch_context(
        contact=contact, sequence=sequence, step=step, sender=sender, touch_id=None, asset=asset
    )
    rendered = render_step(project.templates, step, contact=contact, context=context)
    if isinstance(rendered, RenderedCall):
        raise InputError(f"{step_id} is a call step: nothing to send (`nurture preview` shows it)")
    if isinstance(rendered, RenderedEmail):
        return _email(
            rendered, sender, delivery, contact, to=to, unsubscribe_url=context["unsubscribe_url"]
        )
    assert isinstance(rendered, RenderedSms)
    return _sms(rendered, delivery, contact, to, region)


def _email(
    rendered: RenderedEmail,
    sender: Sender,
    delivery: Delivery,
    contact: Contact,
    *,
    to: str,
    unsubscribe_url: str,
) -> dict[str, Any]:
    try:
        address = normalise_email(to)
    except ValueError as exc:
        raise InputError(f"--to: {exc}") from exc
    email = OutgoingEmail(
        touch_id=0,
        contact_id=contact.id or 0,
        to=address,
        to_name=None,
        from_email=sender.email,
        from_name=sender.name,
        subject=_PREFIX + rendered.subject,
        html=rendered.html,
        text=rendered.text,
        unsubscribe_url=unsubscribe_url,
        reply_to=contact.owner,
        categories=("send-test",),
    )
    receipt = delivery.email.send(email)
    return _sent("email", address, email.subject, receipt.provider, receipt.message_id)


def _sms(
    rendered: RenderedSms, delivery: Delivery, contact: Contact, to: str, region: str
) -> dict[str, Any]:
    try:
        number = normalise_phone(to, region)
    except ValueError as exc:
        raise InputError(f"--to: {exc}") from exc
    sms = OutgoingSms(
        touch_id=0, contact_id=contact.id or 0, to=number, body=_PREFIX + rendered.text
    )
    receipt = delivery.sms.send(sms)
    return _sent("sms", number, None, receipt.provider, receipt.message_id)


def _sent(
    channel: str, to: str, subject: str | None, provider: str, message_id: str | None
) -> dict[str, Any]:
    return {
        "channel": channel,
        "to": to,
        "subject": subject,
        "provider": provider,
        "message_id": message_id,
    }
