"""Emails that come back, as SendGrid Inbound Parse posts them: read into an
:class:`InboundMail`, whichever form the parse is set to.

- the parsed form: ``headers`` (the raw header block), ``from``, ``to``, ``cc``,
  ``subject``, ``text``, ``html``, ``envelope`` (JSON), ``charsets`` (JSON), attachments;
- the raw form ("POST the raw, full MIME message"): the whole message in ``email``.

The standard library's ``email`` package reads the MIME and the headers;
``mail-parser-reply`` (maintained, English and French quote headers and signatures) keeps
the person's own words. Anything unreadable raises :class:`PayloadError` with the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser, Parser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from mailparser_reply import EmailReplyParser

from nurture.errors import PayloadError

__all__ = ["InboundMail", "html_text", "parse_inbound", "reply_tokens", "strip_quotes"]

#: What a reply carries back of nurture's reply address: reply+<token>@…
_TOKEN = re.compile(r"\breply\+([0-9a-z]{1,13}-[a-z2-7]{16})@", re.IGNORECASE)
#: Where a forwarded or "original message" block starts (clients of both languages).
_FORWARDED = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|message transf[ée]r[ée]|original message|"
    r"message d'origine)\s*-{2,}|begin forwarded message:|"
    r"d[ée]but du message (?:r[ée])?exp[ée]di[ée]\s*:)",
    re.IGNORECASE | re.MULTILINE,
)
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
_MAX_TEXT_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class InboundMail:
    """One email that came back, as nurture needs it."""

    sender: str  # the From address, lower case
    sender_name: str
    recipients: tuple[str, ...]  # To, Cc and the envelope's recipients
    subject: str
    headers: dict[str, str]  # lower-case names, first value of each
    text: str  # the body as text (from the HTML part when there is no text part)
    message_id: str | None = None  # without angle brackets
    #: Message-IDs the mail answers (In-Reply-To, then References, newest first).
    answers: tuple[str, ...] = ()
    #: The ``message/delivery-status`` part of a ``multipart/report``, when there is one.
    report: str | None = None

    @property
    def key(self) -> str:
        """What identifies this message across deliveries: its Message-ID, else a digest
        of who sent what."""
        if self.message_id:
            return self.message_id[:200]
        digest = hashlib.sha256(
            "\n".join((self.sender, self.subject, self.text)).encode("utf-8", "replace")
        )
        return "sha256:" + digest.hexdigest()

    @property
    def own_words(self) -> str:
        """The reply without the quoted history and the signature."""
        return strip_quotes(self.text)


def parse_inbound(
    form: Mapping[str, str], *, attachments: Sequence[tuple[str, bytes]] = ()
) -> InboundMail:
    """The mail in an Inbound Parse post (its text fields, and its attachments as
    (content type, bytes)); :class:`PayloadError` naming the field when it is unreadable."""
    raw = form.get("email")
    if raw:
        mail = _from_raw(raw)
    else:
        mail = _from_parsed(form, attachments)
    envelope = _envelope(form.get("envelope"))
    if envelope:
        extra = tuple(a for a in envelope if a not in mail.recipients)
        mail = replace(mail, recipients=mail.recipients + extra)
    if not mail.sender:
        raise PayloadError("field 'from': no sender address")
    return mail


def reply_tokens(mail: InboundMail) -> list[str]:
    """The reply tokens in the mail's recipients, in order."""
    return [m.group(1).lower() for r in mail.recipients for m in [_TOKEN.search(r)] if m]


def strip_quotes(text: str) -> str:
    """A person's own words: the quoted history (English and French quote headers) and
    the signature removed."""
    if not text.strip():
        return ""
    forwarded = _FORWARDED.search(text)
    if forwarded is not None:
        text = text[: forwarded.start()]
    parsed = EmailReplyParser(languages=["en", "fr"]).read(text=text)
    first = parsed.replies[0].body if parsed.replies else text
    return (first or text).strip()


# -- the raw form -------------------------------------------------------------------------


