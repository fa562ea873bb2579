"""Change-level ("just-in-time") defect prediction: which commits introduce bugs.

Protocol (research notes, mining-and-prediction.md, "Change level (JIT)"):

* Features: Kamei et al.'s 14 change features (TSE 2013), computed *online*
  in commit order from the ingested ``--numstat`` history, so a commit's
  features only use commits before it; non-merge commits, source files only.
* Labels: a commit is bug-inducing when a B-SZZ link (``history.szz``) names
  it.  For training at a cutoff T only fixes committed by T count
  (:func:`labels` with ``known_by=T``): a bug found after T is the future.
* Split: train on commits <= T, test on (T, T + 12 months], with T = newest
  commit - {5, 4, 3, 2} years, so every test window ends at least a year
  before the data does and its bugs had time to be found and fixed.
* Metrics: AUC, and recall of bug-inducing commits when reviewing changes in
  rank order until 20 % of the effort (LA + LD) is spent, ranking by risk and
  by risk per changed line (EALR style); Brier skill and ECE for our
  probabilities.

Why the baselines matter: B-SZZ labels are mechanically tied to size (a big
change has more lines a later fix can blame), so "lines added" alone reaches
the AUC of all 14 features, and effort-aware recall is dominated by reviewing
small changes first (Yang et al. 2016).  A model has to beat those, not
random.

Our model (``OURS``) is deliberately plain, see ``_fit_ours``.  Measured on
pytest, flask, celery and scrapy (14 cutoffs, ``bench/eval_changes.py``) it
only matches the LA-only baseline: macro AUC 0.792 vs 0.788, recall at 20 %
effort ranked by risk per line 0.540 vs 0.530 (smallest first: 0.523).
"""

from __future__ import annotations

import importlib
import math
import random
import statistics
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from empathy.core.history.szz import SzzLink, run_szz, szz_links
from empathy.core.history.view import DAY, History
from empathy.core.predict.metrics import brier_skill, expected_calibration_error
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store

__all__ = [
    "EXTRA_FEATURES",
    "KAMEI_FEATURES",
    "METRICS",
    "OURS",
    "ChangeBacktest",
    "ChangeCutoff",
    "ChangeFeatures",
    "change_entropy",
    "change_features",
    "ensure_szz",
    "labels",
    "recall_at_effort",
    "run_change_backtest",
]

YEAR = 365 * DAY
KAMEI_FEATURES = ("ns", "nd", "nf", "entropy", "la", "ld", "lt", "fix", "ndev", "age", "nuc", "exp", "rexp", "sexp")
#: Our additions, all from history before the commit (see ``ChangeFeatures``).
EXTRA_FEATURES = ("prior_fixes", "familiarity", "other_churn", "new_files")
METRICS = ("AUC", "R@20%eff", "R@20%eff/effort")
OURS = "ours"
RANDOM_SEEDS = 20
MIN_CLASS = 10  # fewer labelled positives (or negatives) than this: the cutoff is skipped
SZZ_CHUNK = 200  # fixes blamed per run_szz call, so progress is persisted and reported


