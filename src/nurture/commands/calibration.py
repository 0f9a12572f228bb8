"""``nurture scoring calibrate``: weights that follow what really wins deals.

Each won or lost deal is described by what was known before it closed: which fit rules
the contact matched, and how much of each kind of interest it showed (events before the
close date, faded with each rule's half-life). A regularised logistic regression learns
the weights; the proposal keeps each rule's sign and the model's scale (the fit cap), and
is compared with the current weights on deals it never saw. Nothing changes unless asked.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from nurture.domain.calibration import Fit, auc, auc_interval, fit_logistic, threshold_rates
from nurture.domain.contacts import Contact
from nurture.domain.scoring import InterestState, ScoringModel, combine, contact_env, fit_score
from nurture.errors import InputError, Location
from nurture.ports import UnitOfWork

__all__ = ["CalibrationReport", "calibrate"]

_WON = {"won", "win", "gagné", "gagne", "signed", "1", "true", "yes"}
_LOST = {"lost", "loss", "perdu", "0", "false", "no"}
_DEFAULT_HALF_LIFE = 30.0


@dataclass
class _Deal:
    row: int
    contact: Contact
    won: bool
    closed_at: datetime
    history: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class CalibrationReport:
    """What the fit learnt and how the two sets of weights compare on held-out deals."""

    deals: int
    train: int
    test: int
    rejected: list[str]
    weights: dict[str, float]
    current: dict[str, float | None]
    proposed: dict[str, float | None]
    notes: list[str]
    diff: str
    proposal_text: str
    #: Why the sample is too small to trust (``None``: it is not).
    small_sample: str | None = None
    #: 95% bootstrap intervals of the held-out AUC, shown when the sample is small.
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    @property
    def improves(self) -> bool:
        """Whether the proposed weights rank held-out deals better than the current ones."""
        now, then = self.current.get("auc"), self.proposed.get("auc")
        return now is not None and then is not None and then > now

    @property
    def worse(self) -> list[str]:
        """What the proposal makes worse on held-out deals, in words."""
        out = []
        for key in ("auc", "win_rate_above_threshold", "share_of_wins_above_threshold"):
            now, then = self.current.get(key), self.proposed.get(key)
            if now is not None and then is not None and then < now:
                out.append(f"{key.replace('_', ' ')} {now:.3f} → {then:.3f}")
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "improves": self.improves,
            "worse": self.worse,
            "small_sample": self.small_sample,
            "intervals": self.intervals,
            "deals": self.deals,
            "train": self.train,
            "test": self.test,
            "rejected": self.rejected,
            "weights": self.weights,
            "current": self.current,
            "proposed": self.proposed,
            "notes": self.notes,
            "diff": self.diff,
        }


def _read_deals(uow: UnitOfWork, path: Path) -> tuple[list[_Deal], list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Location(str(path))) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    key = next((k for k in ("contact", "contact_id", "email", "external_id") if k in header), None)
    if key is None or "outcome" not in header or "close_date" not in header:
        raise InputError(
            "the header needs contact (or email, external_id), outcome and close_date columns",
            Location(str(path), 1),
        )
    deals, rejected = [], []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        outcome = row["outcome"].lower()
        if outcome not in _WON | _LOST:
            rejected.append(f"{path}:{number}: outcome {row['outcome']!r} is neither won nor lost")
            continue
        try:
            closed = datetime.fromisoformat(row["close_date"])
        except ValueError:
            rejected.append(f"{path}:{number}: close_date {row['close_date']!r} is not ISO 8601")
            continue
        contact = uow.contacts.get(row[key])
        if contact is None:
            rejected.append(f"{path}:{number}: no contact {row[key]!r}")
            continue
        deals.append(
            _Deal(
                number,
                contact,
                outcome in _WON,
                closed if closed.tzinfo else closed.replace(tzinfo=UTC),
            )
        )
    return deals, rejected


def _load_history(uow: UnitOfWork, deals: list[_Deal]) -> None:
    by_contact = {deal.contact.id: deal for deal in deals}
    ids = sorted(cid for cid in by_contact if cid is not None)
    for contact_id, kind, occurred_at in uow.events.applied_history(ids):
        deal = by_contact[contact_id]
        if occurred_at < deal.closed_at:
            deal.history.append((kind, occurred_at))


def _features(model: ScoringModel, deal: _Deal, kinds: list[str]) -> list[float]:
    env = contact_env(deal.contact)
    row = [1.0 if rule.matches(env) else 0.0 for rule in model.fit.rules]
    for kind in kinds:
        rule = model.interest.rule_for(kind)
        half_life = rule.half_life_days if rule and rule.half_life_days else _DEFAULT_HALF_LIFE
        row.append(
            sum(
                math.pow(0.5, (deal.closed_at - at).total_seconds() / 86400 / half_life)
                for event, at in deal.history
                if event == kind
            )
        )
    return row


def _score(model: ScoringModel, deal: _Deal) -> int:
    state = InterestState()
    for kind, at in sorted(deal.history, key=lambda item: item[1]):
        state.record(model, kind, at)
    fit, parts = fit_score(model, deal.contact)
    return combine(model, fit, parts, state, deal.closed_at).score


def _held_out(deal: _Deal, share: float) -> bool:
    digest = hashlib.sha256(f"{deal.contact.id}".encode()).digest()
    return digest[0] / 256 < share


def _proposal(
    model: ScoringModel, fitted: Fit, kinds: list[str]
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Points for each rule and a note for every weight zeroed or flipped, with why."""
    fit_points, interest_points, notes = _points(model, fitted, kinds)
    before = {rule.id: rule.points for rule in model.fit.rules}
    for rule_id, points in fit_points.items():
        if points == 0 and before[rule_id] != 0 and not any(f"{rule_id!r}" in n for n in notes):
            notes.append(
                f"fit rule {rule_id!r}: {before[rule_id]:g} → 0, the deals give it no weight"
            )
    for kind, points in interest_points.items():
        rule = model.interest.rule_for(kind)
        old = rule.points if rule is not None else 0
        if points == 0 and old != 0 and not any(f"{kind!r}" in n for n in notes):
            notes.append(f"interest rule {kind!r}: {old:g} → 0, the deals give it no weight")
    return fit_points, interest_points, notes


