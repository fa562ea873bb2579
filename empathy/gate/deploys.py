"""How risky a deploy is, compared with this repository's own past deploys.

A release is not one giant commit: scored that way by a per-commit model it
always lands in the top percentile, and the first gate blocked 9 of black's
last 10 releases.  So a range is scored by its commits: each non-merge source
commit gets P(it introduces a bug a later fix repairs) from one change model
of the repository (:func:`empathy.core.predict.risk.score_history`), and the
range's score is their sum, the expected number of bug-introducing commits it
ships.  The same score is computed for the repository's past deploys (the
ranges between consecutive release tags, or, with fewer than
``MIN_PAST`` tags, consecutive windows of as many commits as this range),
and the range's **risk is its percentile among them**.  Thresholds on that
percentile therefore mean a share of past deploys: warn at 0.70 and block at
0.90 would have warned on at most 30% and blocked at most 10% of them, and the
report counts how many exactly.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from empathy.core.model import ChangeSet
from empathy.core.predict.risk import CommitScores, score_history

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["MAX_PAST", "MIN_PAST", "PastDeploy", "RangeRisk", "percentile_among", "range_risk"]

#: Fewer past deploys than this and the gate cannot say how unusual a range is: inconclusive.
MIN_PAST = 5
#: The most recent past deploys compared with (older ones describe another project).
MAX_PAST = 40


@dataclass(frozen=True)
class PastDeploy:
    """One past deploy: its name (a tag, or a window), its size and its score."""

    name: str
    commits: int
    expected: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "commits": self.commits, "expected_buggy_commits": round(self.expected, 4)}


@dataclass
class RangeRisk:
    """A range's expected bug-introducing commits and its percentile among past deploys."""

    expected: float
    commits: int
    scored_commits: int
    percentile: float | None
    compared_with: str
    past: list[PastDeploy] = field(default_factory=list)
    base_rate: float = 0.0
    train_rows: int = 0
    fallback: str = ""

    def would(self, threshold: float) -> int:
        """How many of the past deploys reach ``threshold`` among the others (leave one out)."""
        scores = sorted(p.expected for p in self.past)
        count = 0
        for p in self.past:
            others = len(scores) - 1
            if others <= 0:
                continue
            below = bisect.bisect_left(scores, p.expected)
            ties = bisect.bisect_right(scores, p.expected) - below - 1
            if (below + 0.5 * ties) / others >= threshold:
                count += 1
        return count

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected_buggy_commits": round(self.expected, 4),
            "commits": self.commits,
            "scored_commits": self.scored_commits,
            "percentile": None if self.percentile is None else round(self.percentile, 4),
            "compared_with": self.compared_with,
            "past_deploys": len(self.past),
            "past": [p.to_dict() for p in self.past[-10:]],
            "base_rate": round(self.base_rate, 4),
            "train_rows": self.train_rows,
            "fallback": self.fallback or None,
        }


def percentile_among(value: float, others: list[float]) -> float:
    """Share of ``others`` below ``value`` (ties count half): 0.9 means riskier than 90% of them."""
    if not others:
        return math.nan
    ordered = sorted(others)
    below = bisect.bisect_left(ordered, value)
    ties = bisect.bisect_right(ordered, value) - below
    return (below + 0.5 * ties) / len(ordered)


def _sum(scores: CommitScores, shas: list[str]) -> tuple[float, int]:
    got = [scores.probability[s] for s in shas if s in scores.probability]
    return float(sum(got)), len(got)


def range_risk(
    ws: Workspace, change: ChangeSet, base_time: int, tag_pattern: str, as_one_change: float | None = None
) -> RangeRisk:
    """Score ``change`` (a range of commits) against the repository's deploys before ``base_time``.

    Commits of the range that the ingested history does not hold (a pull
    request's branch, when HEAD is the target branch) cannot be scored one by
    one; they count together as one change, with ``as_one_change`` (the change
    model's probability for the range as a whole) when it is given.
    """
    from empathy.gate.track_record import release_tags

    history = ws.history()
    scores = score_history(ws.store, ws.repo_id, history, ws.is_python_source, train_before=base_time)
    expected, scored = _sum(scores, list(change.commits))
    known = {c.sha for c in history.commits}
    if as_one_change is not None and any(s not in known for s in change.commits):
        expected += as_one_change
        scored += 1
    commits = [c for c in history.commits if not c.is_merge and c.committed_at <= base_time]
    times = [c.committed_at for c in commits]
    in_history = {c.sha: c for c in history.commits}
    tagged = sorted(
        {(in_history[sha].committed_at, tag) for tag, sha in release_tags(ws.repo, tag_pattern) if sha in in_history}
    )
    tagged = [(t, tag) for t, tag in tagged if t <= base_time]
    past: list[PastDeploy] = []
    for (start, _a), (end, tag) in itertools.pairwise(tagged):
        if end == start:
            continue
        members = [c.sha for c in commits[bisect.bisect_right(times, start) : bisect.bisect_right(times, end)]]
        if members:
            total, _n = _sum(scores, members)
            past.append(PastDeploy(tag, len(members), total))
    compared_with = "the ranges between release tags"
    if len(past) < MIN_PAST:
        size = max(1, sum(1 for s in change.commits if s not in in_history or not in_history[s].is_merge))
        past = []
        for k in range(len(commits) // size):
            window = commits[len(commits) - (k + 1) * size : len(commits) - k * size]
            total, _n = _sum(scores, [c.sha for c in window])
            past.append(PastDeploy(f"the {size} commits up to {window[-1].sha[:10]}", size, total))
            if len(past) >= MAX_PAST:
                break
        past.reverse()
        compared_with = f"windows of {size} consecutive commits, as there are fewer than {MIN_PAST} release ranges"
    past = past[-MAX_PAST:]
    percentile = percentile_among(expected, [p.expected for p in past]) if len(past) >= MIN_PAST else None
    return RangeRisk(
        expected=expected,
        commits=len(change.commits),
        scored_commits=scored,
        percentile=percentile,
        compared_with=compared_with,
        past=past,
        base_rate=scores.base_rate,
        train_rows=scores.train_rows,
        fallback=scores.fallback,
    )
