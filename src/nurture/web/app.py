"""``nurture webhooks serve``: SendGrid and Twilio webhooks, inbound email
(``web/inbound.py``), one-click unsubscribe and tracked content links.

Every event is verified (SendGrid ECDSA signature within a replay window, Twilio HMAC),
stored once (deduplicated by provider event id) and then applied at once, so an opt-out
cancels what was scheduled for later today. A bad signature gets 403 and nothing is
stored; a body that cannot be read gets 400 with the reason.
"""

from __future__ import annotations

import contextlib
import gc
import html
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from nurture.adapters.db.turns import writer_turn
from nurture.bootstrap import App, bootstrap
from nurture.domain.events import EventType
from nurture.errors import NurtureError, PayloadError
from nurture.inbound import InboundEvent, sendgrid_events, twilio_inbound, twilio_status
from nurture.pipeline.ingest import ingest_events
from nurture.web.guards import BodyLimit, check_signature, load_key
from nurture.web.inbound import INBOUND_PATH, InboundRoute

__all__ = ["create_app", "from_environment"]

_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def from_environment() -> Starlette:
    """The server from the settings in the environment, the link secret checked: what
    ``nurture webhooks serve`` checks first, and each of its worker processes builds."""
    application = bootstrap()
    application.require_link_secret()
    server = create_app(application)
    _settle(application)
    return server


def _settle(app: App) -> None:
    """Read the project now and take what the server keeps for its life out of the
    garbage collector's full passes (``gc.freeze``). Under a load of event posts each
    full pass walked every module, table and rule again: 29 passes took 2.2 s of a
    15-second load, and the server applied 4,448 events/s against 5,589 once frozen.
    A project that does not load is reported by the requests that need it, as before."""
    with contextlib.suppress(NurtureError):
        _ = app.project
    gc.freeze()


def create_app(app: App) -> Starlette:
    """The webhook server for ``app``."""
    server, inbound = _Server(app), InboundRoute(app)
    return Starlette(
        middleware=[
            Middleware(
                BodyLimit,
                limit=app.limits.webhook_body_bytes,
                wider={INBOUND_PATH: app.limits.inbound_body_bytes},
            )
        ],
        routes=[
            Route("/webhooks/sendgrid", server.sendgrid, methods=["POST"]),
            Route(INBOUND_PATH, inbound.handle, methods=["POST"]),
            Route(INBOUND_PATH + "/{secret}", inbound.handle, methods=["POST"]),
            Route("/webhooks/twilio/status", server.twilio_status, methods=["POST"]),
            Route("/webhooks/twilio/inbound", server.twilio_inbound, methods=["POST"]),
            Route("/u/{token}", server.unsubscribe, methods=["GET", "POST"]),
            Route("/c/{token}", server.content, methods=["GET"]),
            Route("/healthz", server.health, methods=["GET"]),
        ],
    )