@dataclass(slots=True)
class ChangeFeatures:
    """One non-merge commit that touched source files, described as of just before it.

    Kamei's features (sums and unions run over the touched source files):
    ``ns``/``nd``/``nf`` distinct subsystems (top-level directories),
    directories and files; ``entropy`` of the changed lines across files,
    divided by log2(nf) when nf > 1; ``la``/``ld`` lines added/deleted;
    ``lt`` lines of the touched files before the change; ``fix`` whether the
    message marks a bug fix; ``ndev`` distinct earlier authors of the files;
    ``age`` mean days since each file (that existed) was last changed;
    ``nuc`` distinct earlier commits to the files; ``exp`` the author's
    earlier commits; ``rexp`` those weighted 1/(whole years ago + 1);
    ``sexp`` the author's earlier commits to the same subsystems.

    Extras: ``prior_fixes`` distinct earlier fix commits to the files (bugs
    cluster in files that needed fixes, Rahman et al.); ``familiarity`` the
    share of the files the author changed before (a newcomer to the code is
    riskier than its owner); ``other_churn`` lines changed in non-source
    files of the same commit (tests and docs that come with the change);
    ``new_files`` how many of the files did not exist before.  (A feature
    "LA relative to the repository's median change" would be a constant
    shift of log LA within one repository, so a per-repository model gains
    nothing from it; it is left out.)
    """

    sha: str
    index: int
    time: int
    author: str
    ns: int
    nd: int
    nf: int
    entropy: float
    la: int
    ld: int
    lt: int
    fix: bool
    ndev: int
    age: float
    nuc: int
    exp: int
    rexp: float
    sexp: int
    prior_fixes: int = 0
    familiarity: float = 0.0
    other_churn: int = 0
    new_files: int = 0

    @property
    def effort(self) -> int:
        """Review effort proxy: lines changed (LA + LD), as in effort-aware JIT work."""
        return self.la + self.ld

    def kamei(self) -> list[float]:
        """The 14 features, log1p-transformed like Kamei et al. did (all are counts >= 0, skewed)."""
        lg = math.log1p
        return [
            lg(self.ns),
            lg(self.nd),
            lg(self.nf),
            self.entropy,
            lg(self.la),
            lg(self.ld),
            lg(self.lt),
            float(self.fix),
            lg(self.ndev),
            lg(self.age),
            lg(self.nuc),
            lg(self.exp),
            lg(self.rexp),
            lg(self.sexp),
        ]

    def extras(self) -> list[float]:
        lg = math.log1p
        return [lg(self.prior_fixes), self.familiarity, lg(self.other_churn), lg(self.new_files)]


def change_entropy(churns: Sequence[int]) -> float:
    """Shannon entropy (bits) of how a change's lines spread over its files; 0 for one file or no lines."""
    total = sum(churns)
    if total <= 0:
        return 0.0
    return -sum((n / total) * math.log2(n / total) for n in churns if n > 0)


def _subsystem(path: str) -> str:
    return path.split("/", 1)[0] if "/" in path else ""


