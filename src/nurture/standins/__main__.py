"""``python -m nurture.standins``: serve the stand-ins in their own process.

Prints one JSON line (their URLs and credentials) once both accept requests, then serves
until interrupted. Records are counted at ``GET /_standin/stats`` on each server.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nurture.standins.sendgrid import SendGridStandIn
from nurture.standins.server import serve
from nurture.standins.twilio import TwilioStandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sendgrid-port", type=int, default=0)
    parser.add_argument("--twilio-port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to each answer")
    args = parser.parse_args()
    sendgrid, twilio = SendGridStandIn(), TwilioStandIn()
    sendgrid.behaviour.delay = twilio.behaviour.delay = args.delay

    async def sendgrid_stats(_request: Request) -> JSONResponse:
        return JSONResponse({"sent": len(sendgrid.sent), "touches": len(sendgrid.by_touch())})

    async def twilio_stats(_request: Request) -> JSONResponse:
        return JSONResponse({"sent": len(twilio.sent)})

    sendgrid.app.router.routes.append(Route("/_standin/stats", sendgrid_stats))
    twilio.app.router.routes.append(Route("/_standin/stats", twilio_stats))
    with (
        serve(sendgrid.app, port=args.sendgrid_port) as sg,
        serve(twilio.app, port=args.twilio_port) as tw,
    ):
        sys.stdout.write(
            json.dumps(
                {
                    "sendgrid_url": sg.url,
                    "sendgrid_api_key": sendgrid.api_key,
                    "sendgrid_public_key": sendgrid.public_key,
                    "twilio_url": tw.url,
                    "twilio_account_sid": twilio.account_sid,
                    "twilio_auth_token": twilio.auth_token,
                }
            )
            + "\n"
        )
        sys.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()


if __name__ == "__main__":
    main()
