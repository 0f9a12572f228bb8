"""What a stand-in answers next: success, errors, rate limits, slowness."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

__all__ = ["Behaviour", "Planned"]


@dataclass
class Planned:
    """One planned answer (instead of success)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    #: Whether the request is still accepted (recorded and "sent") before answering: a
    #: timeout after the provider took the message is the case that makes outcomes unknown.
    accept: bool = False


class Behaviour:
    """A queue of planned answers, then success (optionally slow)."""

    def __init__(self) -> None:
        self._plans: deque[Planned] = deque()
        self._lock = threading.Lock()
        self.delay = 0.0

    def plan(self, *answers: Planned) -> None:
        """Answer the next requests with ``answers``, in order."""
        with self._lock:
            self._plans.extend(answers)

    def fail(self, status: int, count: int = 1, **headers: str) -> None:
        """The next ``count`` requests get ``status`` (429, 500, 400...)."""
        message = f"stand-in planned {status}"
        # Both shapes at once: SendGrid reads "errors", Twilio reads "code" and "message".
        body = {"errors": [{"message": message}], "code": status, "message": message}
        self.plan(*(Planned(status, dict(headers), body) for _ in range(count)))

    def take(self) -> Planned | None:
        """The next planned answer, if any."""
        with self._lock:
            return self._plans.popleft() if self._plans else None

    def clear(self) -> None:
        """Back to plain success."""
        with self._lock:
            self._plans.clear()
        self.delay = 0.0

    async def answer(self, planned: Planned | None) -> Response | None:
        """Sleep as planned; the error response to return, or ``None`` to succeed."""
        delay = planned.delay if planned else self.delay
        if delay:
            await asyncio.sleep(delay)
        if planned is None or planned.status < 300:
            return None
        headers = {k.replace("_", "-"): v for k, v in planned.headers.items()}
        return JSONResponse(planned.body, status_code=planned.status, headers=headers)
