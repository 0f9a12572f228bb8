"""Sequences: versioned, declarative lists of steps with cadence, audience and exit rules."""

from __future__ import annotations

import functools
import math
import re
from datetime import time
from enum import StrEnum
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nurture.domain.contacts import CONTACT_FIELDS, Contact, DealBand, Stage, Temperature
from nurture.domain.expressions import Expression, compile_expression
from nurture.errors import ExpressionError

__all__ = [
    "ALWAYS_EXIT_ON",
    "WEEKDAYS",
    "Audience",
    "Cadence",
    "ChainRule",
    "Channel",
    "ExitReason",
    "SendWindow",
    "Sequence",
    "Step",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_ID = r"^[a-z0-9][a-z0-9._-]*$"


class Channel(StrEnum):
    """How a touch reaches the contact."""

    EMAIL = "email"
    SMS = "sms"
    CALL = "call"
    CONTENT = "content"


class ExitReason(StrEnum):
    """Why an enrollment ends before its last step."""

    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    #: Someone else of the same account replied or booked a meeting.
    ACCOUNT_REPLIED = "account_replied"
    ACCOUNT_MEETING_BOOKED = "account_meeting_booked"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    SPAM_REPORT = "spam_report"
    PROMOTED = "promoted"
    CUSTOMER = "customer"
    RECYCLED = "recycled"
    NOT_INTERESTED = "not_interested"
    DISQUALIFIED = "disqualified"
    CLICKED = "clicked"
    CONTENT_DOWNLOADED = "content_downloaded"
    LEFT_AUDIENCE = "left_audience"


#: Reasons that end every enrollment, listed in ``exit_on`` or not: nothing more may reach
#: a contact who opted out or whose address bounced.
ALWAYS_EXIT_ON = frozenset({ExitReason.UNSUBSCRIBED, ExitReason.BOUNCED, ExitReason.SPAM_REPORT})


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> Expression:
    """The expression ``source`` compiles to, compiled once per process: the planner asks
    for every due contact, and a pydantic private attribute costs far more to read."""
    return _compile(source)


def _compile(source: str) -> Expression:
    try:
        return compile_expression(source, roots={"contact": CONTACT_FIELDS})
    except ExpressionError as exc:
        raise ValueError(exc.reason) from exc


#: The longest wait before a step, in business days: about a year. Longer is a typo
#: (``1e35``), and would overflow the calendar.
MAX_GAP_DAYS = 260


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(_Spec):
    """Who may be enrolled, checked at enrollment and again before each touch."""

    stages: list[Stage] = Field(default_factory=lambda: list(Stage))
    temperatures: list[Temperature] = Field(default_factory=lambda: list(Temperature))
    when: str | None = None

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    def refusal(self, contact: Contact) -> str | None:
        """Why ``contact`` is outside the audience, or ``None`` when it is inside."""
        if contact.stage not in self.stages:
            allowed = ", ".join(s.value for s in self.stages)
            return f"stage {contact.stage.value} is not in the audience ({allowed})"
        if contact.temperature not in self.temperatures:
            allowed = ", ".join(t.value for t in self.temperatures)
            return f"temperature {contact.temperature.value} is not in the audience ({allowed})"
        if self.when is not None and not _compiled(self.when)({"contact": contact}):
            return f"audience condition is false: {self.when}"
        return None


class Cadence(_Spec):
    """The gap before each step after the first, in business days."""

    gaps: dict[Temperature, float] = Field(
        default_factory=lambda: {Temperature.COLD: 7.0, Temperature.WARM: 4.0, Temperature.HOT: 2.0}
    )
    deal_size: dict[DealBand, float] = Field(
        default_factory=lambda: {DealBand.SMALL: 0.75, DealBand.MEDIUM: 1.0, DealBand.LARGE: 1.5}
    )

    @field_validator("gaps")
    @classmethod
    def _every_temperature(cls, gaps: dict[Temperature, float]) -> dict[Temperature, float]:
        missing = [t.value for t in Temperature if t not in gaps]
        if missing:
            raise ValueError(f"missing gap for {', '.join(missing)}")
        if any(value < 0 for value in gaps.values()):
            raise ValueError("gaps cannot be negative")
        if not all(math.isfinite(value) and value <= MAX_GAP_DAYS for value in gaps.values()):
            raise ValueError(f"gaps must be numbers of business days up to {MAX_GAP_DAYS} (a year)")
        cold, warm, hot = (gaps[t] for t in Temperature)
        if not cold >= warm >= hot:
            raise ValueError(
                f"a hotter contact must not wait longer: cold ({cold:g}) >= warm ({warm:g}) "
                f">= hot ({hot:g})"
            )
        return gaps

    @field_validator("deal_size")
    @classmethod
    def _every_band(cls, sizes: dict[DealBand, float]) -> dict[DealBand, float]:
        missing = [b.value for b in DealBand if b not in sizes]
        if missing:
            raise ValueError(f"missing multiplier for {', '.join(missing)}")
        if any(value <= 0 for value in sizes.values()):
            raise ValueError("deal size multipliers must be positive")
        if not all(math.isfinite(value) and value <= 10 for value in sizes.values()):
            raise ValueError("deal size multipliers must be numbers up to 10")
        small, medium, large = (sizes[b] for b in DealBand)
        if not small <= medium <= large:
            raise ValueError(
                f"bigger tickets must not be followed faster: small ({small:g}) <= medium "
                f"({medium:g}) <= large ({large:g})"
            )
        return sizes

    def gap_days(self, temperature: Temperature, band: DealBand, step_gap: float) -> float:
        """Business days before a step: gap by temperature × deal size × the step's own gap."""
        return self.gaps[temperature] * self.deal_size[band] * step_gap


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _working_week() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class SendWindow(_Spec):
    """When touches may reach a contact: days, hours, in whose time zone, which holidays."""

    days: list[Weekday] = Field(default_factory=_working_week)
    hours: str = "09:00-18:00"
    timezone: str = "contact"
    holidays: str | None = "contact"

    @field_validator("days")
    @classmethod
    def _some_days(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError("a send window needs at least one day")
        return days

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = _HOURS.match(value)
        if not match:
            raise ValueError(f"hours {value!r} must look like '09:00-18:00'")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f"hours {value!r} are not times of day")
        if (h1, m1) >= (h2, m2):
            raise ValueError(f"hours {value!r} must start before they end (same day)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value == "contact":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {value!r} is neither 'contact' nor an IANA time zone"
            ) from None
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is None or value in {"contact", "none"}:
            return None if value == "none" else value
        if not re.fullmatch(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", value):
            raise ValueError(
                f"holidays {value!r} must be a country code (FR, US-NY), 'contact' or 'none'"
            )
        return value

    @property
    def start(self) -> time:
        """Opening time of day."""
        h, m = self.hours.split("-")[0].split(":")
        return time(int(h), int(m))

    @property
    def end(self) -> time | None:
        """Closing time of day (``None`` for midnight, the end of the day)."""
        h, m = self.hours.split("-")[1].split(":")
        return None if h == "24" else time(int(h), int(m))

    @property
    def weekdays(self) -> frozenset[int]:
        """Allowed days as ``date.weekday()`` numbers."""
        return frozenset(WEEKDAYS.index(day) for day in self.days)


class Step(_Spec):
    """One step: what to send, on which channel, and how long to wait before it."""

    id: str = Field(pattern=_ID, max_length=100)
    channel: Channel
    template: str | None = None
    script: str | None = None
    content: str | None = None
    gap: float = Field(default=1.0, ge=0, le=100)
    when: str | None = None
    via: Literal["email", "sms"] = "email"
    title: str | None = None

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @model_validator(mode="after")
    def _what_the_channel_needs(self) -> Self:
        needs = {
            Channel.EMAIL: ("template", self.template),
            Channel.SMS: ("template", self.template),
            Channel.CALL: ("script", self.script),
            Channel.CONTENT: ("content", self.content),
        }
        key, value = needs[self.channel]
        if not value:
            raise ValueError(f"a {self.channel.value} step needs '{key}'")
        if self.channel == Channel.CALL and self.template:
            raise ValueError("a call step takes a 'script', not a 'template'")
        if self.channel in (Channel.EMAIL, Channel.SMS) and (self.script or self.content):
            raise ValueError(f"a {self.channel.value} step takes a 'template' only")
        return self

    def applies_to(self, contact: Contact) -> bool:
        """Whether the step's ``when`` holds for ``contact`` (no condition: always)."""
        return self.when is None or bool(_compiled(self.when)({"contact": contact}))

    @property
    def carrier_template(self) -> str:
        """The template that carries the message (for content drops, a default one)."""
        if self.channel == Channel.CALL:
            return self.script or ""
        if self.template:
            return self.template
        return "emails/content-drop" if self.via == "email" else "sms/content-drop"

    @property
    def sends_on(self) -> Literal["email", "sms", "call"]:
        """The medium the touch actually uses."""
        if self.channel == Channel.CONTENT:
            return self.via
        return self.channel.value  # type: ignore[return-value]


class ChainRule(_Spec):
    """What to do next: enroll in another sequence."""

    enroll: str = Field(pattern=_ID)


class Sequence(_Spec):
    """The whole of one ``sequences/*.yaml`` file."""

    id: str = Field(pattern=_ID, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1, le=1_000_000)
    description: str | None = None
    priority: int = Field(default=0, ge=-10, le=10)
    audience: Audience = Field(default_factory=Audience)
    cadence: Cadence = Field(default_factory=Cadence)
    send_window: SendWindow = Field(default_factory=SendWindow)
    steps: list[Step] = Field(min_length=1)
    exit_on: list[ExitReason] = Field(default_factory=list)
    enroll_on: list[Stage] = Field(
        default_factory=list,
        description="enroll a contact automatically when it reaches one of these stages",
    )
    on_complete: ChainRule | None = None
    on_exit: dict[ExitReason, ChainRule] = Field(default_factory=dict)

    @field_validator("steps")
    @classmethod
    def _unique_step_ids(cls, steps: list[Step]) -> list[Step]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(f"duplicate step id {step.id!r}")
            seen.add(step.id)
        return steps

    @model_validator(mode="after")
    def _gaps_within_a_year(self) -> Self:
        cadence = self.cadence
        longest = max(cadence.gaps.values()) * max(cadence.deal_size.values())
        for step in self.steps[1:]:
            if longest * step.gap > MAX_GAP_DAYS:
                raise ValueError(
                    f"step {step.id!r}: its gap can reach {longest * step.gap:g} business days "
                    f"(cold × large × gap {step.gap:g}); at most {MAX_GAP_DAYS} (a year)"
                )
        return self

    def step_index(self, step_id: str) -> int | None:
        """Position of ``step_id``, or ``None``."""
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        return None

    def exits_on(self, reason: str) -> bool:
        """Whether ``reason`` ends an enrollment in this sequence."""
        return reason in ALWAYS_EXIT_ON or reason in self.exit_on

    def chained(self) -> list[str]:
        """Sequences this one enrolls contacts into."""
        targets = [rule.enroll for rule in self.on_exit.values()]
        if self.on_complete:
            targets.insert(0, self.on_complete.enroll)
        return targets

    def channels(self) -> set[str]:
        """The media the sequence uses (content drops count as their carrier)."""
        return {step.sends_on for step in self.steps}
