"""``nurture preview``: every step of a sequence, rendered for one contact."""

from __future__ import annotations

from typing import Any

from nurture.domain.contacts import Contact
from nurture.domain.messages import RenderedCall, RenderedEmail, RenderedSms
from nurture.errors import TemplateError
from nurture.pipeline.rendering import Sender, render_step, touch_context
from nurture.specs.project import Project

__all__ = ["preview"]


def preview(
    *, project: Project, sender: Sender, contact: Contact, sequence_id: str
) -> dict[str, Any]:
    """Render every step for ``contact``; a broken template shows its error, not a crash."""
    sequence = project.sequence(sequence_id)
    steps = []
    for step in sequence.steps:
        asset = project.catalog.get(step.content) if step.content else None
        item: dict[str, Any] = {
            "step": step.id,
            "channel": step.channel.value,
            "template": step.carrier_template,
            "applies": step.applies_to(contact),
            "when": step.when,
        }
        if asset is not None:
            title = asset.title_in(contact.language)
            item["content"] = {"id": asset.id, "title": title, "url": asset.url}
        context = touch_context(
            contact=contact, sequence=sequence, step=step, sender=sender, touch_id=None, asset=asset
        )
        try:
            rendered = render_step(project.templates, step, contact=contact, context=context)
        except TemplateError as exc:
            item["error"] = str(exc)
        else:
            item.update(_rendered(rendered))
        steps.append(item)
    return {
        "sequence": sequence.id,
        "version": sequence.version,
        "contact": {"id": contact.id, "email": contact.email, "language": contact.language},
        "audience_refusal": sequence.audience.refusal(contact),
        "steps": steps,
    }


def _rendered(rendered: RenderedEmail | RenderedSms | RenderedCall) -> dict[str, Any]:
    if isinstance(rendered, RenderedEmail):
        return {
            "language": rendered.language,
            "subject": rendered.subject,
            "html": rendered.html,
            "text": rendered.text,
        }
    if isinstance(rendered, RenderedSms):
        return {
            "language": rendered.language,
            "text": rendered.text,
            "sms": {
                "encoding": rendered.encoding,
                "length": rendered.length,
                "segments": rendered.segments,
            },
        }
    return {"language": rendered.language, "script": rendered.script}
