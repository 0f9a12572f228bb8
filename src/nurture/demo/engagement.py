"""Simulated engagement for the demo: how sample contacts answer what they receive.

Probabilities rise with fit (the right company and role) and interest (recent engagement),
so the funnel the demo shows has the shape real pipelines have: many contacts, some leads,
few prospects, fewer customers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Engagement", "Person"]


@dataclass(frozen=True)
class Person:
    """What the simulation knows of a contact."""

    contact_id: int
    fit: float
    interest: float
    stage: str
    phone: str | None


@dataclass
class Engagement:
    """Draws the reactions of contacts; deterministic for a seed."""

    seed: int = 7

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _appetite(self, person: Person) -> float:
        """0.3 for a poor fit with no interest, up to about 2 for a hot, fitting contact."""
        return 0.3 + person.fit / 40 + person.interest / 40

    def email(self, person: Person, *, content: bool) -> list[str]:
        """SendGrid-style event kinds for one email, in order."""
        rng, appetite = self._rng, self._appetite(person)
        if rng.random() < 0.012:
            return ["bounce"]
        kinds = ["delivered"]
        if rng.random() < min(0.85, 0.22 * appetite):
            kinds.append("open")
            if rng.random() < min(0.6, (0.16 if content else 0.09) * appetite):
                kinds.append("click")
            if rng.random() < min(0.3, 0.035 * appetite):
                kinds.append("reply")
        if rng.random() < 0.004:
            kinds.append("unsubscribe")
        elif rng.random() < 0.0005:
            kinds.append("spamreport")
        return kinds

    def sms(self, person: Person) -> str | None:
        """An inbound answer to an SMS: STOP, a reply, or nothing."""
        draw = self._rng.random()
        if draw < 0.02:
            return "STOP"
        if draw < 0.02 + 0.04 * self._appetite(person):
            return "Oui, rappelez-moi cette semaine"
        return None

    def call(self, person: Person) -> tuple[str, dict[str, str]]:
        """A call outcome and the BANT facts the rep learnt."""
        rng, appetite = self._rng, self._appetite(person)
        draw = rng.random()
        meeting = min(0.25, 0.06 * appetite)
        if draw < 0.35:
            return "no_answer", {}
        if draw < 0.55:
            return "voicemail", {}
        if draw < 0.57:
            return "wrong_number", {}
        if draw < 0.57 + 0.06:
            return "not_interested", {}
        facts: dict[str, str] = {}
        if rng.random() < min(0.9, 0.35 * appetite):
            facts["need"] = rng.choice(
                [
                    "Supervision 24/7 avant l'audit NIS2",
                    "Sauvegardes jamais testées",
                    "Need 24/7 monitoring before the SOC 2 audit",
                    "Ransomware scare at a peer",
                ]
            )
        if person.fit >= 30 and rng.random() < 0.6:
            facts["authority"] = rng.choice(["decision_maker", "co_decider", "champion"])
        if rng.random() < 0.3:
            facts["timing"] = rng.choice(["T2", "S2", "avant l'été", "next quarter"])
        if draw < 0.63 + meeting:
            return "meeting_booked", facts
        return "connected", facts

    def spontaneous(self, person: Person) -> str | None:
        """Something a contact does on its own: a visit, a download, a form, a demo request."""
        rng = self._rng
        if rng.random() > 0.012 * self._appetite(person):
            return None
        return rng.choices(
            ["web_visit", "form_fill", "webinar_attended", "demo_request", "quote_request"],
            weights=[50, 20, 15, 8, 7],
        )[0]

    def buys(self, person: Person) -> bool:
        """Whether a prospect signs today."""
        if person.stage != "prospect":
            return False
        return self._rng.random() < 0.006 * self._appetite(person)