def _from_raw(raw: str) -> InboundMail:
    try:
        message = Parser(policy=policy.default).parsestr(raw)
    except (ValueError, LookupError, UnicodeError) as exc:  # pragma: no cover - defensive
        raise PayloadError(f"field 'email': not a MIME message ({exc})") from exc
    if not message.keys():
        raise PayloadError("field 'email': no headers (not a MIME message)")
    assert isinstance(message, EmailMessage)
    text, report = _bodies(message)
    return _mail(message, text=text, report=report)


def _bodies(message: EmailMessage) -> tuple[str, str | None]:
    report = None
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            report = "\n".join(str(block) for block in part.get_payload())
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return "", report
    content = _content(body)
    if body.get_content_type() == "text/html":
        content = html_text(content)
    return content, report


def _content(part: Message) -> str:
    try:
        value = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True)
        value = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return str(value)[:_MAX_TEXT_CHARS]


# -- the parsed form ----------------------------------------------------------------------


def _from_parsed(form: Mapping[str, str], attachments: Sequence[tuple[str, bytes]]) -> InboundMail:
    header_block = form.get("headers", "")
    try:
        message = HeaderParser(policy=policy.default).parsestr(header_block)
    except (ValueError, LookupError, UnicodeError) as exc:  # pragma: no cover - defensive
        raise PayloadError(f"field 'headers': unreadable ({exc})") from exc
    overrides = {name: form[name] for name in ("from", "to", "cc", "subject") if form.get(name)}
    text = form.get("text") or html_text(form.get("html", ""))
    report = None
    for content_type, data in attachments:
        if content_type.split(";")[0].strip().lower() == "message/delivery-status":
            report = data.decode("utf-8", "replace")[:_MAX_TEXT_CHARS]
    if report is None and "multipart/report" in message.get("content-type", "").lower():
        report = text
    return _mail(message, text=text[:_MAX_TEXT_CHARS], report=report, overrides=overrides)


# -- common -------------------------------------------------------------------------------


def _mail(
    message: Message,
    *,
    text: str,
    report: str | None,
    overrides: Mapping[str, str] | None = None,
) -> InboundMail:
    overrides = overrides or {}
    headers: dict[str, str] = {}
    for name, value in message.items():
        headers.setdefault(name.lower(), str(value))
    name, address = parseaddr(overrides.get("from") or headers.get("from", ""))
    recipients = [
        a.lower()
        for field_name in ("to", "cc")
        for _, a in getaddresses([overrides.get(field_name) or headers.get(field_name, "")])
        if "@" in a
    ]
    answers = _ids(headers.get("in-reply-to", "")) + _ids(headers.get("references", ""))[::-1]
    own = _ids(headers.get("message-id", ""))
    return InboundMail(
        sender=address.lower() if "@" in address else "",
        sender_name=name,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=(overrides.get("subject") or headers.get("subject", "")).strip()[:998],
        headers=headers,
        text=text,
        message_id=own[0] if own else None,
        answers=tuple(dict.fromkeys(answers)),
        report=report,
    )


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)[:100]


def _envelope(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        data: Any = json.loads(value)
    except ValueError as exc:
        raise PayloadError("field 'envelope': not JSON") from exc
    if not isinstance(data, dict):
        raise PayloadError("field 'envelope': not a JSON object")
    to = data.get("to") or []
    if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
        raise PayloadError("field 'envelope': 'to' is not a list of addresses")
    return [a.lower() for a in to if "@" in a]


class _TextOf(HTMLParser):
    """The text of an HTML body: paragraphs and line breaks kept, quotes marked with ``>``
    so that the quote stripper finds them, scripts and styles dropped."""

    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in {"script", "style", "head"}:
            self.skip += 1
        if tag == "blockquote":
            self.quote += 1
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"}:
            self.skip = max(0, self.skip - 1)
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.quote:
            data = "\n".join("> " + line for line in data.splitlines())
        self.parts.append(data)


def html_text(html: str) -> str:
    """The text of an HTML body (the standard library's parser; no markup survives)."""
    if not html:
        return ""
    reader = _TextOf()
    reader.feed(html[: _MAX_TEXT_CHARS * 2])
    reader.close()
    joined = "".join(reader.parts).replace("\xa0", " ")
    lines = [line.strip() for line in joined.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip()
