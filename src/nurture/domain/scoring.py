"""Score = fit (who the contact is) + interest (what the contact did), 0 to 100.

Fit rules are conditions on the contact's attributes; their points add up and are capped.
Interest rules give points per event type; each point fades with the rule's half-life and
each rule, and the interest as a whole, are capped. Penalties (negative points) never
fade, so that time alone can only lower a score, never raise it.

Every point is explained: :func:`score_card` lists the rule behind each one ("why 72?").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from nurture.domain.contacts import CONTACT_FIELDS, Contact, Temperature
from nurture.domain.events import EventType
from nurture.domain.expressions import Expression, compile_expression
from nurture.domain.rules import (
    DealBands,
    LeadRule,
    ProspectRule,
    RecycleRule,
    StageRules,
    TemperatureBands,
)
from nurture.errors import ExpressionError

__all__ = [
    "Contribution",
    "DealBands",
    "FitRule",
    "FitSpec",
    "InterestRule",
    "InterestSpec",
    "InterestState",
    "LeadRule",
    "ProspectRule",
    "RecycleRule",
    "RuleState",
    "ScoreCard",
    "ScoredContact",
    "ScoringModel",
    "StageRules",
    "TemperatureBands",
    "contact_env",
    "fit_score",
    "interest_score",
    "score_card",
]

_SECONDS_PER_DAY = 86400.0
_PRECISION = 6  # rounding before the final integer, so that replay order never shows


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def contact_env(contact: Contact) -> dict[str, Any]:
    """The names a contact expression can read."""
    return {"contact": contact}


class FitRule(_Spec):
    """Points for contacts whose attributes match ``when``."""

    id: str = Field(min_length=1)
    when: str
    points: float = Field(ge=-100, le=100)
    description: str | None = None
    _expression: Expression = PrivateAttr()

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            compile_expression(value, roots={"contact": CONTACT_FIELDS})
        except ExpressionError as exc:
            raise ValueError(exc.reason) from exc
        return value

    def model_post_init(self, context: Any, /) -> None:  # noqa: ARG002 - pydantic's signature
        self._expression = compile_expression(self.when, roots={"contact": CONTACT_FIELDS})

    def matches(self, env: Mapping[str, Any]) -> bool:
        """Whether the rule applies to the contact in ``env``."""
        return self._expression(env)

    def contribution(self) -> Contribution:
        """The points the rule gives, explained."""
        return Contribution("fit", self.id, self.points, self.description or self.when)


class FitSpec(_Spec):
    """Who the contact is: sector, size, role, country."""

    cap: float = Field(default=50, ge=0, le=100)
    rules: list[FitRule] = Field(default_factory=list)
    #: Each rule's test and contribution, made once: every re-scored contact runs them.
    _tests: list[tuple[Expression, Contribution]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:  # noqa: ARG002 - pydantic's signature
        self._tests = [(rule._expression, rule.contribution()) for rule in self.rules]

    def contributions(self, env: Mapping[str, Any]) -> list[Contribution]:
        """The contributions of the rules that apply to the contact in ``env``."""
        return [contribution for test, contribution in self._tests if test(env)]

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[FitRule]) -> list[FitRule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"duplicate fit rule id {rule.id!r}")
            seen.add(rule.id)
        return rules


class InterestRule(_Spec):
    """Points per event of one type, fading with a half-life, capped."""

    event: EventType
    points: float = Field(ge=-100, le=100)
    half_life_days: float | None = Field(default=None, gt=0)
    cap: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _penalties_do_not_fade(self) -> Self:
        if self.points < 0 and self.half_life_days is not None:
            raise ValueError(
                "a penalty (negative points) cannot have half_life_days: a fading penalty "
                "would make time raise the score"
            )
        return self

    def decay(self, seconds: float) -> float:
        """The share of a point left after ``seconds``."""
        if self.half_life_days is None or seconds <= 0:
            return 1.0
        return math.pow(0.5, seconds / (self.half_life_days * _SECONDS_PER_DAY))


class InterestSpec(_Spec):
    """What the contact did: opens, clicks, replies, downloads, meetings."""

    cap: float = Field(default=50, ge=0, le=100)
    rules: list[InterestRule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _one_rule_per_event(cls, rules: list[InterestRule]) -> list[InterestRule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.event in seen:
                raise ValueError(f"two interest rules for event {rule.event.value!r}")
            seen.add(rule.event)
        return rules

    def rule_for(self, event: str) -> InterestRule | None:
        """The rule scoring ``event``, if any."""
        for rule in self.rules:
            if rule.event == event:
                return rule
        return None


class ScoringModel(_Spec):
    """The whole of ``scoring.yaml``."""

    fit: FitSpec = Field(default_factory=FitSpec)
    interest: InterestSpec = Field(default_factory=InterestSpec)
    temperature: TemperatureBands = Field(default_factory=TemperatureBands)
    deal_bands: DealBands = Field(default_factory=DealBands)
    stages: StageRules = Field(default_factory=StageRules)

    def is_interest_signal(self, event: str) -> bool:
        """Whether ``event`` is a sign of interest: it earns points or makes a lead."""
        if event in self.stages.lead.on_events:
            return True
        rule = self.interest.rule_for(event)
        return rule is not None and rule.points > 0


@dataclass(frozen=True, slots=True)
class Contribution:
    """Points one rule gave (a cap shows as a negative contribution)."""

    part: Literal["fit", "interest"]
    rule: str
    points: float
    detail: str


@dataclass(frozen=True, slots=True)
class ScoreCard:
    """A score with every point explained."""

    score: int
    fit: float
    interest: float
    temperature: Temperature
    contributions: tuple[Contribution, ...]

    def explain(self) -> str:
        """One line per contribution, for people."""
        lines = [f"score {self.score} = fit {self.fit:g} + interest {self.interest:g}"]
        lines += [
            f"  {c.part:8} {c.points:+7.2f}  {c.rule}: {c.detail}" for c in self.contributions
        ]
        return "\n".join(lines)


@dataclass(slots=True)
class RuleState:
    """Interest points of one event type, as of ``ref`` (seconds since the epoch).

    Points of one half-life add up exactly: the value at ``ref`` carries every earlier
    event, faded to ``ref``. An event earlier than ``ref`` is faded forward before it is
    added, so the state does not depend on the order events arrive in.
    """

    value: float = 0.0
    ref: float = 0.0
    count: int = 0

    def add(self, rule: InterestRule, at: float) -> None:
        """Record one event of ``rule`` at ``at``."""
        if self.count == 0:
            self.value, self.ref = rule.points, at
        elif at >= self.ref:
            self.value = self.value * rule.decay(at - self.ref) + rule.points
            self.ref = at
        else:
            self.value += rule.points * rule.decay(self.ref - at)
        self.count += 1

    def value_at(self, rule: InterestRule, at: float) -> float:
        """The faded value at ``at`` (no fading before ``ref``: the state cannot forget)."""
        return self.value * rule.decay(at - self.ref)


class InterestState:
    """The interest a contact has earned, one :class:`RuleState` per event type."""

    __slots__ = ("_capped", "rules")

    def __init__(self, rules: dict[str, RuleState] | None = None) -> None:
        self.rules: dict[str, RuleState] = rules or {}
        #: The last capped interest asked for (model, now, result): applying events asks
        #: for it, then the stage rules ask again for the same moment.
        self._capped: tuple[ScoringModel, datetime, tuple[float, list[Contribution]]] | None
        self._capped = None

    def record(self, model: ScoringModel, event: str, at: datetime) -> InterestRule | None:
        """Add one event; returns the rule that scored it, or ``None`` when none does."""
        rule = model.interest.rule_for(event)
        if rule is None:
            return None
        self.rules.setdefault(event, RuleState()).add(rule, at.timestamp())
        self._capped = None
        return rule

    def capped(self, model: ScoringModel, now: datetime) -> tuple[float, list[Contribution]]:
        """The interest at ``now`` after the overall cap, and its contributions."""
        known = self._capped
        if known is not None and known[0] is model and known[1] == now:
            return known[2]
        result = _capped_sum("interest", self.contributions(model, now), model.interest.cap)
        self._capped = (model, now, result)
        return result

    def contributions(self, model: ScoringModel, now: datetime) -> list[Contribution]:
        """The interest points of each event type at ``now``, before the overall cap."""
        at = now.timestamp()
        out: list[Contribution] = []
        for event in sorted(self.rules):
            state = self.rules[event]
            rule = model.interest.rule_for(event)
            if rule is None:
                continue
            raw = state.value_at(rule, at)
            points = raw if rule.cap is None else min(raw, rule.cap)
            detail = f"{state.count} × {rule.points:g}"
            if rule.half_life_days is not None:
                detail += f", half-life {rule.half_life_days:g} d"
            if rule.cap is not None and raw > rule.cap:
                detail += f", capped at {rule.cap:g}"
            out.append(Contribution("interest", event, round(points, _PRECISION), detail))
        return out

    def to_json(self) -> dict[str, list[float]]:
        """A compact form for storage."""
        return {k: [s.value, s.ref, s.count] for k, s in sorted(self.rules.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> InterestState:
        """The inverse of :meth:`to_json`."""
        if not data:
            return cls()
        return cls({k: RuleState(float(v[0]), float(v[1]), int(v[2])) for k, v in data.items()})


def fit_score(model: ScoringModel, contact: Contact) -> tuple[float, list[Contribution]]:
    """The capped fit and the rules that produced it."""
    return _capped_sum("fit", model.fit.contributions(contact_env(contact)), model.fit.cap)


def _capped_sum(
    part: Literal["fit", "interest"], contributions: list[Contribution], cap: float
) -> tuple[float, list[Contribution]]:
    raw = round(sum(c.points for c in contributions), _PRECISION)
    total = min(max(raw, 0.0), cap)
    if total != raw:
        why = f"{part} capped at {cap:g}" if raw > cap else f"{part} cannot go below 0"
        contributions = [*contributions, Contribution(part, "cap", total - raw, why)]
    return total, contributions


def score_card(
    model: ScoringModel, contact: Contact, interest: InterestState, now: datetime
) -> ScoreCard:
    """The contact's score at ``now``, with every contributing rule."""
    fit, fit_parts = fit_score(model, contact)
    return combine(model, fit, fit_parts, interest, now)


