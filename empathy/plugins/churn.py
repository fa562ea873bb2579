"""Churn and hotspots: files that change often and are big.

hotspot score = commits in the recent window x log2(1 + LOC at HEAD), the
classic CodeScene formulation; the research pilot found it among the best
single history rankings (touch@20% 0.58, see docs/evaluation.md).  A file is
reported when it is in the top ``top_share`` of source files by that score
and changed at least ``min_commits`` times in the window.
"""

from __future__ import annotations

import math
from typing import Any

from empathy.plugin import (
    DAY,
    MiningContext,
    Pattern,
    date,
    head_loc,
    hookimpl,
    percentile_ranks,
    saturate,
    source_files,
)

PLUGIN = "churn"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"top_share": 0.1, "min_commits": 3}


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    history = context.history
    window = int(context.core_settings["window_days"])
    since = history.now - window * DAY
    files = source_files(context)
    loc = head_loc(context, files)
    by_file = history.deliberate_touches_by_file
    stats: dict[int, dict[str, Any]] = {}
    for f in files:
        touches = by_file.get(f.id, [])
        recent = [(c, t) for c, t in touches if c.committed_at > since]
        stats[f.id] = {
            "commits_window": len(recent),
            "commits_total": len(touches),
            "lines_churned_window": sum(t.churn for _c, t in recent),
            "authors_window": len({c.email for c, _t in recent}),
            "loc": loc.get(f.id, 0),
            "last_change": date(max((c.committed_at for c, _t in touches), default=0)),
        }
    scores = {fid: s["commits_window"] * math.log2(1 + s["loc"]) for fid, s in stats.items()}
    ranks = percentile_ranks(scores)
    ordered = sorted(scores.values(), reverse=True)
    top_share = float(context.settings.get("top_share", 0.1))
    min_commits = int(context.settings.get("min_commits", 3))
    patterns = []
    for f in files:
        s = stats[f.id]
        if s["commits_window"] < min_commits or ranks[f.id] < 1.0 - top_share:
            continue
        patterns.append(
            Pattern(
                kind="hotspot",
                plugin=context.plugin or PLUGIN,
                subjects=[f.path],
                score=round(ranks[f.id], 4),
                confidence=round(saturate(s["commits_window"], 5), 4),
                evidence={
                    **s,
                    "rank": ordered.index(scores[f.id]) + 1,
                    "hotspot_score": round(scores[f.id], 2),
                    "window_days": window,
                },
                summary=(
                    f"{s['commits_window']} commits in the last {window} days on "
                    f"{s['loc']} lines; #{ordered.index(scores[f.id]) + 1} of {len(files)} source files"
                ),
            )
        )
    return patterns
