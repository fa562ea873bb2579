"""Bug-fix history: which files keep needing fixes, and what introduced the bugs.

* A configurable classifier marks fix commits from their messages
  (``fix_pattern`` / ``fix_exclude_pattern`` in the core settings).
* Per file: fix count (all time and in the window) and Google's time-weighted
  risk, TWR(f) = sum over fixes of 1 / (1 + exp(-12 t + 12)), t the fix time
  normalised to [0, 1] from the first commit to now (Lewis et al. 2013).
* B-SZZ (``empathy.core.history.szz``) links fixes to the commits that
  introduced the changed lines; the links are stored for the change-risk
  model and summarised here (how long bugs lived before being fixed).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from empathy.plugin import (
    DAY,
    MiningContext,
    Pattern,
    date,
    hookimpl,
    percentile_ranks,
    run_szz,
    saturate,
    source_files,
    szz_links,
)

PLUGIN = "fixes"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"min_fixes": 3, "top_share": 0.15, "szz": True, "szz_budget": 150}


def _twr(times: list[int], start: int, now: int) -> float:
    span = max(now - start, 1)
    return sum(1.0 / (1.0 + math.exp(-12.0 * ((t - start) / span) + 12.0)) for t in times)


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    history = context.history
    cfg = context.settings
    files = source_files(context)
    start = min((c.committed_at for c in history.commits), default=0)
    now = history.now
    since = now - int(context.core_settings["window_days"]) * DAY
    fixes = [c for c in history.non_merge() if history.is_fix(c)]
    non_merge = sum(1 for _ in history.non_merge())

    szz_by_file: dict[str, list[float]] = defaultdict(list)
    szz_processed = 0
    if cfg.get("szz", True) and fixes:
        newest_first = [c.sha for c in reversed(fixes)]
        run_szz(
            context.repo,
            context.store,
            context.repo_id,
            newest_first,
            context.is_source,
            budget=int(cfg.get("szz_budget", 150)),
            progress=lambda i, n: context.progress(f"blaming fix lines {i}/{n}"),
        )
        when = {c.sha: c.committed_at for c in history.commits}
        links = szz_links(context.store, context.repo_id)
        szz_processed = len({link.fix_sha for link in links})
        for link in links:
            if link.inducing_sha in when and link.fix_sha in when:
                szz_by_file[link.path].append((when[link.fix_sha] - when[link.inducing_sha]) / DAY)

    by_file = history.touches_by_file
    stats: dict[int, dict[str, Any]] = {}
    for f in files:
        fix_times = [c.committed_at for c, _t in by_file.get(f.id, []) if history.is_fix(c)]
        if not fix_times:
            continue
        paths = {t.path for _c, t in by_file.get(f.id, [])}
        latencies = [d for p in paths for d in szz_by_file.get(p, [])]
        stats[f.id] = {
            "fixes_total": len(fix_times),
            "fixes_window": sum(1 for t in fix_times if t > since),
            "twr": round(_twr(fix_times, start, now), 3),
            "last_fix": date(max(fix_times)),
            "szz_links": len(latencies),
            "median_bug_age_days": round(statistics.median(latencies), 1) if latencies else None,
        }
    ranks = percentile_ranks({fid: s["twr"] for fid, s in stats.items()})
    min_fixes = int(cfg.get("min_fixes", 3))
    top_share = float(cfg.get("top_share", 0.15))
    patterns = []
    for f in files:
        s = stats.get(f.id)
        if s is None or s["fixes_total"] < min_fixes or ranks[f.id] < 1.0 - top_share:
            continue
        age = s["median_bug_age_days"]
        patterns.append(
            Pattern(
                kind="fix_prone",
                plugin=context.plugin or PLUGIN,
                subjects=[f.path],
                score=round(ranks[f.id], 4),
                confidence=round(saturate(s["fixes_total"], 5), 4),
                evidence={
                    **s,
                    "fix_share_of_repo": round(len(fixes) / max(non_merge, 1), 3),
                    "szz_fixes_processed": szz_processed,
                },
                summary=(
                    f"{s['fixes_total']} bug-fix commits ({s['fixes_window']} in the window), last {s['last_fix']}"
                    + (f"; fixed lines had lived a median {age:.0f} days" if age is not None else "")
                ),
            )
        )
    return patterns
