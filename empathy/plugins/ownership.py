"""Ownership and knowledge: who knows each file, and who has left.

* main developer = the author with most added lines; ownership = their share
  (code-maat ``main-dev``);
* fragmentation FV = 1 - sum over authors (commits_a / commits)^2 (D'Ambros);
* knowledge island: one author holds at least ``island_share`` of the added
  lines of a file with at least ``min_commits`` commits;
* knowledge loss: authors with no commit in the repository for
  ``inactive_days`` hold at least ``loss_share`` of the added lines of a file
  that is still being changed (a commit in the recent window): code nobody
  touches any more is not at risk from its authors' absence.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from empathy.plugin import DAY, MiningContext, Pattern, date, hookimpl, saturate, source_files

PLUGIN = "ownership"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"island_share": 0.8, "loss_share": 0.5, "min_commits": 5, "inactive_days": 365}


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    history = context.history
    cfg = context.settings
    island_share = float(cfg.get("island_share", 0.8))
    loss_share = float(cfg.get("loss_share", 0.5))
    min_commits = int(cfg.get("min_commits", 5))
    window_start = history.now - int(context.core_settings["window_days"]) * DAY
    last_seen, names = history.authors_last_seen, history.author_names
    inactive = history.inactive_authors(int(cfg.get("inactive_days", 365)))
    patterns: list[Pattern] = []
    by_file = history.deliberate_touches_by_file
    for f in source_files(context):
        touches = by_file.get(f.id, [])
        if len(touches) < min_commits:
            continue
        added: Counter[str] = Counter()
        commits: Counter[str] = Counter()
        for c, t in touches:
            added[c.email] += t.added or 0
            commits[c.email] += 1
        total_added = sum(added.values())
        recent = sum(1 for c, _t in touches if c.committed_at > window_start)
        if total_added == 0:
            continue
        main, main_added = added.most_common(1)[0]
        share = main_added / total_added
        n = len(touches)
        fragmentation = 1.0 - sum((k / n) ** 2 for k in commits.values())
        lost = sum(v for a, v in added.items() if a in inactive) / total_added
        evidence = {
            "main_developer": names[main],
            "main_developer_share": round(share, 3),
            "authors": len(commits),
            "commits": n,
            "fragmentation": round(fragmentation, 3),
            "share_by_inactive_authors": round(lost, 3),
            "main_developer_last_commit": date(last_seen[main]),
            "main_developer_active": main not in inactive,
            "commits_window": recent,
        }
        plugin = context.plugin or PLUGIN
        if share >= island_share:
            patterns.append(
                Pattern(
                    kind="knowledge_island",
                    plugin=plugin,
                    subjects=[f.path],
                    score=round(share, 4),
                    confidence=round(saturate(n, 10), 4),
                    evidence=evidence,
                    summary=f"{names[main]} wrote {share:.0%} of the lines ({n} commits, {len(commits)} authors)",
                )
            )
        if lost >= loss_share and recent > 0:
            patterns.append(
                Pattern(
                    kind="knowledge_loss",
                    plugin=plugin,
                    subjects=[f.path],
                    score=round(lost, 4),
                    confidence=round(saturate(n, 10), 4),
                    evidence=evidence,
                    summary=f"{lost:.0%} of the lines were written by authors inactive for over a year",
                )
            )
    return patterns