def _directory(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _union_size(sets: Sequence[set[Any]]) -> int:
    """Size of the union without copying when there is only one set (most commits touch one file)."""
    if not sets:
        return 0
    if len(sets) == 1:
        return len(sets[0])
    return len(set().union(*sets))


def change_features(history: History, is_source: Callable[[str], bool]) -> list[ChangeFeatures]:
    """Features of every non-merge commit touching a source file, in commit (parents-first) order.

    One pass keeps running per-file and per-author state and describes each
    commit *before* folding it in, so nothing after a commit reaches its
    features.  Per-file state follows the file entity (``file_id``), so a
    rename does not reset a file's size or history.  Per-file state is kept
    for every touched file, source or not (a file can move into a source
    directory); only source files enter the sums.  The line count is the
    running sum of added - deleted (clamped at 0): exact for text files
    since merges carry no changes in the ingest, cheap, and free of blob
    reads.  Author identity is the lower-cased e-mail, as elsewhere.
    """
    loc: dict[int, int] = {}
    last_change: dict[int, int] = {}
    devs: dict[int, set[str]] = {}
    commits_of: dict[int, set[int]] = {}
    fixes_of: dict[int, set[int]] = {}
    author_times: dict[str, list[int]] = {}
    author_buf: dict[str, np.ndarray] = {}
    author_files: dict[str, set[int]] = {}
    author_sub: dict[tuple[str, str], set[int]] = {}
    out: list[ChangeFeatures] = []
    for c in history.commits:
        if c.is_merge:
            continue
        author = c.email.lower() or c.author
        now = c.committed_at
        fix = history.is_fix(c)
        # Aggregate the touches of this commit per file entity (source files only).
        src: dict[int, list[Any]] = {}
        other = 0
        for t in c.touches:
            if is_source(t.path):
                entry = src.setdefault(t.file_id, [t.path, 0, 0])
                entry[1] += t.added or 0
                entry[2] += t.deleted or 0
            else:
                other += t.churn
        if src:
            fids = list(src)
            paths = [src[f][0] for f in fids]
            subsystems = {_subsystem(p) for p in paths}
            la = sum(src[f][1] for f in fids)
            ld = sum(src[f][2] for f in fids)
            nf = len(fids)
            ent = change_entropy([src[f][1] + src[f][2] for f in fids])
            if nf > 1:
                ent /= math.log2(nf)
            ages = [(now - last_change[f]) / DAY for f in fids if f in last_change]
            ndev = _union_size([devs[f] for f in fids if f in devs])
            nuc = _union_size([commits_of[f] for f in fids if f in commits_of])
            n_prior_fixes = _union_size([fixes_of[f] for f in fids if f in fixes_of])
            times = author_times.get(author, [])
            if times:
                earlier = author_buf[author][: len(times)]
                years = np.floor((now - earlier) / YEAR).clip(min=0)
                rexp = float((1.0 / (years + 1.0)).sum())
            else:
                rexp = 0.0
            sexp = _union_size([author_sub[(author, s)] for s in subsystems if (author, s) in author_sub])
            known = author_files.get(author, set())
            out.append(
                ChangeFeatures(
                    sha=c.sha,
                    index=c.index,
                    time=now,
                    author=author,
                    ns=len(subsystems),
                    nd=len({_directory(p) for p in paths}),
                    nf=nf,
                    entropy=ent,
                    la=la,
                    ld=ld,
                    lt=sum(max(loc.get(f, 0), 0) for f in fids),
                    fix=fix,
                    ndev=ndev,
                    age=max(statistics.fmean(ages), 0.0) if ages else 0.0,
                    nuc=nuc,
                    exp=len(times),
                    rexp=rexp,
                    sexp=sexp,
                    prior_fixes=n_prior_fixes,
                    familiarity=sum(1 for f in fids if f in known) / nf,
                    other_churn=other,
                    new_files=sum(1 for f in fids if f not in commits_of),
                )
            )
        # Fold the commit into the state (every file it touched, source or not).
        author_times.setdefault(author, []).append(now)
        # The same times as a growing float array, so rexp needs no list-to-array copy per commit.
        buf = author_buf.get(author)
        count = len(author_times[author])
        if buf is None or count > len(buf):
            grown = np.empty(max(16, 2 * count), dtype=float)
            if buf is not None:
                grown[: count - 1] = buf[: count - 1]
            author_buf[author] = buf = grown
        buf[count - 1] = now
        files_seen = author_files.setdefault(author, set())
        for t in c.touches:
            f = t.file_id
            loc[f] = max(loc.get(f, 0) + (t.added or 0) - (t.deleted or 0), 0)
            last_change[f] = now
            devs.setdefault(f, set()).add(author)
            commits_of.setdefault(f, set()).add(c.index)
            if fix:
                fixes_of.setdefault(f, set()).add(c.index)
            files_seen.add(f)
            author_sub.setdefault((author, _subsystem(t.path)), set()).add(c.index)
    return out


def labels(
    links: Iterable[SzzLink],
    commit_time_by_sha: Mapping[str, int],
    known_by: int,
    is_source: Callable[[str], bool] | None = None,
) -> set[str]:
    """Shas of commits named as bug-inducing by a fix committed at or before ``known_by``.

    This is the leakage guard of the training set: at a cutoff T a commit is
    buggy only if a fix *known at T* blamed it.  Links from fixes outside the
    history are ignored; ``is_source`` drops links blamed through non-source
    paths (the features describe source changes only).
    """
    out: set[str] = set()
    for link in links:
        when = commit_time_by_sha.get(link.fix_sha)
        if when is None or when > known_by:
            continue
        if is_source is not None and not is_source(link.path):
            continue
        out.add(link.inducing_sha)
    return out


def recall_at_effort(
    scores: Sequence[float], outcomes: Sequence[int], effort: Sequence[int], share: float = 0.2
) -> float:
    """Share of bug-inducing changes found reviewing in score order until ``share`` of all effort is spent.

    Ties keep the given order (callers pass changes in commit order), so the
    figure is deterministic.  Review stops at the first change that does not
    fit the budget, as with ``touch_at_loc``.
    """
    total = sum(outcomes)
    if total == 0:
        return math.nan
    budget = share * sum(effort)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    used = 0
    hit = 0
    for i in order:
        if used + effort[i] > budget:
            break
        used += effort[i]
        hit += outcomes[i]
    return hit / total


def _auc(outcomes: Sequence[int], scores: Sequence[float]) -> float:
    if len(set(outcomes)) < 2:
        return math.nan
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(outcomes, scores))


# ---------------------------------------------------------------- models


