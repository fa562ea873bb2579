"""The gate's logistic fit (numpy Newton) must match scikit-learn's LogisticRegression it replaces.

Why it exists: importing scikit-learn cost 0.6-1.4 s of the gate's 3 s warm
budget; the fit is kept only while it gives scikit-learn's answer.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from empathy.core.predict.risk import fit_logistic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_fit_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(800, 4))
    true = np.array([1.5, -0.7, 0.0, 0.3])
    y = (rng.random(800) < 1 / (1 + np.exp(-(x @ true - 0.5)))).astype(float)
    coef, intercept = fit_logistic(x, y)
    reference = LogisticRegression(max_iter=5000, tol=1e-10).fit(x, y)
    assert np.allclose(coef, reference.coef_[0], atol=1e-4)
    assert intercept == pytest.approx(float(reference.intercept_[0]), abs=1e-4)


def test_separable_data_stays_finite() -> None:
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    coef, intercept = fit_logistic(x, y)
    assert np.all(np.isfinite(coef)) and np.isfinite(intercept)
    assert coef[0] > 0  # the penalty keeps the weight finite, its sign follows the data
