"""Ranking and calibration metrics for the backtest (docs/evaluation.md).

All rankings are lists of file ids, best first; ``labels`` maps a file id to
its number of bug-fix touches in the horizon (missing means 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["brier_skill", "expected_calibration_error", "precision_at", "touch_at", "touch_at_loc"]


def touch_at(ranked: Sequence[int], labels: Mapping[int, int], share: float) -> float:
    """Share of all fix touches that land in the top ``share`` of files."""
    total = sum(labels.get(f, 0) for f in ranked)
    if total == 0:
        return math.nan
    k = max(1, math.ceil(share * len(ranked)))
    return sum(labels.get(f, 0) for f in ranked[:k]) / total


def touch_at_loc(ranked: Sequence[int], labels: Mapping[int, int], loc: Mapping[int, int], share: float) -> float:
    """Share of fix touches in files taken in rank order until ``share`` of all lines (Rahman's effort)."""
    total = sum(labels.get(f, 0) for f in ranked)
    if total == 0:
        return math.nan
    budget = share * sum(loc.get(f, 0) for f in ranked)
    used = 0
    hit = 0
    for f in ranked:
        size = loc.get(f, 0)
        if used + size > budget:
            break
        used += size
        hit += labels.get(f, 0)
    return hit / total


def precision_at(ranked: Sequence[int], labels: Mapping[int, int], k: int = 10) -> float:
    """Share of the top ``k`` files that get at least one fix touch."""
    top = ranked[:k]
    if not top:
        return math.nan
    return sum(1 for f in top if labels.get(f, 0) > 0) / len(top)


def expected_calibration_error(probs: Sequence[float], outcomes: Sequence[int], bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of |mean p - observed rate| x bin share."""
    n = len(probs)
    if n == 0:
        return math.nan
    totals = [0] * bins
    psum = [0.0] * bins
    ysum = [0] * bins
    for p, y in zip(probs, outcomes, strict=True):
        b = min(int(p * bins), bins - 1)
        totals[b] += 1
        psum[b] += p
        ysum[b] += y
    return sum(abs(psum[b] / totals[b] - ysum[b] / totals[b]) * totals[b] / n for b in range(bins) if totals[b])


def brier_skill(probs: Sequence[float], outcomes: Sequence[int], base_rate: float) -> float:
    """1 - Brier(model) / Brier(always predicting ``base_rate``); > 0 beats the base rate."""
    n = len(probs)
    if n == 0:
        return math.nan
    brier = sum((p - y) ** 2 for p, y in zip(probs, outcomes, strict=True)) / n
    ref = sum((base_rate - y) ** 2 for y in outcomes) / n
    return 1.0 - brier / ref if ref > 0 else math.nan