def _points(
    model: ScoringModel, fitted: Fit, kinds: list[str]
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Points for each fit rule (by id) and interest rule (by event), on the model's scale."""
    notes: list[str] = []
    fit_betas = fitted.weights[: len(model.fit.rules)]
    positive = sum(max(b, 0.0) for b in fit_betas)
    scale = model.fit.cap / positive if positive > 0 else 10.0
    fit_points: dict[str, float] = {}
    interest_points: dict[str, float] = {}
    for rule, beta in zip(model.fit.rules, fit_betas, strict=True):
        points = round(beta * scale, 1)
        if points * rule.points < 0:
            notes.append(
                f"fit rule {rule.id!r}: {rule.points:g} → 0, the deals say the opposite of its sign"
            )
            points = 0.0
        fit_points[rule.id] = points
    for kind, beta in zip(kinds, fitted.weights[len(model.fit.rules) :], strict=True):
        interest_rule = model.interest.rule_for(kind)
        if interest_rule is None:
            continue
        points = round(beta * scale, 1)
        if points * interest_rule.points < 0:
            notes.append(
                f"interest rule {kind!r}: {interest_rule.points:g} → 0, the deals say the "
                "opposite of its sign"
            )
            points = 0.0
        interest_points[kind] = points
    return fit_points, interest_points, notes


def _rewrite(text: str, fit_points: dict[str, float], interest_points: dict[str, float]) -> str:
    """``text`` with new points, changed in place: comments, layout and quotes are kept."""
    document = YAML(typ="rt").load(text)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, float]] = []
    for section, key, points in (("fit", "id", fit_points), ("interest", "event", interest_points)):
        for rule in (document.get(section) or {}).get("rules") or []:
            if rule.get(key) in points and "points" in rule:
                line, column = rule.lc.value("points")
                edits.append((line, column, points[rule[key]]))
    for line, column, value in sorted(edits, reverse=True):
        current = _NUMBER.match(lines[line], column)
        if current is not None:
            new = str(_number(value))
            lines[line] = lines[line][: current.start()] + new + lines[line][current.end() :]
    return "".join(lines)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _metrics(
    scores: Sequence[float], labels: Sequence[int], threshold: int
) -> dict[str, float | None]:
    precision, recall = threshold_rates(scores, labels, threshold)
    area = auc(scores, labels)
    return {
        "auc": round(area, 4) if area is not None else None,
        "win_rate_above_threshold": round(precision, 4) if precision is not None else None,
        "share_of_wins_above_threshold": round(recall, 4) if recall is not None else None,
    }


