"""Time-split backtest of file-level bug-fix forecasts against baselines.

Protocol (docs/evaluation.md): rolling yearly cutoffs T = newest commit - k
years; inputs are the history and tree at T; truth is the bug-fix touches in
(T, T + horizon]; our model is trained only on snapshots whose labels were
complete by T.  Every ranking is scored on the same files and cutoffs.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from empathy.core.history.view import DAY, History
from empathy.core.predict.filemodel import Period, density_per_line, rank_average, train_file_model
from empathy.core.predict.metrics import (
    brier_skill,
    expected_calibration_error,
    precision_at,
    touch_at,
    touch_at_loc,
)
from empathy.core.predict.snapshot import FileSnapshot, Snapshot, fix_touches_between, take_snapshot
from empathy.core.repo import RepoInfo

__all__ = ["CutoffResult", "FileBacktest", "run_file_backtest"]

METRICS = ("touch@10%", "touch@20%", "touch@20%LOC", "P@10")
#: Our forecast exposes two orders: by risk (scored on touch@k% and P@10) and by
#: risk per line (scored on touch@20%LOC, where effort is lines read); "ours
#: (model)" combines them, the two rows below it show each order on every metric.
OURS = "ours (model)"
OURS_RISK = "ours, risk order"
OURS_PER_LINE = "ours, per-line order"
RANDOM_SEEDS = 20


@dataclass
class CutoffResult:
    at: int
    files: int
    fix_touches: int
    train_rows: int
    ranking: str = ""
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    calibration: dict[str, float] = field(default_factory=dict)


@dataclass
class FileBacktest:
    horizon_days: int
    cutoffs: list[CutoffResult] = field(default_factory=list)
    #: every cutoff's (probability, outcome) pairs, for an ECE estimated on all of them:
    #: with 70-90 files per cutoff a per-cutoff ECE is mostly sampling noise.
    pooled: list[tuple[float, int]] = field(default_factory=list)
    #: cutoffs with no fix in their window (kept for calibration, not ranked), and cutoffs without a probability
    quiet_cutoffs: int = 0
    uncalibrated: int = 0

    @property
    def pooled_ece(self) -> float:
        if not self.pooled:
            return math.nan
        probs, outcomes = zip(*self.pooled, strict=True)
        return expected_calibration_error(list(probs), list(outcomes))

    def summary(self) -> dict[str, object]:
        """Means per ranking and metric, plus calibration: what a track record shows."""
        rankings = {r: {m: round(self.mean(r, m), 4) for m in METRICS} for r in self.rankings()}
        cal = [c.calibration for c in self.cutoffs]
        baselines = {r: v for r, v in rankings.items() if not r.startswith(("ours", "oracle")) and r != "random"}
        best = max(baselines, key=lambda r: baselines[r]["touch@20%"]) if baselines else ""
        best_loc = max(baselines, key=lambda r: baselines[r]["touch@20%LOC"]) if baselines else ""
        return {
            "horizon_days": self.horizon_days,
            "cutoffs": len(self.cutoffs),
            "rankings": rankings,
            **rankings.get(OURS, {}),
            "best_baseline": best,
            "best_baseline_loc": best_loc,
            "ece": _finite_mean(c["ece"] for c in cal),
            "brier_skill": _finite_mean(c["brier_skill"] for c in cal),
            "ece_pooled": round(self.pooled_ece, 4) if self.pooled else None,
            "calibration_pairs": len(self.pooled),
            "quiet_cutoffs": self.quiet_cutoffs,
            "uncalibrated_cutoffs": self.uncalibrated,
        }

    def mean(self, ranking: str, metric: str) -> float:
        vals = [c.scores[ranking][metric] for c in self.cutoffs if not math.isnan(c.scores[ranking][metric])]
        return statistics.fmean(vals) if vals else math.nan

    def rankings(self) -> list[str]:
        return list(self.cutoffs[0].scores) if self.cutoffs else []


def _finite_mean(values: Iterable[float]) -> float | None:
    kept = [v for v in values if not math.isnan(v)]
    return round(statistics.fmean(kept), 4) if kept else None


def _order(files: list[FileSnapshot], scores: np.ndarray | list[float]) -> list[int]:
    # Ties broken by path so every ranking is deterministic.
    idx = sorted(range(len(files)), key=lambda i: (-float(scores[i]), files[i].path))
    return [files[i].file_id for i in idx]


def _fixcache(history: History, snap: Snapshot, share: float = 0.1) -> list[int]:
    """FixCache-lite (Kim et al. 2007): an LRU cache of 10% of files, loaded on fixes,
    with new files and the co-changed files of a fix prefetched; ranked by cache
    membership, then recency."""
    alive = {f.file_id for f in snap.files}
    size = max(1, int(share * len(alive)))
    cache: OrderedDict[int, None] = OrderedDict()
    seen: set[int] = set()
    last: dict[int, int] = {}

    def load(fid: int) -> None:
        cache[fid] = None
        cache.move_to_end(fid)
        while len(cache) > size:
            cache.popitem(last=False)

    for c in history.commits:
        if c.committed_at > snap.at:
            break
        ids = [t.file_id for t in c.touches if t.file_id in alive]
        for fid in ids:
            last[fid] = c.committed_at
            if fid not in seen:
                seen.add(fid)
                load(fid)  # new-file prefetch
        if history.is_fix(c):
            for fid in ids:
                load(fid)
    in_cache = list(reversed(cache))
    rest = sorted((f for f in alive if f not in cache), key=lambda f: -last.get(f, 0))
    return in_cache + rest


def _score(ranked: list[int], labels: dict[int, int], loc: dict[int, int]) -> dict[str, float]:
    return {
        "touch@10%": touch_at(ranked, labels, 0.10),
        "touch@20%": touch_at(ranked, labels, 0.20),
        "touch@20%LOC": touch_at_loc(ranked, labels, loc, 0.20),
        "P@10": precision_at(ranked, labels, 10),
    }


def run_file_backtest(
    repo: RepoInfo,
    history: History,
    is_source: Callable[[str], bool],
    horizon_days: int = 365,
    cutoffs: int = 6,
    progress: Callable[[str], None] = lambda _m: None,
    max_train_snapshots: int = 12,
) -> FileBacktest:
    horizon = horizon_days * DAY
    first = min(c.committed_at for c in history.commits)
    last = history.now
    result = FileBacktest(horizon_days=horizon_days)
    # Snapshots one horizon apart, newest cutoff = last - horizon (its labels end at `last`).
    grid: list[int] = []
    t = last - horizon
    while t - first >= horizon and len(grid) < cutoffs + max_train_snapshots:
        grid.append(t)  # at least one horizon of history before each snapshot
        t -= horizon
    snaps: dict[int, Snapshot] = {}
    labels: dict[int, dict[int, int]] = {}
    for at in grid:
        progress(f"snapshot {len(snaps) + 1}/{len(grid)}")
        snap = take_snapshot(repo, history, at, is_source)
        if snap is not None and snap.files:
            snaps[at] = snap
            labels[at] = fix_touches_between(history, at, at + horizon)
    for at in grid[:cutoffs]:
        if at not in snaps:
            continue
        snap = snaps[at]
        truth = {f.file_id: labels[at].get(f.file_id, 0) for f in snap.files}
        total = sum(truth.values())
        progress(f"cutoff {len(result.cutoffs) + 1}: training")
        periods: list[Period] = [
            (t_snap.files, [labels[t_at].get(f.file_id, 0) for f in t_snap.files])
            for t_at, t_snap in sorted(snaps.items(), reverse=True)
            if t_at + horizon <= at  # labels complete by the cutoff: no leakage
        ]
        model = train_file_model(periods)
        files = snap.files
        probs_or_none = model.probabilities(files)
        outcomes = [1 if truth[f.file_id] > 0 else 0 for f in files]
        if probs_or_none is not None:
            # every window counts for calibration, also one without any fix (where p=1 would be most wrong)
            result.pooled.extend(zip((float(p) for p in probs_or_none), outcomes, strict=True))
        else:
            result.uncalibrated += 1
        if total == 0:
            result.quiet_cutoffs += 1  # no fix to rank: the ranking metrics are undefined here
            continue
        loc = {f.file_id: f.loc for f in files}
        rankings: dict[str, list[int]] = {
            OURS_RISK: _order(files, model.scores(files)),
            OURS_PER_LINE: _order(files, model.per_line(files)),
            "LOC": _order(files, [f.loc for f in files]),
            "commits 12m": _order(files, [f.commits_12m for f in files]),
            "prior fixes": _order(files, [f.fixes_all for f in files]),
            "Google TWR": _order(files, [f.twr for f in files]),
            "FixCache": _fixcache(history, snap),
            "rank avg (LOC, commits 12m, TWR)": _order(files, rank_average(files)),
            "fix+commit density per line": _order(files, density_per_line(files)),
            "commits 12m per line": _order(files, [f.commits_12m / max(f.loc, 1) for f in files]),
            "oracle": _order(files, [truth[f.file_id] for f in files]),
            # the oracle of the effort metric: actual future fix touches per line
            "oracle per line": _order(files, [truth[f.file_id] / max(f.loc, 1) for f in files]),
        }
        cut = CutoffResult(
            at=at, files=len(files), fix_touches=total, train_rows=model.train_rows, ranking=model.ranking
        )
        rng = random.Random(at)
        rnd: dict[str, list[float]] = {m: [] for m in METRICS}
        ids = [f.file_id for f in files]
        for _ in range(RANDOM_SEEDS):
            shuffled = ids[:]
            rng.shuffle(shuffled)
            for m, v in _score(shuffled, truth, loc).items():
                rnd[m].append(v)
        cut.scores["random"] = {m: statistics.fmean(v) for m, v in rnd.items()}
        scored = {name: _score(ranked, truth, loc) for name, ranked in rankings.items()}
        cut.scores[OURS] = {**scored[OURS_RISK], "touch@20%LOC": scored[OURS_PER_LINE]["touch@20%LOC"]}
        cut.scores.update(scored)
        probs = [math.nan] * len(files) if probs_or_none is None else [float(p) for p in probs_or_none]
        cut.calibration = {
            "ece": expected_calibration_error(probs, outcomes) if probs_or_none is not None else math.nan,
            "brier_skill": brier_skill(probs, outcomes, model.base_rate) if probs_or_none is not None else math.nan,
            "base_rate_train": model.base_rate,
            "rate_test": sum(outcomes) / len(outcomes),
            "trained": 0.0 if model.fallback else 1.0,
        }
        result.cutoffs.append(cut)
    return result
