"""History signals that give a change's risk a reason (the ``score_change_risk`` hook).

Lewis et al. found that a bug predictor without reasons changed nobody's
behaviour; these factors are the reasons.  Each is a number in [0, 1] with
the evidence behind it:

* ``hotspot-touched``: the change edits a hotspot (its percentile rank);
* ``fix-prone-touched``: it edits a file that keeps needing fixes;
* ``partner-missing``: a file that usually changes with an edited one is untouched
  (the share of the edited file's commits that also changed the partner);
* ``new-author-in-island``: someone who never changed a knowledge island edits it;
* ``unusually-large``: the change is larger than most changes here (its percentile
  among the repository's non-merge commits, by lines added + deleted).
"""

from __future__ import annotations

import bisect
from typing import Any

from empathy.plugin import AnalysisContext, ChangeSet, Pattern, RiskFactor, hookimpl, missing_partner_factor

PLUGIN = "change-signals"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"large_percentile": 0.9}


def _by_kind(patterns: list[Pattern], kind: str, paths: set[str]) -> list[Pattern]:
    return [p for p in patterns if p.kind == kind and p.subjects and p.subjects[0] in paths]


@hookimpl
def score_change_risk(context: AnalysisContext, change: ChangeSet) -> list[RiskFactor]:
    patterns = context.store.patterns(context.repo_id)
    changed = set(change.paths)
    factors: list[RiskFactor] = []
    for kind, name, why in (
        ("hotspot", "hotspot-touched", "edits a hotspot"),
        ("fix_prone", "fix-prone-touched", "edits a file that keeps needing bug fixes"),
    ):
        hits = _by_kind(patterns, kind, changed)
        if hits:
            top = max(hits, key=lambda p: p.score * p.confidence)
            factors.append(
                RiskFactor(
                    name=name,
                    score=round(top.score * top.confidence, 4),
                    reason=f"{why}: {top.subjects[0]} ({top.summary})",
                    source=PLUGIN,
                    evidence={"pattern": top.key, **{k: v for k, v in top.evidence.items() if not isinstance(v, list)}},
                    paths=sorted(p.subjects[0] for p in hits),
                )
            )
    factors.extend(missing_partner_factor(s, changed, source=PLUGIN) for s in context.partners(changed))
    history = context.history
    if history is not None and change.author_email:
        author = change.author_email.lower()
        touched_by: dict[str, set[str]] = {}
        for c in history.commits:
            for t in c.touches:
                if t.path in changed:
                    touched_by.setdefault(t.path, set()).add(c.email.lower())
        for island in _by_kind(patterns, "knowledge_island", changed):
            path = island.subjects[0]
            if author not in touched_by.get(path, set()):
                factors.append(
                    RiskFactor(
                        name="new-author-in-island",
                        score=round(float(island.score), 4),
                        reason=(
                            f"{change.author_email} has never changed {path}, which "
                            f"{island.evidence.get('main_developer', 'one person')} knows almost alone"
                        ),
                        source=PLUGIN,
                        evidence={
                            "main_developer": island.evidence.get("main_developer"),
                            "main_developer_share": island.evidence.get("main_developer_share"),
                        },
                        paths=[path],
                    )
                )
    if history is not None:
        sizes = sorted(sum(t.churn for t in c.touches) for c in history.non_merge())
        if sizes:
            size = change.added + change.deleted
            percentile = bisect.bisect_left(sizes, size) / len(sizes)
            if percentile >= float(context.settings.get("large_percentile", 0.9)):
                factors.append(
                    RiskFactor(
                        name="unusually-large",
                        score=round(percentile, 4),
                        reason=(
                            f"{size} changed lines: larger than every earlier change in this repository"
                            if percentile >= 1.0
                            else f"{size} changed lines: larger than {percentile:.0%} of the changes in this repository"
                        ),
                        source=PLUGIN,
                        evidence={"lines": size, "median_change": sizes[len(sizes) // 2]},
                    )
                )
    return factors
