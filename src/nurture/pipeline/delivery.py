"""Handing messages to providers: retries with backoff, pacing, bounded concurrency."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nurture.errors import TransientDeliveryError
from nurture.ports import EmailSender, SendReceipt, SmsSender

__all__ = ["Delivery", "RateLimiter", "RetryPolicy", "send_with_retries"]

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    attempts: int = 4
    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    #: Attempts across runs before a touch that keeps failing is marked failed.
    max_attempts_per_touch: int = 5

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): the provider's word when it
        gives one, else exponential backoff with jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap_seconds)
        backoff: float = self.base_seconds * (2.0 ** (attempt - 1))
        jitter: float = random.uniform(0.8, 1.2)
        return min(backoff * jitter, self.cap_seconds)


def send_with_retries(
    send: Callable[[], SendReceipt], *, policy: RetryPolicy, sleep: Sleep
) -> tuple[SendReceipt, int]:
    """Call ``send`` until it succeeds or fails for good; returns the receipt and how many
    transient failures it took. Only :class:`TransientDeliveryError` is retried."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return send(), attempt - 1
        except TransientDeliveryError as exc:
            if attempt == policy.attempts:
                raise
            sleep(policy.wait(attempt, exc.retry_after))
    raise AssertionError("unreachable")  # pragma: no cover


class RateLimiter:
    """A token bucket shared by the threads sending to one provider."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._rate = per_second
        self._capacity = max(1.0, per_second)
        self._tokens = self._capacity
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for one token."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self._rate
            self._sleep(wait)


@dataclass
class Delivery:
    """The channels of a run and how to pace them."""

    email: EmailSender
    sms: SmsSender
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = time.sleep
    concurrency: int = 16
    email_rate: RateLimiter | None = None
    sms_rate: RateLimiter | None = None
    status_callback_url: str | None = None
    unsubscribe_mailto: str | None = None
    #: A dry run hands emails to SendGrid in sandbox mode (checked, never delivered).
    sandbox: bool = False
    #: Channels whose driver writes local files (the outbox): sent in the batch's own
    #: thread. Threads overlap waits on a provider; a file write does not wait, and the
    #: sender threads only added interpreter hand-offs to it.
    inline: frozenset[str] = frozenset()
