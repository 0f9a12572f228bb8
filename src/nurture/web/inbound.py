"""``POST /webhooks/sendgrid/inbound``: emails that come back, from SendGrid Inbound
Parse (parsed or raw form).

Authenticity: the ECDSA signature of Inbound Parse's security policy when
NURTURE_SENDGRID_INBOUND_PUBLIC_KEY is set; otherwise NURTURE_INBOUND_SECRET, given as
the basic-auth password (``https://nurture:SECRET@host/webhooks/sendgrid/inbound``) or as
the last path segment (``/webhooks/sendgrid/inbound/SECRET``); with neither, every post is
refused. A body over NURTURE_MAX_INBOUND_BODY_BYTES gets 413, an unreadable one 400 and
nothing is stored. The same message delivered twice (same Message-ID) is applied once.
"""

from __future__ import annotations

import hmac
import logging

from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from nurture.bootstrap import App
from nurture.errors import NurtureError, PayloadError
from nurture.inbound_mail import InboundMail, parse_inbound
from nurture.pipeline.replies import MailOutcome, receive_mail
from nurture.ports import OutgoingEmail
from nurture.web.guards import basic_password, check_signature, load_key

__all__ = ["INBOUND_PATH", "InboundRoute"]

INBOUND_PATH = "/webhooks/sendgrid/inbound"
#: A form field of an inbound email (the raw MIME message in ``email`` included).
_PART_BYTES = 30_000_000
_log = logging.getLogger(__name__)


class InboundRoute:
    """The inbound email endpoint of one app."""

    def __init__(self, app: App) -> None:
        self.app = app
        hooks = app.settings.webhooks
        key = hooks.sendgrid_inbound_public_key
        self.key = load_key(key, "NURTURE_SENDGRID_INBOUND_PUBLIC_KEY") if key else None
        self.max_age = hooks.sendgrid_webhook_max_age_seconds
        self.secret = hooks.inbound_secret.get_secret_value() if hooks.inbound_secret else None
        self.policy = app.reply_policy

    async def handle(self, request: Request) -> Response:
        """Check, read, match, classify and act on one post."""
        body = await request.body()
        refusal = self._check(request, body)
        if refusal is not None:
            return refusal
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return PlainTextResponse("bad request: expected multipart/form-data", 400)
        try:
            form, attachments = await _inbound_form(request)
            mail = parse_inbound(form, attachments=attachments)
        except PayloadError as exc:
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        except (ValueError, KeyError, MultiPartException) as exc:
            return PlainTextResponse(f"bad request: unreadable form ({exc})", status_code=400)
        outcome = await run_in_threadpool(self._receive, mail)
        if outcome.forward is not None:
            await run_in_threadpool(self._forward, outcome.forward)
        return JSONResponse(outcome.as_dict())

    def _check(self, request: Request, body: bytes) -> Response | None:
        """A signed post when the security policy's key is set; else the shared secret
        as the basic-auth password or the last path segment; else nothing is accepted."""
        if self.key is not None:
            refusal = check_signature(
                self.key, request, body, now=self.app.now(), max_age=self.max_age
            )
            return PlainTextResponse(refusal, status_code=403) if refusal else None
        if self.secret is None:
            return PlainTextResponse(
                "inbound email is not configured (NURTURE_SENDGRID_INBOUND_PUBLIC_KEY or "
                "NURTURE_INBOUND_SECRET)",
                status_code=403,
            )
        given = request.path_params.get("secret") or basic_password(request)
        if given is None:
            return PlainTextResponse(
                "credentials required",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="nurture inbound"'},
            )
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return PlainTextResponse("credentials do not match", status_code=403)
        return None

    def _receive(self, mail: InboundMail) -> MailOutcome:
        with self.app.uow() as uow:
            return receive_mail(uow=uow, mail=mail, ctx=self.app.run_context(), policy=self.policy)

    def _forward(self, email: OutgoingEmail) -> None:
        try:
            self.app.delivery.email.send(email)
        except NurtureError as exc:  # the reply is stored and acted on; only the copy failed
            _log.warning("forwarding a reply to its owner failed: %s", exc)


async def _inbound_form(request: Request) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """The text fields of an Inbound Parse post, and its delivery-status attachments."""
    fields: dict[str, str] = {}
    attachments: list[tuple[str, bytes]] = []
    async with request.form(max_files=100, max_fields=200, max_part_size=_PART_BYTES) as form:
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(name, value)
            elif (value.content_type or "").startswith("message/delivery-status"):
                attachments.append((value.content_type or "", await value.read(_PART_BYTES)))
    return fields, attachments
