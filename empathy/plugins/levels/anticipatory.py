"""Level 4, anticipatory: forecasts with a probability and a horizon.

* Bug-fix risk: P(a bug-fix commit touches the file within ``horizon_days``)
  from the per-repository file model (:mod:`empathy.core.predict.forecast`),
  for files ranked in the top ``top_share`` whose probability reaches
  ``min_probability``.  The finding names the features that drove it and, when
  ``empathy eval`` has run, the model's track record on this repository.
* Complexity trend: a file whose indentation complexity is rising (the
  complexity miner's pattern) and, at its current rate, will reach the
  repository's 90th percentile of file complexity; the finding says when.
  It has no probability: a linear extrapolation is a projection, not a
  calibrated forecast, and the finding says so.
"""

from __future__ import annotations

import math
from typing import Any

from empathy.plugin import (
    AnalysisContext,
    Finding,
    HistoryFacts,
    Level,
    Location,
    Pattern,
    Severity,
    action_for,
    hookimpl,
)

PLUGIN = "anticipatory"
#: How much an uncalibrated forecast with no track record is trusted: under the default threshold (0.5),
#: so it shows once feedback says forecasts help here, or after `empathy eval` measured its record.
UNPROVEN_CONFIDENCE = 0.3


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"top_share": 0.2, "min_probability": 0.5, "complexity_lookahead_days": 365}


def _track_record(context: AnalysisContext, horizon: int) -> dict[str, Any]:
    from empathy.plugin import latest_record

    record = latest_record(context.store, context.repo_id, "file", horizon)
    return record or {}


def _fix_findings(context: AnalysisContext) -> list[Finding]:
    run = context.file_forecast()
    if run is None or not run.forecasts:
        return []
    top = max(1, math.ceil(float(context.settings.get("top_share", 0.2)) * run.files))
    floor = float(context.settings.get("min_probability", 0.5))
    record = _track_record(context, run.horizon_days)
    facts = HistoryFacts(context.history)
    out = []
    for f in run.forecasts:
        if f.rank > top or (f.probability is not None and f.probability < floor) or not context.concerns(f.path):
            continue
        if context.change is not None and f.path not in context.change.paths:
            continue
        why = ", ".join(f.drivers) if f.drivers else "its size and recent activity"
        basis = run.fallback or f"model trained on {run.train_rows} file-periods of this repository's history"
        track = (
            f"; on this repository's past, the top 20% of files held {record['touch@20%']:.0%} of later bug fixes"
            if "touch@20%" in record
            else "; no track record yet (run `empathy eval`)"
        )
        out.append(
            Finding(
                code="fix-forecast",
                level=Level.ANTICIPATORY,
                severity=Severity.WARNING if f.probability is not None and f.probability >= 0.75 else Severity.INFO,
                location=Location(f.path),
                reason=(
                    f"{f.path} is #{f.rank} of {run.files} files for bug-fix risk, driven by {why} ({basis}){track}"
                ),
                action=action_for("fix_prone", f.path, {}, facts),
                source=PLUGIN,
                evidence={
                    "rank": f.rank,
                    "files": run.files,
                    "base_rate": round(run.base_rate, 3),
                    "loc": f.snapshot.loc,
                    "commits_12m": f.snapshot.commits_12m,
                    "fixes_12m": f.snapshot.fixes_12m,
                    "fixes_all": f.snapshot.fixes_all,
                    "train_rows": run.train_rows,
                    "track_record": record,
                    "calibrated": f.probability is not None,
                    # without a probability the trust gate weighs the claim by its record on this
                    # repository (the share of later fixes the top 20% held), or as unproven
                    **(
                        {}
                        if f.probability is not None
                        else {"confidence": round(float(record.get("touch@20%", UNPROVEN_CONFIDENCE)), 4)}
                    ),
                },
                # no probability where the score cannot be calibrated here: the rank and the record speak
                probability=None if f.probability is None else round(f.probability, 3),
                horizon_days=run.horizon_days if f.probability is not None else None,
                score=round(f.probability if f.probability is not None else 1.0 - f.rank / max(run.files, 1), 4),
            )
        )
    return out


def _complexity_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    trends = [p for p in patterns if p.kind == "complexity_trend"]
    if not trends:
        return []
    run = context.file_forecast()
    if run is None or not run.forecasts:
        return []
    levels = sorted(f.snapshot.complexity for f in run.forecasts)
    p90 = levels[min(len(levels) - 1, int(0.9 * len(levels)))]
    lookahead = int(context.settings.get("complexity_lookahead_days", 365))
    facts = HistoryFacts(context.history)
    out = []
    for p in trends:
        path = p.subjects[0]
        if not context.concerns(path) or (context.change is not None and path not in context.change.paths):
            continue
        now = float(p.evidence.get("complexity_now", 0))
        slope = float(p.evidence.get("slope_per_year", 0))
        if slope <= 0 or now >= p90:
            continue
        days = (p90 - now) / slope * 365
        if days > lookahead:
            continue
        out.append(
            Finding(
                code="complexity-forecast",
                level=Level.ANTICIPATORY,
                severity=Severity.INFO,
                location=Location(path),
                reason=(
                    f"{path}'s nesting grows by {slope:.0f} per year ({now:.0f} now); at that rate it reaches "
                    f"the top 10% of this repository ({p90}) in about {days:.0f} days (a linear projection)"
                ),
                action=action_for("complexity_trend", path, p.evidence, facts),
                source=PLUGIN,
                evidence={**p.evidence, "threshold_p90": p90, "days_to_threshold": round(days)},
                score=round(min(1.0, lookahead / max(days, 1.0) / 10), 4),
            )
        )
    return out


@hookimpl
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    return _fix_findings(context) + _complexity_findings(context, patterns)


@hookimpl
def finding_codes() -> list[str]:
    """The codes this level reports (what `empathy feedback` accepts)."""
    return ["complexity-forecast", "fix-forecast"]