def _kamei_x(rows: Sequence[ChangeFeatures]) -> np.ndarray:
    return np.asarray([r.kamei() for r in rows], dtype=float).reshape(len(rows), len(KAMEI_FEATURES))


def _ours_x(rows: Sequence[ChangeFeatures]) -> np.ndarray:
    width = len(KAMEI_FEATURES) + len(EXTRA_FEATURES)
    return np.asarray([r.kamei() + r.extras() for r in rows], dtype=float).reshape(len(rows), width)


def _la_x(rows: Sequence[ChangeFeatures]) -> np.ndarray:
    return np.asarray([[math.log1p(r.la)] for r in rows], dtype=float).reshape(len(rows), 1)


def _logistic(balanced: bool, c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    weight = "balanced" if balanced else None
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight=weight, max_iter=2000))


def _boosting() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50, l2_regularization=1.0, random_state=0
    )


def one_thread() -> Any:
    """Limit OpenMP/BLAS to one thread: on small data (a few thousand changes) the
    thread start-up dominates, and on a 2-core VM gradient boosting ran 25x slower
    with two threads than with one (5.4 s vs 0.23 s for 1,500 rows)."""
    threadpoolctl = importlib.import_module("threadpoolctl")  # a scikit-learn dependency, untyped
    return threadpoolctl.threadpool_limits(1)


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        model.fit(x, y)
    return model


def _proba(model: Any, x: np.ndarray) -> np.ndarray:
    with one_thread():
        return np.asarray(model.predict_proba(x)[:, 1], dtype=float)


Predictor = Callable[[Sequence[ChangeFeatures]], np.ndarray]
Trainer = Callable[[Sequence[ChangeFeatures], np.ndarray], Predictor]


def _ours_small_x(rows: Sequence[ChangeFeatures]) -> np.ndarray:
    return np.asarray(
        [[math.log1p(r.la), float(r.fix), r.familiarity, math.log1p(r.other_churn)] for r in rows], dtype=float
    ).reshape(len(rows), 4)


def _trainer(make: Callable[[], Any], features: Callable[[Sequence[ChangeFeatures]], np.ndarray]) -> Trainer:
    def train(rows: Sequence[ChangeFeatures], y: np.ndarray) -> Predictor:
        model = _fit(make(), features(rows), y)
        return lambda test: _proba(model, features(test))

    return train


def _l1_logistic() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.05, penalty="l1", solver="liblinear"))


def _mean_of(first: Trainer, second: Trainer) -> Trainer:
    def train(rows: Sequence[ChangeFeatures], y: np.ndarray) -> Predictor:
        a, b = first(rows, y), second(rows, y)
        return lambda test: (a(test) + b(test)) / 2.0

    return train


_LR_ALL = _trainer(lambda: _logistic(balanced=False), _ours_x)
_SMALL_LR = _trainer(lambda: _logistic(balanced=False), _ours_small_x)
_GBM_ALL = _trainer(_boosting, _ours_x)

#: The candidates "ours" was chosen from (``candidates=True`` scores them all, for the record).
CANDIDATES: dict[str, Trainer] = {
    "cand: LR, 14 Kamei + 4 extras": _LR_ALL,
    "cand: L1-LR (C=0.05), 14 Kamei + 4 extras": _trainer(_l1_logistic, _ours_x),
    "cand: GBM, 14 Kamei + 4 extras": _GBM_ALL,
    "cand: mean of LR and GBM, 18 features": _mean_of(_LR_ALL, _GBM_ALL),
    "cand: LR, LA + FIX + familiarity + other churn": _SMALL_LR,
}


