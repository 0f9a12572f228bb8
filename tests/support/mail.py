"""Emails that come back, written as real mail clients and servers write them, and
posted as SendGrid Inbound Parse posts them (parsed form, or raw MIME)."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime

__all__ = ["parsed", "raw"]


def _bare(address: str) -> str:
    return address.rsplit("<", maxsplit=1)[-1].strip(">")


def _header_block(
    *,
    sender: str,
    to: str,
    subject: str,
    at: datetime,
    message_id: str,
    in_reply_to: str | None = None,
    extra: dict[str, str] | None = None,
    content_type: str = 'multipart/alternative; boundary="000000000000b1c2"',
) -> str:
    lines = [
        "Received: by mx.sendgrid.net with SMTP id abc123 for <"
        + to.rsplit("<", maxsplit=1)[-1].strip(">")
        + ">",
        "DKIM-Signature: v=1; a=rsa-sha256; d=acme.fr; s=google; b=abc",
        "MIME-Version: 1.0",
        f"From: {sender}",
        f"Date: {format_datetime(at)}",
        f"Message-ID: <{message_id}>",
        f"Subject: {subject}",
        f"To: {to}",
        f"Content-Type: {content_type}",
    ]
    if in_reply_to:
        lines += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    for name, value in (extra or {}).items():
        lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


def parsed(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    at: datetime,
    message_id: str,
    html: str | None = None,
    in_reply_to: str | None = None,
    extra_headers: dict[str, str] | None = None,
    cc: str | None = None,
    content_type: str = 'multipart/alternative; boundary="000000000000b1c2"',
) -> dict[str, str]:
    """The fields of a parsed-form Inbound Parse post."""
    address = to.rsplit("<", maxsplit=1)[-1].strip(">")
    fields = {
        "headers": _header_block(
            sender=sender,
            to=to,
            subject=subject,
            at=at,
            message_id=message_id,
            in_reply_to=in_reply_to,
            extra=extra_headers,
            content_type=content_type,
        ),
        "dkim": "{@acme.fr : pass}",
        "to": to,
        "from": sender,
        "subject": subject,
        "sender_ip": "209.85.220.41",
        "spam_report": "Spam detection software, running on the system...",
        "envelope": json.dumps(
            {"to": [address], "from": sender.rsplit("<", maxsplit=1)[-1].strip(">")}
        ),
        "attachments": "0",
        "spam_score": "0.1",
        "charsets": json.dumps(
            {"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}
        ),
        "SPF": "pass",
        "text": text,
    }
    if html is not None:
        fields["html"] = html
        fields["charsets"] = json.dumps({"to": "UTF-8", "html": "UTF-8", "text": "UTF-8"})
    if cc:
        fields["cc"] = cc
    return fields


def raw(mime: str, *, envelope_to: str, envelope_from: str) -> dict[str, str]:
    """The fields of a raw-form Inbound Parse post ("POST the raw, full MIME message")."""
    return {
        "email": mime,
        "to": envelope_to,
        "from": envelope_from,
        "envelope": json.dumps({"to": [envelope_to], "from": envelope_from}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8"}),
        "dkim": "none",
        "SPF": "neutral",
        "sender_ip": "192.0.2.10",
        "spam_score": "0.0",
    }
