"""Fitting scoring weights to won and lost deals (pure: lists in, numbers out).

A regularised logistic regression (L2, Newton–Raphson) learns how much each fit rule and
each kind of interest event says about winning; the proposal turns its coefficients into
points on the same scale as the current model. AUC and the rates around the prospect
threshold compare any two models on deals the fit never saw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Fit", "auc", "auc_interval", "fit_logistic", "threshold_rates"]


@dataclass(frozen=True)
class Fit:
    """Coefficients of a fitted logistic regression."""

    intercept: float
    weights: tuple[float, ...]
    iterations: int

    def logit(self, row: Sequence[float]) -> float:
        """The linear predictor for one row."""
        return self.intercept + sum(w * x for w, x in zip(self.weights, row, strict=True))


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve ``matrix · x = vector`` by Gaussian elimination with partial pivoting."""
    size = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(a[r][column]))
        if abs(a[pivot][column]) < 1e-12:
            raise ValueError("the features are linearly dependent; add regularisation")
        a[column], a[pivot] = a[pivot], a[column]
        for row in range(column + 1, size):
            factor = a[row][column] / a[column][column]
            if factor:
                for k in range(column, size + 1):
                    a[row][k] -= factor * a[column][k]
    x = [0.0] * size
    for row in reversed(range(size)):
        x[row] = (a[row][size] - sum(a[row][k] * x[k] for k in range(row + 1, size))) / a[row][row]
    return x


def _gradient_and_hessian(
    data: list[list[float]], labels: Sequence[int], beta: list[float], l2: float
) -> tuple[list[float], list[list[float]]]:
    """Of the penalised log-likelihood (the intercept, first, is not penalised)."""
    size = len(beta)
    gradient = [0.0] * size
    hessian = [[0.0] * size for _ in range(size)]
    for x, y in zip(data, labels, strict=True):
        z = sum(b * v for b, v in zip(beta, x, strict=True))
        p = 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0)))
        weight = p * (1.0 - p)
        for i, xi in enumerate(x):
            if xi == 0.0:
                continue
            gradient[i] += (y - p) * xi
            row, wxi = hessian[i], weight * xi
            for j in range(i, size):
                if x[j]:
                    row[j] += wxi * x[j]
    for i in range(size):
        for j in range(i):
            hessian[i][j] = hessian[j][i]
        penalty = l2 if i else 1e-9
        gradient[i] -= penalty * beta[i] if i else 0.0
        hessian[i][i] += penalty
    return gradient, hessian


def fit_logistic(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    *,
    l2: float = 1.0,
    max_iterations: int = 50,
    tolerance: float = 1e-8,
) -> Fit:
    """Maximum a-posteriori logistic regression (the intercept is not penalised)."""
    if not rows:
        raise ValueError("no deals to learn from")
    if len(set(labels)) < 2:
        raise ValueError("need both won and lost deals")
    beta = [0.0] * (len(rows[0]) + 1)
    data = [[1.0, *map(float, row)] for row in rows]
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported in the result
        gradient, hessian = _gradient_and_hessian(data, labels, beta, l2)
        step = _solve(hessian, gradient)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < tolerance:
            break
    return Fit(beta[0], tuple(beta[1:]), iterations)


def auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Area under the ROC curve: the chance a random win outscores a random loss."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    rank_sum, index = 0.0, 0
    while index < len(pairs):
        end = index
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(label for _, label in pairs[index : end + 1])
        index = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def threshold_rates(
    scores: Sequence[float], labels: Sequence[int], threshold: float
) -> tuple[float | None, float | None]:
    """(win rate among deals at or above ``threshold``, share of all wins above it)."""
    above = [label for score, label in zip(scores, labels, strict=True) if score >= threshold]
    wins = sum(labels)
    precision = sum(above) / len(above) if above else None
    recall = sum(above) / wins if wins else None
    return precision, recall


def auc_interval(
    scores: Sequence[float], labels: Sequence[int], *, rounds: int = 400, seed: int = 7
) -> tuple[float, float] | None:
    """A 95% bootstrap interval of the AUC (``rounds`` resamples of the deals, with a fixed
    seed so that the same deals always give the same interval)."""
    rng = random.Random(seed)
    pairs = list(zip(scores, labels, strict=True))
    values = []
    for _ in range(rounds):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        area = auc([s for s, _ in sample], [label for _, label in sample])
        if area is not None:
            values.append(area)
    if len(values) < rounds // 2:
        return None
    values.sort()
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]
