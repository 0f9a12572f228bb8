"""Local stand-ins for SendGrid and Twilio: real HTTP on loopback, for tests and the demo.

They record every request, can answer success, 429 (with ``Retry-After`` or
``X-RateLimit-Reset``), 5xx, 4xx and slow responses on demand, and can call nurture's
webhook server back with events signed the way the real services sign them.
"""

from nurture.standins.sendgrid import SendGridStandIn
from nurture.standins.server import RunningServer, serve
from nurture.standins.twilio import TwilioStandIn

__all__ = ["RunningServer", "SendGridStandIn", "TwilioStandIn", "serve"]
