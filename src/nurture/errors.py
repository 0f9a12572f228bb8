"""Every exception nurture raises on purpose.

    NurtureError
    ├── ConfigurationError        settings or wiring that cannot work (a driver asked for
    │                             without its credentials, an unknown database URL)
    ├── InputError                bad input from a file or a request; it names where
    │   ├── SpecError             a sequence, scoring or catalog file: file, line, field
    │   │   └── SpecErrors        several of them at once, each with its own place
    │   ├── ExpressionError       a `when` expression that does not parse or evaluate
    │   ├── TemplateError         a template that is missing, escapes the sandbox or fails
    │   ├── RowError              one CSV row (row number and reason)
    │   └── PayloadError          a webhook or event payload
    ├── DomainError               a request the domain refuses
    │   ├── IllegalTransition     a lifecycle move the state machine does not allow
    │   ├── EnrollmentRefused     a contact that cannot join a sequence, with the reason
    │   └── NotFound              a contact, sequence, task or touch that does not exist
    └── DeliveryError             a provider did not take a message
        ├── TransientDeliveryError   429, 5xx, refused connections: retried with backoff
        ├── PermanentDeliveryError   other 4xx: recorded on the touch, never retried
        └── UnknownDeliveryOutcome   a timeout after the request went out: the provider may
                                     have the message; reconciled, never resent blindly

Adapters translate vendor exceptions into these with ``raise ... from exc``; only
``TransientDeliveryError`` is ever retried.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigurationError",
    "DeliveryError",
    "DomainError",
    "EnrollmentRefused",
    "ExpressionError",
    "IllegalTransition",
    "InputError",
    "Location",
    "NotFound",
    "NurtureError",
    "PayloadError",
    "PermanentDeliveryError",
    "RowError",
    "SpecError",
    "SpecErrors",
    "TemplateError",
    "TransientDeliveryError",
    "UnknownDeliveryOutcome",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a piece of input lives: ``file:line field``."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        place = self.file or "<input>"
        if self.line is not None:
            place = f"{place}:{self.line}"
        if self.field:
            place = f"{place} {self.field}"
        return place


class NurtureError(Exception):
    """Base of every error nurture raises on purpose."""


class ConfigurationError(NurtureError):
    """Settings or wiring that cannot work; raised at start-up, never mid-run."""


class InputError(NurtureError):
    """Bad input; the message names the file, line, row or field."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


class SpecError(InputError):
    """A sequence, scoring or catalog file that does not hold."""


class SpecErrors(SpecError):
    """Several problems found at once (validation reports every one, not the first)."""

    def __init__(self, problems: list[SpecError]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        super().__init__(first.reason if first else "invalid", first.location if first else None)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class ExpressionError(InputError):
    """A ``when`` expression that does not parse, or names an unknown field."""


class TemplateError(InputError):
    """A template that is missing, fails to render or tries to leave the sandbox."""


class RowError(InputError):
    """One rejected CSV row."""

    def __init__(self, message: str, *, row: int, file: str | None = None) -> None:
        self.row = row
        super().__init__(message, Location(file=file, line=row))


class PayloadError(InputError):
    """A webhook or event payload that cannot be read; ``raw`` keeps (the start of) what
    was received, for the quarantine."""

    def __init__(
        self, message: str, location: Location | None = None, *, raw: str | None = None
    ) -> None:
        self.raw = raw
        super().__init__(message, location)


class DomainError(NurtureError):
    """A request the domain refuses."""


class IllegalTransition(DomainError):
    """A lifecycle change the state machine does not allow."""


class EnrollmentRefused(DomainError):
    """A contact that cannot join a sequence; the message says why."""


class NotFound(DomainError):
    """A contact, sequence, task or touch that does not exist."""


class DeliveryError(NurtureError):
    """A provider did not take a message."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """Worth retrying: rate limits, server errors, timeouts."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status)


class PermanentDeliveryError(DeliveryError):
    """The provider refused the message for good; recorded on the touch."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        self.code = code
        super().__init__(message, status=status)


class UnknownDeliveryOutcome(DeliveryError):
    """The request went out but no answer came back: the message may have been taken."""
