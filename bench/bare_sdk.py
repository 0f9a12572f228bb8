"""The bare SDK loop: the same SendGrid SDK calls nurture makes (``SendGridAPIClient.send``
of the same ``Mail`` objects, 16 at a time), against the same stand-in, with nothing else
around them: no database, no rendering, no pacing, no claims. Its rate is what the SDK and
the stand-in allow on this machine; nurture's sending is measured against it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from nurture.adapters.email import SendGridEmail
from nurture.ports import OutgoingEmail

__all__ = ["bare_sdk_loop"]

_TEXT = "Bonjour Jeanne,\n\n" + "Voici le guide NIS2 que je vous avais promis. " * 30


def bare_sdk_loop(url: str, api_key: str, count: int, concurrency: int = 16) -> dict[str, float]:
    """Send ``count`` emails through the SDK; emails per second."""
    sender = SendGridEmail(api_key=api_key, host=url)
    mails = [
        sender.mail(
            OutgoingEmail(
                touch_id=i,
                contact_id=i,
                to=f"jeanne.martin{i}@client.example",
                to_name="Jeanne Martin",
                from_email="bonjour@vigie-cyber.example",
                from_name="Vigie Cyber",
                subject="Le guide NIS2",
                html=f"<p>{_TEXT}</p>",
                text=_TEXT,
                unsubscribe_url=f"https://x.example/u/{i}",
                categories=("cold-outbound", "email-1"),
            )
        )
        for i in range(1, count + 1)
    ]
    client = sender._client  # the SDK client itself: the calls nurture's adapter makes
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client.send, mails))
    seconds = time.perf_counter() - started
    return {
        "emails": count,
        "seconds": round(seconds, 2),
        "emails_per_s": round(count / seconds, 1),
    }
