"""Change risk now: P(this change introduces a bug a later fix will repair).

The change (a commit range or the working tree) is described with the same
online features as the backtest (:func:`empathy.core.predict.jit.change_features`),
as if it were the next commit after the history it builds on, and scored by
the change model trained on every earlier change whose label is known today
(B-SZZ links from fixes up to now).  Each input's contribution (coefficient x
standardised value) is reported, so the score explains itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from empathy.core.history.szz import szz_links
from empathy.core.history.view import CommitInfo, History, Touch
from empathy.core.model import ChangeSet
from empathy.core.predict.jit import ChangeFeatures, change_features, labels
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store

__all__ = ["ChangeRisk", "CommitScores", "score_change", "score_history"]

MIN_TRAIN = 200
_FACTORS = ("lines added (log)", "marked as a bug fix", "author's familiarity with the files", "other churn (log)")


@dataclass
class ChangeRisk:
    probability: float
    base_rate: float
    percentile: float
    train_rows: int
    features: ChangeFeatures
    factors: list[tuple[str, float, float]] = field(default_factory=list)
    fallback: str = ""


def _x(rows: list[ChangeFeatures]) -> np.ndarray:
    return np.asarray(
        [[math.log1p(r.la), float(r.fix), r.familiarity, math.log1p(r.other_churn)] for r in rows], dtype=float
    ).reshape(len(rows), 4)


def _as_next_commit(history: History, change: ChangeSet, exclude: set[str], message: str) -> History:
    """The history without the change's own commits, plus the change as one more commit."""
    kept = [c for c in history.commits if c.sha not in exclude]
    ids = {f.path: f.id for f in history.files.values() if f.alive}
    next_id = -1
    touches = []
    for path, (added, deleted) in change.lines.items():
        fid = ids.get(path)
        if fid is None:
            fid, next_id = next_id, next_id - 1
        touches.append(Touch(fid, path, added, deleted))
    synthetic = CommitInfo(
        index=len(history.commits),
        sha=change.head or "WORKTREE",
        author=change.author_email,
        email=change.author_email,
        authored_at=history.now,
        committed_at=history.now,
        message=message,
        is_merge=False,
        touches=touches,
    )
    return History([*kept, synthetic], history.files, history.labels)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(t, -500.0, 500.0))), dtype=float)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (scikit-learn's default objective, C=1) by Newton's method.

    Minimises ``sum(log loss) + ||w||^2 / (2 C)`` (intercept not penalised), the
    objective ``LogisticRegression()`` minimises with lbfgs; the optimum is the
    same to ~1e-8.  Four standardised features need a handful of Newton steps,
    and importing scikit-learn cost more than the gate's whole warm budget
    allows (0.6-1.4 s of ``empathy gate`` and ``empathy risk``).
    """
    n, k = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    ridge = np.full(k + 1, 1.0 / c)
    ridge[0] = 0.0
    beta = np.zeros(k + 1)
    for _ in range(100):
        p = _sigmoid(design @ beta)
        grad = design.T @ (p - y) + ridge * beta
        hess = (design * (p * (1.0 - p))[:, None]).T @ design + np.diag(ridge)
        step = np.linalg.solve(hess + 1e-12 * np.eye(k + 1), grad)
        beta = beta - step
        if float(np.max(np.abs(step))) < tol:
            break
    return beta[1:], float(beta[0])


def score_change(
    repo: RepoInfo,
    store: Store,
    repo_id: int,
    history: History,
    change: ChangeSet,
    is_source: Callable[[str], bool],
    exclude_shas: set[str],
    message: str = "",
) -> ChangeRisk | None:
    """Score ``change``; None when it touches no source file."""
    # One online feature pass over the history with the change appended as its next
    # commit: the change's own commits are left out of both the training rows and the
    # features of what follows them (a pass per question cost 0.9 s each on pytest).
    target_sha = change.head or "WORKTREE"
    rows = change_features(_as_next_commit(history, change, exclude_shas, message), is_source)
    when = {c.sha: c.committed_at for c in history.commits}
    buggy = labels(szz_links(store, repo_id), when, known_by=history.now, is_source=is_source)
    train = rows[:-1] if rows and rows[-1].sha == target_sha else rows
    y = np.asarray([1 if r.sha in buggy else 0 for r in train])
    if len(train) == len(rows):
        return None
    target = rows[-1]
    base = float(y.mean()) if len(y) else 0.0
    if len(train) < MIN_TRAIN or y.sum() < 20 or (len(y) - y.sum()) < 20:
        return ChangeRisk(
            probability=base,
            base_rate=base,
            percentile=math.nan,
            train_rows=len(train),
            features=target,
            fallback=f"only {len(train)} earlier changes with known outcomes; showing the base rate",
        )
    x = _x(train)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    xs = (x - mean) / std
    coef, intercept = fit_logistic(xs, y)
    z = (_x([target]) - mean) / std
    prob = float(_sigmoid(z @ coef + intercept)[0])
    history_probs = _sigmoid(xs @ coef + intercept)
    contrib = coef * z[0]
    raw = [math.log1p(target.la), float(target.fix), target.familiarity, math.log1p(target.other_churn)]
    factors = sorted(zip(_FACTORS, raw, contrib.tolist(), strict=True), key=lambda f: -abs(f[2]))
    return ChangeRisk(
        probability=prob,
        base_rate=base,
        percentile=float((history_probs < prob).mean()),
        train_rows=len(train),
        features=target,
        factors=[(name, round(value, 3), round(c, 3)) for name, value, c in factors],
    )


@dataclass
class CommitScores:
    """Every scored commit's P(it introduces a bug a later fix repairs), from one model of the repository."""

    probability: dict[str, float]
    base_rate: float
    train_rows: int
    fallback: str = ""


def score_history(
    store: Store,
    repo_id: int,
    history: History,
    is_source: Callable[[str], bool],
    train_before: int,
) -> CommitScores:
    """Score every non-merge source commit of ``history`` with one change model.

    The model is trained on the commits before ``train_before`` (whose labels,
    B-SZZ links from fixes known now, have had time to arrive) and applied to
    all, so a range of commits can be compared with the repository's past
    ranges on one scale (the deployment gate does).  With too few labelled
    commits every commit gets the base rate and ``fallback`` says why.
    """
    rows = change_features(history, is_source)
    when = {c.sha: c.committed_at for c in history.commits}
    buggy = labels(szz_links(store, repo_id), when, known_by=history.now, is_source=is_source)
    train = [r for r in rows if r.time < train_before]
    y = np.asarray([1 if r.sha in buggy else 0 for r in train])
    base = float(y.mean()) if len(y) else 0.0
    if len(train) < MIN_TRAIN or y.sum() < 20 or (len(y) - y.sum()) < 20:
        fallback = f"only {len(train)} earlier changes with known outcomes; every commit counts at the base rate"
        return CommitScores({r.sha: base for r in rows}, base, len(train), fallback)
    x = _x(train)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    coef, intercept = fit_logistic((x - mean) / std, y)
    probs = _sigmoid(((_x(rows) - mean) / std) @ coef + intercept)
    return CommitScores({r.sha: float(p) for r, p in zip(rows, probs, strict=True)}, base, len(train))
