"""Code age: how long since each file last changed (CodeScene's code age).

Age alone is not a problem; what matters is where young and old code meet.
This miner reports *volatile* files (changed within ``young_days`` although
the median source file has been stable for longer than ``stable_days``):
fresh changes in a settled code base are where regressions concentrate.
Files created within ``stable_days`` are left out: they are young by nature.
"""

from __future__ import annotations

import statistics
from typing import Any

from empathy.plugin import DAY, MiningContext, Pattern, date, hookimpl, saturate, source_files

PLUGIN = "age"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"young_days": 30, "stable_days": 180}


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    history = context.history
    now = history.now
    by_file = history.touches_by_file
    ages: dict[int, float] = {}
    first: dict[int, int] = {}
    files = source_files(context)
    for f in files:
        times = [c.committed_at for c, _t in by_file.get(f.id, [])]
        if times:
            ages[f.id] = (now - max(times)) / DAY
            first[f.id] = min(times)
    if not ages:
        return []
    median_age = statistics.median(ages.values())
    young = float(context.settings.get("young_days", 30))
    stable = float(context.settings.get("stable_days", 180))
    if median_age < stable:
        return []
    patterns = []
    for f in files:
        age = ages.get(f.id)
        if age is None or age > young or (now - first[f.id]) / DAY < stable:
            continue  # new files are young by definition; only old files that just changed
        patterns.append(
            Pattern(
                kind="volatile_in_stable",
                plugin=context.plugin or PLUGIN,
                subjects=[f.path],
                score=round(1.0 - age / young, 4) if young else 1.0,
                confidence=round(saturate(median_age / 30, 6), 4),
                evidence={
                    "age_days": round(age, 1),
                    "median_age_days": round(median_age, 1),
                    "file_created": date(first[f.id]),
                },
                summary=(f"changed {age:.0f} days ago while the median file has been stable for {median_age:.0f} days"),
            )
        )
    return patterns
