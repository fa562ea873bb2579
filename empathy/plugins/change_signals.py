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
  among the repository's non-merge commits, by lines added + deleted);
* ``build-config-changed``: the change touches CI, container, dependency or build
  files, which the change model does not score; the evidence is this repository's
  own record for such files: how often a change to them was followed within a week
  by a revert or a fix touching them again.
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
    factors.extend(_build_config(context, change))
    return factors


#: Files that steer how the product is built, tested, packaged or shipped, by kind (fnmatch on the path).
_CONFIG_KINDS: dict[str, tuple[str, ...]] = {
    "CI": (
        ".github/workflows/*",
        ".gitlab-ci.yml",
        ".circleci/*",
        "azure-pipelines.yml",
        ".travis.yml",
        "Jenkinsfile",
        "tox.ini",
        "noxfile.py",
    ),
    "container": ("Dockerfile", "*/Dockerfile", "*.dockerfile", "docker-compose*.y*ml", "compose*.y*ml"),
    "dependency": (
        "requirements*.txt",
        "*/requirements*.txt",
        "requirements/*",
        "constraints*.txt",
        "*.lock",
        "Pipfile",
        "Pipfile.lock",
    ),
    "build": ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "Makefile", "*/Makefile"),
}
_AFTER_DAYS = 7


def _config_kind(path: str) -> str | None:
    from fnmatch import fnmatch

    return next((kind for kind, globs in _CONFIG_KINDS.items() if any(fnmatch(path, g) for g in globs)), None)


def _build_config(context: AnalysisContext, change: ChangeSet) -> list[RiskFactor]:
    """CI, container, dependency and build files: what this repository's history says of changing them."""
    touched = {p: k for p in change.paths if (k := _config_kind(p)) is not None}
    history = context.history
    if not touched or history is None:
        return []
    kinds = set(touched.values())
    past = [c for c in history.non_merge(bulk=False) if any(_config_kind(t.path) in kinds for t in c.touches)]
    past = past[-200:]
    followed = 0
    last: str | None = None
    by_time = sorted(history.non_merge(), key=lambda c: c.committed_at)
    times = [c.committed_at for c in by_time]
    for c in past:
        paths = {t.path for t in c.touches if _config_kind(t.path) in kinds}
        lo = bisect.bisect_right(times, c.committed_at)
        hi = bisect.bisect_right(times, c.committed_at + _AFTER_DAYS * 86_400)
        for later in by_time[lo:hi]:
            reverts = c.sha[:12] in later.message and later.subject.lower().startswith("revert")
            repairs = history.is_fix(later) and paths & {t.path for t in later.touches}
            if reverts or repairs:
                followed += 1
                last = later.sha
                break
    names = ", ".join(sorted(touched)[:3]) + (f" and {len(touched) - 3} more" if len(touched) > 3 else "")
    what = " and ".join(sorted(kinds))
    if past:
        record = (
            f"here, {followed} of the last {len(past)} changes to {what} files were followed within "
            f"{_AFTER_DAYS} days by a revert or a fix touching them"
        )
    else:
        record = f"this repository has no earlier change to {what} files to learn from"
    return [
        RiskFactor(
            name="build-config-changed",
            score=round(followed / len(past), 4) if past else 0.0,
            reason=f"changes {what} files the change model does not score ({names}); {record}",
            source=PLUGIN,
            evidence={
                "kinds": ", ".join(sorted(kinds)),
                "files": len(touched),
                "past_changes": len(past),
                "followed_by_fix_or_revert": followed,
                "last_followed_by": last[:12] if last else None,
            },
            paths=sorted(touched),
        )
    ]
