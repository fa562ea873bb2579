"""Change coupling: files that change together (code-maat's ``coupling``).

degree(A, B) = shared revisions / mean(revisions of A, revisions of B) x 100.
Only commits touching at most ``max_changeset_size`` files count (bulk
reformatting says nothing about design), and a pair needs ``min_revs``
revisions each and ``min_shared_revs`` together (code-maat's defaults: 30, 5,
5, degree >= 30).  Files are followed across renames.  A pair whose files
live in different top-level modules is flagged ``cross_module``: the level-5
plugins use that for structural advice.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

from empathy.plugin import MiningContext, Pattern, date, hookimpl, module_of, saturate

PLUGIN = "coupling"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"min_revs": 5, "min_shared_revs": 5, "min_degree": 30, "max_changeset_size": 30}


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    cfg = context.settings
    max_size = int(cfg.get("max_changeset_size", 30))
    min_revs = int(cfg.get("min_revs", 5))
    min_shared = int(cfg.get("min_shared_revs", 5))
    min_degree = float(cfg.get("min_degree", 30))
    files = context.history.files
    live = {fid for fid, f in files.items() if f.alive and context.is_source(f.path)}
    revs: Counter[int] = Counter()
    shared: Counter[tuple[int, int]] = Counter()
    last: dict[tuple[int, int], int] = {}
    for commit in context.history.non_merge(bulk=False):
        ids = sorted({t.file_id for t in commit.touches if t.file_id in live})
        if not ids or len(commit.touches) > max_size:
            continue
        revs.update(ids)
        for pair in combinations(ids, 2):
            shared[pair] += 1
            last[pair] = commit.committed_at
    patterns = []
    for (a, b), n in shared.items():
        if n < min_shared or revs[a] < min_revs or revs[b] < min_revs:
            continue
        degree = 100.0 * n / ((revs[a] + revs[b]) / 2)
        if degree < min_degree:
            continue
        pa, pb = files[a].path, files[b].path
        cross = module_of(pa) != module_of(pb)
        patterns.append(
            Pattern(
                kind="coupling",
                plugin=context.plugin or PLUGIN,
                subjects=[pa, pb],
                score=round(min(degree, 100.0) / 100.0, 4),
                confidence=round(saturate(n, 8), 4),
                evidence={
                    "shared_revs": n,
                    "revs_a": revs[a],
                    "revs_b": revs[b],
                    "degree": round(degree, 1),
                    "a_given_b": round(n / revs[b], 3),
                    "b_given_a": round(n / revs[a], 3),
                    "cross_module": cross,
                    "last_shared": date(last[(a, b)]),
                },
                summary=(
                    f"changed together in {n} commits ({degree:.0f}% coupling{', across modules' if cross else ''})"
                ),
            )
        )
    return patterns
