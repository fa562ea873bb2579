"""The learned combination: a conditional logit over one query's candidates, plus "none of them".

Why this model: the question is *which one* of a query's candidates is the
missing file, so the likelihood is a softmax over the candidates of each
replayed query (McFadden's conditional logit), with one extra option,
"the missing file is none of these" (new files, files never changed with the
query), whose utility is learned too.  That makes the output a probability
that is comparable across queries (it already accounts for how many
plausible candidates compete), which is what a warning threshold needs.
It is linear in the features, fits by Newton's method in a fraction of a
second on thousands of replayed queries, and needs nothing beyond numpy.

It is fitted on this repository's own replayed past only (see
:mod:`.index`), never across repositories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ChoiceModel", "fit_choice_model"]


@dataclass(frozen=True, slots=True)
class ChoiceModel:
    """Weights on standardised features, and the utility of "none of the candidates"."""

    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    none_utility: float
    n_queries: int

    def probabilities(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(candidate is the missing file) for each row of one query's candidates."""
        if X.shape[0] == 0:
            return np.zeros(0)
        u = ((X - self.mean) / self.scale) @ self.weights
        top = max(float(u.max()), self.none_utility)
        e = np.exp(u - top)
        return np.asarray(e / (e.sum() + np.exp(self.none_utility - top)), dtype=np.float64)


def fit_choice_model(
    queries: Sequence[tuple[npt.NDArray[np.floating[Any]], int]],
    l2: float = 1.0,
    start: ChoiceModel | None = None,
    iterations: int = 25,
) -> ChoiceModel:
    """Fit on replayed queries: (candidate feature rows, index of the missing file or -1 when absent).

    ``start`` warm-starts Newton's method from an earlier fit (a refit after a
    few more queries then takes two or three steps).
    """
    usable = [(X, y) for X, y in queries if X.shape[0] > 0]
    if not usable:
        raise ValueError("no replayed query has candidates")
    allX = np.concatenate([X for X, _ in usable])
    mean = allX.mean(axis=0, dtype=np.float64)
    scale = allX.std(axis=0, dtype=np.float64)
    scale[scale < 1e-9] = 1.0
    d = allX.shape[1]
    del allX
    # rows: each query's candidates then its "none" row; the last column marks "none"
    sizes = np.array([X.shape[0] + 1 for X, _ in usable])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    Z = np.zeros((int(sizes.sum()), d + 1))
    chosen = np.zeros(len(usable), dtype=np.int64)
    for q, ((X, y), s0) in enumerate(zip(usable, starts, strict=True)):
        n = X.shape[0]
        Z[s0 : s0 + n, :d] = (X - mean) / scale
        Z[s0 + n, d] = 1.0
        chosen[q] = s0 + (y if 0 <= y < n else n)
    seg = np.repeat(np.arange(len(usable)), sizes)
    target = Z[chosen].sum(axis=0)
    penalty = np.full(d + 1, l2)
    penalty[d] = 1e-6

    theta = np.zeros(d + 1)
    if start is not None and start.weights.shape[0] == d:
        theta[:d] = start.weights * (scale / start.scale)
        theta[d] = start.none_utility

    def loglik(th: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        u = Z @ th
        top = np.maximum.reduceat(u, starts)
        e = np.exp(u - top[seg])
        norm = np.add.reduceat(e, starts)
        ll = float(u[chosen].sum() - (top + np.log(norm)).sum()) - 0.5 * float(penalty @ (th * th))
        return ll, e / norm[seg]

    ll, p = loglik(theta)
    pz = np.empty_like(Z)  # reused: the design matrix is the fit's largest allocation
    for _ in range(iterations):
        np.multiply(p[:, None], Z, out=pz)
        mean_z = np.add.reduceat(pz, starts)
        grad = target - mean_z.sum(axis=0) - penalty * theta
        hess = Z.T @ pz - mean_z.T @ mean_z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        scale_step = 1.0
        while scale_step > 1e-4:
            cand = theta + scale_step * step
            ll_new, p_new = loglik(cand)
            if ll_new >= ll - 1e-9:
                break
            scale_step /= 2
        else:
            break
        gain = ll_new - ll
        theta, ll, p = cand, ll_new, p_new
        if gain < 1e-6 * max(1.0, abs(ll)):
            break
    return ChoiceModel(mean, scale, theta[:d].copy(), float(theta[d]), len(usable))