def _fit_ours(rows: Sequence[ChangeFeatures], y: np.ndarray) -> Predictor:
    """Our change-risk model: plain logistic regression (not class-balanced, so its
    probabilities can be shown as such) on log1p(LA), FIX, familiarity and
    log1p(other churn).

    Why so few inputs: under B-SZZ labels lines added carries nearly all the
    signal (a change with more new lines has more lines a later fix can
    blame), and the other Kamei features mostly re-measure size.  Fed all 18
    features, logistic regression did slightly worse than LA alone and
    gradient boosting clearly worse (it overfits the size/label coupling of
    older years); dropping the last six months of immature training labels,
    recency weighting, an author's past bug-introducing rate and a per-file
    "lines later deleted by fixes per line added" exposure did not help
    either.  The three additions keep small, stable coefficients next to
    LA's (standardised: LA ~1.0; FIX +0.01..+0.13 on every cutoff, since fix
    commits are often fixed again; familiarity -0.01..+0.13 and other churn
    -0.03..+0.15, i.e. changes to code the author already worked on, and
    changes that come with test/doc edits, are slightly more often blamed
    later: they modify existing, actively maintained code rather than add
    new modules).  Chosen by macro AUC and effort-aware recall among
    ``CANDIDATES`` on the four evaluation repositories (pytest, flask,
    celery, scrapy), so the comparison is optimistic for ours; the margin
    over LA alone is within cutoff-to-cutoff noise.  Read it as "as good as
    the best baseline, with probabilities that can be shown as such", not as
    a proven gain.
    """
    return _SMALL_LR(rows, y)


# ---------------------------------------------------------------- backtest


@dataclass
class ChangeCutoff:
    """One cutoff: sizes, label rates and every model's scores on the same test changes."""

    at: int
    train: int
    train_buggy: int
    test: int
    test_buggy: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    calibration: dict[str, float] = field(default_factory=dict)


@dataclass
class ChangeBacktest:
    """Per-cutoff results; ``szz_pending`` > 0 means labels are incomplete (budget too small)."""

    horizon_days: int
    fixes: int
    szz_pending: int
    links: int
    cutoffs: list[ChangeCutoff] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def models(self) -> list[str]:
        return list(self.cutoffs[0].scores) if self.cutoffs else []

    def mean(self, model: str, metric: str) -> float:
        vals = [c.scores[model][metric] for c in self.cutoffs if not math.isnan(c.scores[model][metric])]
        return statistics.fmean(vals) if vals else math.nan

    def mean_calibration(self, key: str) -> float:
        vals = [c.calibration[key] for c in self.cutoffs if not math.isnan(c.calibration.get(key, math.nan))]
        return statistics.fmean(vals) if vals else math.nan


def _score(
    risk: Sequence[float] | np.ndarray, outcomes: list[int], effort: list[int], per_effort: bool = True
) -> dict[str, float]:
    r = [float(v) for v in risk]
    dense = [v / max(e, 1) for v, e in zip(r, effort, strict=True)]
    return {
        "AUC": _auc(outcomes, r),
        "R@20%eff": recall_at_effort(r, outcomes, effort),
        "R@20%eff/effort": recall_at_effort(dense, outcomes, effort) if per_effort else math.nan,
    }


def ensure_szz(
    repo: RepoInfo,
    store: Store,
    repo_id: int,
    history: History,
    is_source: Callable[[str], bool],
    budget: int,
    progress: Callable[[str], None] = lambda _m: None,
) -> int:
    """Blame every fix not yet processed (newest first, in persisted chunks); returns how many are left."""
    fixes = [c.sha for c in reversed(history.commits) if not c.is_merge and history.is_fix(c)]
    done = 0

    def report(i: int, total: int) -> None:
        progress(f"SZZ: {done} fixes blamed, next chunk: file {i}/{total}")

    while done < budget:
        n = run_szz(
            repo,
            store,
            repo_id,
            fixes,
            is_source,
            budget=min(SZZ_CHUNK, budget - done),
            progress=report,
        )
        if n == 0:
            break
        done += n
        progress(f"SZZ: {done} fixes blamed this run")
    processed = _processed_fixes(store, repo_id)
    return sum(1 for s in fixes if s not in processed)


def _processed_fixes(store: Store, repo_id: int) -> set[str]:
    from sqlalchemy import select

    from empathy.core.store.tables import SzzRow

    table = SzzRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return set(conn.execute(select(table.c.fix_sha).where(table.c.repo_id == repo_id).distinct()).scalars())


