"""The file-level model: which files will need bug fixes within the horizon.

Trained per repository, on snapshots taken one horizon apart *before* the
prediction time, each labelled with the fixes that followed it, all of them
observed by the prediction time: nothing from the future leaks in.

Two models share the features:

* a ranking model: Poisson gradient boosting of the number of fix touches
  (what touch@k% rewards), averaged with the rank of a robust prior (LOC,
  recent commits, time-weighted fixes) so thin training data cannot make it
  worse than that prior;
* a probability model: logistic regression of "at least one fix touch",
  whose outputs are the forecasts users see; its calibration is measured by
  the backtest, not assumed.

With fewer than ``MIN_TRAIN`` labelled rows the model is not trained, and the
fallback (the rank average, with the base rate as probability) says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from empathy.core.predict.snapshot import FileSnapshot

__all__ = ["MIN_TRAIN", "FileModel", "rank_average", "train_file_model"]

MIN_TRAIN = 150


def _ranks(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    order = arr.argsort(kind="stable")
    ranks = np.empty(len(arr))
    ranks[order] = np.arange(len(arr))
    return ranks / max(len(arr) - 1, 1)


def rank_average(files: Sequence[FileSnapshot]) -> np.ndarray:
    """The strongest simple prior: mean rank of LOC, commits in 12 months and TWR."""
    total: np.ndarray = (
        _ranks([f.loc for f in files]) + _ranks([f.commits_12m for f in files]) + _ranks([f.twr for f in files])
    )
    return total / 3.0


@dataclass
class FileModel:
    """A trained (or fallback) model; ``fallback`` says why it was not trained."""

    ranker: object | None
    classifier: object | None
    scaler_mean: np.ndarray | None
    scaler_std: np.ndarray | None
    base_rate: float
    train_rows: int
    fallback: str = ""

    def _x(self, files: Sequence[FileSnapshot]) -> np.ndarray:
        x = np.asarray([f.vector() for f in files], dtype=float)
        if self.scaler_mean is not None and self.scaler_std is not None:
            x = (x - self.scaler_mean) / self.scaler_std
        return x

    def scores(self, files: Sequence[FileSnapshot]) -> np.ndarray:
        """Higher is riskier; used to rank files."""
        prior = rank_average(files)
        if self.ranker is None or not files:
            return prior
        pred = self.ranker.predict(self._x(files))  # type: ignore[attr-defined]
        blended: np.ndarray = (_ranks(list(pred)) + prior) / 2.0
        return blended

    def probabilities(self, files: Sequence[FileSnapshot]) -> np.ndarray:
        """P(at least one bug-fix touch within the horizon) per file."""
        if self.classifier is None or not files:
            return np.full(len(files), self.base_rate)
        return np.asarray(self.classifier.predict_proba(self._x(files))[:, 1])  # type: ignore[attr-defined]


def train_file_model(rows: Sequence[FileSnapshot], labels: Sequence[int]) -> FileModel:
    """Fit on labelled snapshot rows (labels: fix touches within the horizon)."""
    y = np.asarray(labels, dtype=float)
    base = float((y > 0).mean()) if len(y) else 0.0
    if len(rows) < MIN_TRAIN or (y > 0).sum() < 10 or (y == 0).sum() < 10:
        return FileModel(
            None,
            None,
            None,
            None,
            base,
            len(rows),
            fallback=f"only {len(rows)} labelled file-periods of history; ranking by the LOC/commits/TWR rank average",
        )
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    x = np.asarray([r.vector() for r in rows], dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    xs = (x - mean) / std
    ranker = HistGradientBoostingRegressor(
        loss="poisson", max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=20, random_state=0
    )
    classifier = LogisticRegression(C=0.5, max_iter=2000)
    from empathy.core.predict.jit import one_thread

    with warnings.catch_warnings(), one_thread():  # two OpenMP threads are 25x slower here
        warnings.simplefilter("ignore")
        ranker.fit(xs, y)
        classifier.fit(xs, (y > 0).astype(int))
    return FileModel(ranker, classifier, mean, std, base, len(rows))
