from __future__ import annotations

import math
import random

import pytest

from nurture.domain.calibration import auc, fit_logistic, threshold_rates


def test_logistic_regression_recovers_known_coefficients() -> None:
    rng = random.Random(5)
    rows, labels = [], []
    for _ in range(4000):
        x = [float(rng.random() < 0.5), rng.random() * 3]
        z = -1.0 + 2.0 * x[0] - 0.8 * x[1]
        rows.append(x)
        labels.append(int(rng.random() < 1 / (1 + math.exp(-z))))
    fit = fit_logistic(rows, labels, l2=0.01)
    assert fit.intercept == pytest.approx(-1.0, abs=0.2)
    assert fit.weights[0] == pytest.approx(2.0, abs=0.2)
    assert fit.weights[1] == pytest.approx(-0.8, abs=0.15)


def test_regularisation_shrinks_weights() -> None:
    rows = [[1.0], [1.0], [0.0], [0.0]]
    labels = [1, 1, 0, 0]  # separable: without a penalty the weight would run away
    assert abs(fit_logistic(rows, labels, l2=10).weights[0]) < abs(
        fit_logistic(rows, labels, l2=0.1).weights[0]
    )


def test_one_class_only_is_refused() -> None:
    with pytest.raises(ValueError, match="both won and lost"):
        fit_logistic([[1.0], [0.0]], [1, 1])


def test_auc() -> None:
    assert auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert auc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5  # ties count half
    assert auc([1, 2], [1, 1]) is None


def test_threshold_rates() -> None:
    precision, recall = threshold_rates([80, 75, 60, 90, 20], [1, 0, 1, 1, 0], 70)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)