class _Server:
    def __init__(self, app: App) -> None:
        self.app = app
        settings = app.settings
        self.keys = app.link_keys
        self.account_sid = settings.sms.twilio_account_sid
        self.public_url = settings.webhooks.public_url.rstrip("/")
        self.max_age = settings.webhooks.sendgrid_webhook_max_age_seconds
        key = settings.webhooks.sendgrid_webhook_public_key
        self.sendgrid_key = load_key(key, "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY") if key else None
        token = settings.sms.twilio_auth_token
        self.twilio = RequestValidator(token.get_secret_value()) if token else None

    # -- storing and applying ---------------------------------------------------------

    def _ingest(self, events: list[InboundEvent], rejected: list[PayloadError]) -> dict[str, Any]:
        # Posts take turns on SQLite rather than sleep on a busy database (adapters/db/turns.py).
        with writer_turn(self.app.engine), self.app.uow() as uow:
            report = ingest_events(
                uow=uow, events=events, ctx=self.app.run_context(run_id=None), rejected=rejected
            )
        return report.as_dict()

    async def _store(
        self, events: list[InboundEvent], rejected: list[PayloadError] | None = None
    ) -> dict[str, Any]:
        return await run_in_threadpool(self._ingest, events, rejected or [])

    # -- SendGrid ---------------------------------------------------------------------

    async def sendgrid(self, request: Request) -> Response:
        body = await request.body()
        refusal = self._check_sendgrid(request, body)
        if refusal is not None:
            return PlainTextResponse(refusal, status_code=403)
        try:
            events, rejected = sendgrid_events(body, source="sendgrid webhook")
        except PayloadError as exc:
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        if len(events) + len(rejected) > self.app.limits.events_per_post:
            limit = self.app.limits.events_per_post
            return PlainTextResponse(f"more than {limit} events in one post", status_code=413)
        if rejected and not events:  # nothing readable at all: the sender must hear it
            reasons = "\n".join(str(error) for error in rejected[:20])
            return PlainTextResponse(f"bad request: {reasons}", status_code=400)
        # Every good event is stored and the bad ones quarantined: a 2xx tells SendGrid
        # not to retry a batch whose bad events would fail again the same way.
        return JSONResponse(await self._store(events, rejected))

    def _check_sendgrid(self, request: Request, body: bytes) -> str | None:
        if self.sendgrid_key is None:
            return "signature verification is not configured (NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY)"
        return check_signature(
            self.sendgrid_key, request, body, now=self.app.now(), max_age=self.max_age
        )

    # -- Twilio -----------------------------------------------------------------------

    async def _twilio_form(self, request: Request) -> tuple[dict[str, str] | None, Response | None]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if self.twilio is None:
            return None, PlainTextResponse(
                "Twilio signature verification is not configured", status_code=403
            )
        url = self.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self.twilio.validate(url, form, signature):
            return None, PlainTextResponse("signature does not match", status_code=403)
        if form.get("AccountSid") != self.account_sid:
            # A valid signature proves the auth token, not that the post is about this
            # account (a subaccount or a second project can share a token).
            return None, PlainTextResponse("AccountSid is not this account", status_code=403)
        return form, None

    async def twilio_status(self, request: Request) -> Response:
        form, refusal = await self._twilio_form(request)
        if refusal is not None or form is None:
            return refusal or PlainTextResponse("", status_code=400)
        return await self._twilio(form, twilio_status, empty=PlainTextResponse(""))

    async def twilio_inbound(self, request: Request) -> Response:
        form, refusal = await self._twilio_form(request)
        if refusal is not None or form is None:
            return refusal or PlainTextResponse("", status_code=400)
        twiml = Response(_EMPTY_TWIML, media_type="application/xml")
        return await self._twilio(form, twilio_inbound, empty=twiml)

    async def _twilio(
        self, form: dict[str, str], parse: Callable[..., list[InboundEvent]], *, empty: Response
    ) -> Response:
        try:
            events = parse(form, now=self.app.now())
        except PayloadError as exc:
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        if events:
            await self._store(events)
        return empty

    # -- links ------------------------------------------------------------------------

    async def unsubscribe(self, request: Request) -> Response:
        try:
            payload = self.keys.read(
                "unsubscribe", request.path_params["token"], today=self.app.now().date()
            )
        except PayloadError:
            return HTMLResponse(
                _page(
                    "Lien invalide / Invalid link", "Ce lien de désinscription n'est pas valide."
                ),
                400,
            )
        if request.method == "GET":
            return HTMLResponse(
                _page(
                    "Se désabonner / Unsubscribe",
                    "Confirmez pour ne plus recevoir nos e-mails. / Confirm to stop receiving our "
                    "emails.",
                    form='<form method="post"><input type="hidden" name="List-Unsubscribe" '
                    'value="One-Click"><button type="submit">Me désabonner / Unsubscribe'
                    "</button></form>",
                )
            )
        contact_id, touch_id = payload.get("c"), payload.get("t")
        event = InboundEvent(
            provider="nurture",
            provider_event_id=f"unsubscribe:{contact_id}:{touch_id}",
            type=EventType.UNSUBSCRIBE,
            occurred_at=self.app.now(),
            contact_id=contact_id,
            touch_id=touch_id,
            payload={
                "via": "one-click"
                if request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"
                )
                else "link"
            },
        )
        await self._store([event])
        return HTMLResponse(
            _page(
                "C'est fait / Done",
                "Vous ne recevrez plus nos e-mails. / You will not receive our emails any more.",
            )
        )

    async def content(self, request: Request) -> Response:
        try:
            payload = self.keys.read(
                "content", request.path_params["token"], today=self.app.now().date()
            )
        except PayloadError:
            return PlainTextResponse("invalid link", status_code=400)
        asset = self.app.project.catalog.get(str(payload.get("a")))
        if asset is None:
            return PlainTextResponse("this content is no longer available", status_code=404)
        contact_id, touch_id = payload.get("c"), payload.get("t")
        key = (
            f"content:{touch_id}:{asset.id}"
            if touch_id
            else (f"content:{contact_id}:{asset.id}:{int(time.time() // 86400)}")
        )
        event = InboundEvent(
            provider="nurture",
            provider_event_id=key,
            type=EventType.CONTENT_DOWNLOAD,
            occurred_at=self.app.now(),
            contact_id=contact_id,
            touch_id=touch_id,
            payload={"asset": asset.id, "title": asset.title_in(None)},
        )
        await self._store([event])
        return RedirectResponse(asset.url, status_code=302)

    async def health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def _page(title: str, message: str, *, form: str = "") -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
        "content='width=device-width'><title>" + html.escape(title) + "</title></head>"
        "<body style='font-family:sans-serif;max-width:32em;margin:4em auto'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{form}</body></html>"
    )