def calibrate(
    *,
    uow: UnitOfWork,
    model: ScoringModel,
    scoring_path: Path,
    outcomes: Path,
    l2: float = 1.0,
    test_share: float = 0.3,
    min_deals: int = 50,
    min_per_class: int = 10,
) -> CalibrationReport:
    """Fit weights on past deals and compare them with ``model`` on held-out deals."""
    deals, rejected = _read_deals(uow, outcomes)
    _load_history(uow, deals)
    seen = {kind for deal in deals for kind, _ in deal.history}
    kinds: list[str] = [r.event.value for r in model.interest.rules if r.event.value in seen]
    train = [d for d in deals if not _held_out(d, test_share)]
    test = [d for d in deals if _held_out(d, test_share)]
    if not train or not test:
        raise InputError(
            f"{len(deals)} usable deals: too few to learn and to check", Location(str(outcomes))
        )
    fitted = fit_logistic(
        [_features(model, d, kinds) for d in train], [int(d.won) for d in train], l2=l2
    )
    fit_points, interest_points, notes = _proposal(model, fitted, kinds)
    original = scoring_path.read_text(encoding="utf-8")
    proposal_text = _rewrite(original, fit_points, interest_points)
    proposed = ScoringModel.model_validate(YAML(typ="safe").load(proposal_text))
    labels = [int(d.won) for d in test]
    threshold = model.stages.prospect.min_score
    names = [rule.id for rule in model.fit.rules] + kinds
    diff = "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            proposal_text.splitlines(keepends=True),
            fromfile=f"{scoring_path.name} (current)",
            tofile=f"{scoring_path.name} (proposed)",
        )
    )
    current_scores = [_score(model, d) for d in test]
    proposed_scores = [_score(proposed, d) for d in test]
    small = _small_sample(deals, min_deals, min_per_class)
    intervals = (
        {
            "current": auc_interval(current_scores, labels),
            "proposed": auc_interval(proposed_scores, labels),
        }
        if small
        else {}
    )
    return CalibrationReport(
        deals=len(deals),
        train=len(train),
        test=len(test),
        rejected=rejected,
        weights={name: round(w, 4) for name, w in zip(names, fitted.weights, strict=True)},
        current=_metrics(current_scores, labels, threshold),
        proposed=_metrics(proposed_scores, labels, threshold),
        notes=notes,
        diff=diff,
        proposal_text=proposal_text,
        small_sample=small,
        intervals=intervals,
    )


def _small_sample(deals: list[_Deal], min_deals: int, min_per_class: int) -> str | None:
    """Why ``deals`` are too few to trust a calibration, or ``None``."""
    won = sum(1 for d in deals if d.won)
    lost = len(deals) - won
    if len(deals) >= min_deals and min(won, lost) >= min_per_class:
        return None
    return (
        f"{len(deals)} deals ({won} won, {lost} lost): below {min_deals} deals and "
        f"{min_per_class} of each outcome, the comparison is mostly chance"
    )
