"""The bands and stage rules of ``scoring.yaml``: temperature and deal bands, and when a
contact becomes a lead, a prospect, or goes back to nurturing."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nurture.domain.contacts import DealBand, Temperature
from nurture.domain.events import EventType

__all__ = [
    "BantFact",
    "DealBands",
    "LeadRule",
    "ProspectRule",
    "RecycleRule",
    "StageRules",
    "TemperatureBands",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TemperatureBands(_Spec):
    """Lower bounds of the warm and hot bands; below ``warm`` is cold."""

    warm: int = Field(default=40, ge=1, le=100)
    hot: int = Field(default=70, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.warm >= self.hot:
            raise ValueError(f"warm ({self.warm}) must be below hot ({self.hot})")
        return self

    def of(self, score: float) -> Temperature:
        """The temperature of ``score``."""
        if score >= self.hot:
            return Temperature.HOT
        if score >= self.warm:
            return Temperature.WARM
        return Temperature.COLD


class DealBands(_Spec):
    """Lower bounds of the medium and large bands on the estimated deal value."""

    medium: float = Field(default=10_000, gt=0)
    large: float = Field(default=50_000, gt=0)
    unknown: DealBand = DealBand.MEDIUM
    currency: str = "EUR"

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.medium >= self.large:
            raise ValueError(f"medium ({self.medium}) must be below large ({self.large})")
        return self

    def of(self, value: float | None) -> DealBand:
        """The band of a deal worth ``value`` (``unknown`` when nobody has estimated it)."""
        if value is None:
            return self.unknown
        if value >= self.large:
            return DealBand.LARGE
        if value >= self.medium:
            return DealBand.MEDIUM
        return DealBand.SMALL


_DEFAULT_LEAD_EVENTS = [
    EventType.EMAIL_CLICK,
    EventType.REPLIED,
    EventType.CONTENT_DOWNLOAD,
    EventType.FORM_FILL,
    EventType.WEBINAR_ATTENDED,
    EventType.QUOTE_REQUEST,
    EventType.DEMO_REQUEST,
    EventType.MEETING_BOOKED,
    EventType.CALL_CONNECTED,
]


class LeadRule(_Spec):
    """A contact becomes a lead on its first sign of interest."""

    on_events: list[EventType] = Field(default_factory=lambda: list(_DEFAULT_LEAD_EVENTS))


BantFact = Literal["budget", "authority", "need", "timing"]


def _default_bant() -> list[BantFact]:
    return ["need", "authority"]


class ProspectRule(_Spec):
    """A lead becomes a prospect when qualified: score and explicit BANT facts."""

    min_score: int = Field(default=70, ge=0, le=100)
    require_bant: list[BantFact] = Field(default_factory=_default_bant)


class RecycleRule(_Spec):
    """A prospect with no interest event for this long goes back to nurturing."""

    after_days_without_interest: int = Field(default=90, ge=1)


class StageRules(_Spec):
    """When contacts move through the lifecycle. ``customer`` needs a purchase, always."""

    lead: LeadRule = Field(default_factory=LeadRule)
    prospect: ProspectRule = Field(default_factory=ProspectRule)
    recycle: RecycleRule = Field(default_factory=RecycleRule)