def _interest(
    model: ScoringModel, interest: InterestState, now: datetime
) -> tuple[float, list[Contribution]]:
    total, parts = interest.capped(model, now)
    return total, list(parts)


def interest_score(model: ScoringModel, interest: InterestState, now: datetime) -> float:
    """The capped interest at ``now``, as :func:`combine` counts it (without the fit)."""
    return round(_interest(model, interest, now)[0], 2)


def combine(
    model: ScoringModel,
    fit: float,
    fit_parts: list[Contribution],
    interest: InterestState,
    now: datetime,
) -> ScoreCard:
    """Add a known fit to the interest at ``now``."""
    interest_total, interest_parts = _interest(model, interest, now)
    total = min(max(fit + interest_total, 0.0), 100.0)
    score = math.floor(round(total, _PRECISION) + 0.5)
    return ScoreCard(
        score=score,
        fit=round(fit, 2),
        interest=round(interest_total, 2),
        temperature=model.temperature.of(score),
        contributions=tuple(fit_parts + interest_parts),
    )


@dataclass(slots=True)
class ScoredContact:
    """A stored contact with what scoring keeps beside it: the interest it earned, the
    event types the stage rules have not looked at yet, and since when it is at its stage."""

    contact: Contact
    state: InterestState
    pending_events: list[str] = field(default_factory=list)
    stage_changed_at: datetime | None = None
