"""The file-level model: which files will need bug fixes within the horizon.

Trained per repository, on snapshots taken one horizon apart *before* the
prediction time, each labelled with the fixes that followed it, all of them
observed by the prediction time: nothing from the future leaks in.

Ranking.  Three candidates: the rank average of LOC, commits in 12 months and
time-weighted fixes (the strongest simple baseline), and that prior averaged
with the rank of a Poisson GLM or of Poisson gradient boosting of the number
of fix touches.  Which one ranks is decided per repository by a time-split
validation *inside* the training data: each candidate is fitted on the older
periods and scored (touch@20%) on the newest complete period; the winner is
refitted on all periods.  Ties go to the prior.  So on a repository where no
learned model beats the prior, the prior ranks: the model never does worse
than the best simple baseline on its own recent past.

Probability.  One model, one order: the probability shown is the ranking
score's own calibration, so it always rises with the rank.  Platt scaling (a
logistic curve of the score) is fitted on *out-of-time* scores: each older
training period is scored by the ranking fitted on the periods before it and
paired with what happened, so the curve learns how far a forecast one
horizon ahead typically drifts (the rate of fixes moves from year to year),
not how well the model fits its own data; periods with no fix at all are
kept, they are exactly where an overconfident curve is wrong.  Below
``MIN_CALIBRATION`` such pairs (or with too few files with and without a
fix) there is **no probability**: surfaces show the rank and the track record
instead.  A curve fitted on a few hundred points cannot support a claim
near 0 or 1, so probabilities are kept within [``P_FLOOR``, ``P_CEILING``].
The earlier design (a separate logistic model with an isotonic map) printed
p = 1.00 on small repositories and disagreed with the rank; see
docs/evaluation.md.

Effort.  A second ranking, by expected fix touches *per line*: a Poisson
GLM of the number of fix touches (same features), its prediction divided by
the file's LOC.  When the effort to inspect a file grows with its size
(touch@20%LOC: review files in order until 20 % of the lines are read), the
best order is by expected fixes per line, not by expected fixes (Kamei et
al.'s effort-aware models; Mende & Koschke 2010).  The backtest scores
touch@20%LOC with this ranking and the other metrics with the risk ranking.

With fewer than ``MIN_TRAIN`` labelled rows nothing is trained, and the
fallback (the prior, the base rate as probability) says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from empathy.core.predict.metrics import touch_at
from empathy.core.predict.snapshot import FileSnapshot

__all__ = [
    "MIN_CALIBRATION",
    "MIN_TRAIN",
    "MODEL_VERSION",
    "FileModel",
    "Period",
    "density_per_line",
    "rank_average",
    "train_file_model",
]

MIN_TRAIN = 150
#: Out-of-time (score, outcome) pairs the probability needs, and files with and without a fix among them.
MIN_CALIBRATION = 300
MIN_CALIBRATION_CLASS = 15
#: Older periods scored out of time for the calibration (each needs a ranking fitted before it).
CALIBRATION_PERIODS = 6
P_FLOOR, P_CEILING = 0.02, 0.98
#: Bump when the model changes, so cached forecasts from an older model are not reused.
MODEL_VERSION = 5
PRIOR = "rank average (LOC, commits 12m, TWR)"
CANDIDATES = (PRIOR, "prior + Poisson GLM", "prior + Poisson boosting")

#: One labelled training period: the files of a snapshot and their fix touches after it.
Period = tuple[Sequence[FileSnapshot], Sequence[int]]


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


def density_per_line(files: Sequence[FileSnapshot]) -> np.ndarray:
    """(commits in 12 months + prior fixes) per line: the simple effort-aware baseline."""
    return np.asarray([(f.commits_12m + f.fixes_all) / max(f.loc, 1) for f in files], dtype=float)


class _Scaler:
    def __init__(self, x: np.ndarray) -> None:
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0)
        self.std[self.std == 0] = 1.0

    def __call__(self, files: Sequence[FileSnapshot]) -> np.ndarray:
        x = np.asarray([f.vector() for f in files], dtype=float)
        scaled: np.ndarray = (x - self.mean) / self.std
        return scaled


def _make(kind: str) -> object:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import PoissonRegressor

    if kind == "prior + Poisson GLM":
        return PoissonRegressor(alpha=1.0, max_iter=1000)
    return HistGradientBoostingRegressor(
        loss="poisson", max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=20, random_state=0
    )


def _flatten(periods: Sequence[Period]) -> tuple[list[FileSnapshot], np.ndarray]:
    rows = [f for files, _y in periods for f in files]
    y = np.asarray([v for _files, ys in periods for v in ys], dtype=float)
    return rows, y


@dataclass
class FileModel:
    """A trained (or fallback) model; ``fallback`` says why it was not trained."""

    ranking: str
    ranker: object | None
    classifier: object | None
    scale: _Scaler | None
    base_rate: float
    train_rows: int
    fallback: str = ""
    validation: dict[str, float] | None = None
    #: Platt curve (slope, intercept) of the ranking score, fitted out of time; None: no probability
    platt: tuple[float, float] | None = None
    #: the out-of-time pairs it was fitted on (0 without a curve), and why there is none
    calibration_rows: int = 0
    uncalibrated: str = ""
    counter: object | None = None

    @property
    def scaler_mean(self) -> np.ndarray | None:
        return None if self.scale is None else self.scale.mean

    @property
    def scaler_std(self) -> np.ndarray | None:
        return None if self.scale is None else self.scale.std

    def scores(self, files: Sequence[FileSnapshot]) -> np.ndarray:
        """Higher is riskier; used to rank files."""
        prior = rank_average(files)
        if self.ranker is None or self.scale is None or not files:
            return prior
        pred = self.ranker.predict(self.scale(files))  # type: ignore[attr-defined]
        blended: np.ndarray = (_ranks(list(pred)) + prior) / 2.0
        return blended

    def per_line(self, files: Sequence[FileSnapshot]) -> np.ndarray:
        """Expected fix touches per line within the horizon: the effort-aware ranking.

        Untrained, the density baseline (commits in 12 months + prior fixes per line).
        """
        if self.counter is None or self.scale is None or not files:
            return density_per_line(files)
        expected: np.ndarray = self.counter.predict(self.scale(files))  # type: ignore[attr-defined]
        per_line: np.ndarray = expected / np.asarray([max(f.loc, 1) for f in files], dtype=float)
        return per_line

    def probabilities(self, files: Sequence[FileSnapshot]) -> np.ndarray | None:
        """P(at least one bug-fix touch within the horizon) per file, from the score; None when uncalibrated."""
        if self.platt is None or not files:
            return None
        return _platt(self.platt, self.scores(files))


def _fit_ranker(kind: str, rows: Sequence[FileSnapshot], y: np.ndarray, scale: _Scaler) -> object | None:
    if kind == PRIOR:
        return None
    from empathy.core.predict.jit import one_thread

    model = _make(kind)
    with warnings.catch_warnings(), one_thread():  # two OpenMP threads are 25x slower here
        warnings.simplefilter("ignore")
        model.fit(scale(rows), y)  # type: ignore[attr-defined]
    return model


def _select(periods: Sequence[Period]) -> tuple[str, dict[str, float]]:
    """Pick the ranking that did best on the newest period when fitted on the older ones."""
    if len(periods) < 2:
        return PRIOR, {}
    newest_files, newest_y = periods[0]
    truth = {f.file_id: int(v) for f, v in zip(newest_files, newest_y, strict=True)}
    older_rows, older_y = _flatten(periods[1:])
    if len(older_rows) < MIN_TRAIN or sum(truth.values()) == 0:
        return PRIOR, {}
    scale = _Scaler(np.asarray([f.vector() for f in older_rows], dtype=float))
    results: dict[str, float] = {}
    for kind in CANDIDATES:
        trial = FileModel(kind, _fit_ranker(kind, older_rows, older_y, scale), None, scale, 0.0, len(older_rows))
        scores = trial.scores(newest_files)
        order = sorted(range(len(newest_files)), key=lambda i: (-float(scores[i]), newest_files[i].path))
        results[kind] = touch_at([newest_files[i].file_id for i in order], truth, 0.2)
    best = max(CANDIDATES, key=lambda k: (results[k], k == PRIOR))
    return best, results


def _fit_counter(rows: Sequence[FileSnapshot], y: np.ndarray, scale: _Scaler) -> object:
    """Poisson GLM of fix touches for the per-line ranking.  Its L2 strength (alpha
    0.1) was the one setting compared on results: 1, 0.1 and 0.01 tie on the three
    evaluation repositories and 0.1 did best on the four held out (docs/evaluation.md)."""
    from sklearn.linear_model import PoissonRegressor

    from empathy.core.predict.jit import one_thread

    model = PoissonRegressor(alpha=0.1, max_iter=3000)
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        model.fit(scale(rows), y)
    return model


def _platt(curve: tuple[float, float], scores: np.ndarray) -> np.ndarray:
    slope, intercept = curve
    z = np.clip(slope * np.asarray(scores, dtype=float) + intercept, -50.0, 50.0)
    return np.clip(1.0 / (1.0 + np.exp(-z)), P_FLOOR, P_CEILING)


def _out_of_time_platt(periods: Sequence[Period], kind: str) -> tuple[tuple[float, float] | None, int, str]:
    """Platt curve of the ranking score on older periods scored by rankings fitted before them.

    Returns the curve (None when there is too little to fit it), the number of
    pairs and, without a curve, why.
    """
    from empathy.core.predict.risk import fit_logistic

    scores: list[float] = []
    outcomes: list[int] = []
    for i in range(min(len(periods) - 1, CALIBRATION_PERIODS)):
        older = periods[i + 1 :]
        rows, y = _flatten(older)
        files, labels = periods[i]
        if not files:
            continue
        if kind == PRIOR or len(rows) < MIN_TRAIN:
            trial_scores = rank_average(files)
        else:
            scale = _Scaler(np.asarray([f.vector() for f in rows], dtype=float))
            trial = FileModel(kind, _fit_ranker(kind, rows, y, scale), None, scale, 0.0, len(rows))
            trial_scores = trial.scores(files)
        scores.extend(float(v) for v in trial_scores)
        outcomes.extend(1 if v > 0 else 0 for v in labels)
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    if len(scores) < MIN_CALIBRATION or min(positives, negatives) < MIN_CALIBRATION_CLASS:
        why = (
            f"{len(scores)} out-of-time file-periods ({positives} with a fix) are too few to calibrate a probability"
            f" (at least {MIN_CALIBRATION}, {MIN_CALIBRATION_CLASS} with and without a fix)"
        )
        return None, len(scores), why
    coef, intercept = fit_logistic(np.asarray(scores, dtype=float).reshape(-1, 1), np.asarray(outcomes, dtype=float))
    return (float(coef[0]), float(intercept)), len(scores), ""


def train_file_model(periods: Sequence[Period]) -> FileModel:
    """Fit on labelled periods, newest first (labels: fix touches within the horizon)."""
    rows, y = _flatten(periods)
    base = float((y > 0).mean()) if len(y) else 0.0
    if len(rows) < MIN_TRAIN or (y > 0).sum() < 10 or (y == 0).sum() < 10:
        return FileModel(
            PRIOR,
            None,
            None,
            None,
            base,
            len(rows),
            fallback=f"only {len(rows)} labelled file-periods of history; ranking by the LOC/commits/TWR rank average",
        )
    ranking, validation = _select(periods)
    scale = _Scaler(np.asarray([f.vector() for f in rows], dtype=float))
    platt, n_cal, why = _out_of_time_platt(periods, ranking)
    return FileModel(
        ranking,
        _fit_ranker(ranking, rows, y, scale),
        None,
        scale,
        base,
        len(rows),
        validation=validation,
        platt=platt,
        calibration_rows=n_cal,
        uncalibrated=why,
        counter=_fit_counter(rows, y, scale),
    )