def run_change_backtest(
    repo: RepoInfo,
    store: Store,
    repo_id: int,
    history: History,
    is_source: Callable[[str], bool],
    szz_budget: int = 1_000_000,
    horizon_days: int = 365,
    years_back: Sequence[int] = (5, 4, 3, 2),
    progress: Callable[[str], None] = lambda _m: None,
    szz_is_source: Callable[[str], bool] | None = None,
    candidates: bool = False,
    min_class: int = MIN_CLASS,
) -> ChangeBacktest:
    """Score our change-risk model and the JIT baselines at yearly cutoffs on the same changes.

    SZZ runs first for every fix up to the newest commit (test labels may use
    any later fix); it persists per fix, so a rerun only blames new fixes.
    ``szz_is_source`` decides which files are blamed (default ``is_source``;
    pass the miners' wider source filter to keep the store shared with the
    ``fixes`` plugin); labels only count links through ``is_source`` paths.
    A cutoff whose test window would end less than a year before the newest
    commit is skipped (its bugs would not have had time to be fixed), as is
    one with fewer than ``min_class`` buggy or clean changes to train or test on.
    """
    progress("SZZ: checking which fixes are blamed")
    pending = ensure_szz(repo, store, repo_id, history, szz_is_source or is_source, szz_budget, progress)
    links = szz_links(store, repo_id)
    progress("features")
    rows = change_features(history, is_source)
    when = {c.sha: c.committed_at for c in history.commits}
    horizon = horizon_days * DAY
    newest = history.now
    fixes = sum(1 for c in history.non_merge() if history.is_fix(c))
    result = ChangeBacktest(horizon_days=horizon_days, fixes=fixes, szz_pending=pending, links=len(links))
    all_buggy = labels(links, when, known_by=newest, is_source=is_source)
    for k in years_back:
        at = newest - k * YEAR
        if at + horizon > newest - YEAR:
            result.skipped.append(f"T-{k}y: test window ends less than a year before the data")
            continue
        train = [r for r in rows if r.time <= at]
        test = [r for r in rows if at < r.time <= at + horizon]
        known = labels(links, when, known_by=at, is_source=is_source)
        y_train = np.asarray([1 if r.sha in known else 0 for r in train], dtype=int)
        outcomes = [1 if r.sha in all_buggy else 0 for r in test]
        n_pos, n_test_pos = int(y_train.sum()), sum(outcomes)
        if min(n_pos, len(train) - n_pos) < min_class or min(n_test_pos, len(test) - n_test_pos) < min_class:
            result.skipped.append(
                f"T-{k}y: too few labelled changes (train {n_pos}/{len(train)}, test {n_test_pos}/{len(test)} buggy)"
            )
            continue
        progress(f"cutoff T-{k}y: {len(train)} train, {len(test)} test changes")
        effort = [r.effort for r in test]
        cut = ChangeCutoff(at=at, train=len(train), train_buggy=n_pos, test=len(test), test_buggy=n_test_pos)
        rng = random.Random(at)
        rnd: dict[str, list[float]] = {m: [] for m in METRICS}
        for _ in range(RANDOM_SEEDS):
            for m, v in _score([rng.random() for _ in test], outcomes, effort).items():
                rnd[m].append(v)
        cut.scores["random"] = {m: statistics.fmean(v) for m, v in rnd.items()}
        # Size-only orderings: their risk/effort ranking is degenerate (all ~1), so it is not reported.
        cut.scores["churn size LA+LD"] = _score([float(e) for e in effort], outcomes, effort, per_effort=False)
        smallest = _score([-float(e) for e in effort], outcomes, effort, per_effort=False)
        smallest["AUC"] = math.nan  # 1 - AUC(churn size) by construction; not a risk score
        cut.scores["smallest change first"] = smallest
        la_model = _fit(_logistic(balanced=False), _la_x(train), y_train)
        cut.scores["LR on LA only"] = _score(_proba(la_model, _la_x(test)), outcomes, effort)
        kamei = _fit(_logistic(balanced=True), _kamei_x(train), y_train)
        cut.scores["LR on 14 Kamei (balanced)"] = _score(_proba(kamei, _kamei_x(test)), outcomes, effort)
        probs = _fit_ours(train, y_train)(test)
        cut.scores[OURS] = _score(probs, outcomes, effort)
        if candidates:
            for name, trainer in CANDIDATES.items():
                cut.scores[name] = _score(trainer(train, y_train)(test), outcomes, effort)
        base = n_pos / len(train)
        cut.calibration = {
            "brier_skill": brier_skill(list(probs), outcomes, base),
            "ece": expected_calibration_error([min(max(float(p), 0.0), 1.0) for p in probs], outcomes),
            "rate_train": base,
            "rate_test": n_test_pos / len(test),
        }
        result.cutoffs.append(cut)
    return result
