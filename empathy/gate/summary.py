"""The gate report's words: the short summary paragraph and the next steps, read from the JSON report.

The JSON report is the source of truth; the summary (for a webhook, a GitHub
status comment or the terminal) and the next steps are views of it, so they
can never disagree with it.  Rendering for a particular host (GitHub's
Markdown step summary) lives with that surface (:mod:`empathy.ci_action`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["build_summary", "next_steps"]


def _record_line(report: Mapping[str, Any]) -> str:
    track = report["track_record"]
    used = track["used"]
    if used is None:
        return "no track record yet (N=0): thresholds at their defaults"
    if track["source"] == "recorded":
        return (
            f"{used['n']} recorded deploys (N={used['n']}, decayed n={used['effective_n']:.1f}), "
            f"success rate {used['success_rate']:.0%} (lower bound {used['lower_bound']:.0%})"
        )
    inferred = track["inferred"]
    return (
        f"inferred from {inferred['releases']} release tags (N={used['n']}, decayed n={used['effective_n']:.1f}), "
        f"{inferred['failed']} followed by a revert or hotfix within the window; "
        f"success rate {used['success_rate']:.0%}"
    )


def build_summary(report: Mapping[str, Any]) -> str:
    """One short Markdown paragraph: verdict, the numbers it rests on, the top reasons (under 1024 chars)."""
    d = report["decision"]
    mapped = f" (treated as {d['treated_as']})" if d["decision"] == "inconclusive" else ""
    if d["risk"] is None:  # inconclusive: no number to show
        head = f"**{d['decision'].upper()}**{mapped}: no risk figure; {_record_line(report)}."
    else:
        head = (
            f"**{d['decision'].upper()}**{mapped}: risk {d['risk']:.2f} (this deploy's percentile among the "
            f"repository's past deploys) against warn {d['thresholds']['warn']:.2f} / "
            f"block {d['thresholds']['block']:.2f}; {_record_line(report)}."
        )
    reasons = report.get("reasons") or []
    text = head
    if reasons:
        text += " Why: " + "; ".join(reasons[:3]) + "."
    return text if len(text) <= 1000 else text[:997] + "..."


def next_steps(report: Mapping[str, Any]) -> list[str]:
    """What would change the decision, and the ways around it, from the report's own numbers."""
    d = report["decision"]
    steps: list[str] = []
    decision = d["decision"]
    if decision == "inconclusive" and report["risk"]["model"]["status"] == "fallback":
        steps.append(
            "the history is too thin to score this change: run the gate on the full history "
            "(`fetch-depth: 0`), or decide by review"
        )
    elif decision == "inconclusive":
        steps.append(
            "there are too few past deploys to compare this one with: run the gate on the full history "
            "(`fetch-depth: 0`, with tags), or decide by review"
        )
    elif decision in ("warn", "block"):
        target = d["thresholds"]["warn" if decision == "warn" else "block"]
        steps.append(
            f"risk {d['risk']:.2f} must fall below {target:.2f} for a milder verdict: a smaller deploy (fewer "
            "commits) ships fewer expected bug-introducing commits"
        )
    for s in report["risk"]["signals"]:
        ev = s["evidence"]
        name = s["name"]
        if name == "partner-missing":
            steps.append(f"check whether {ev.get('partner')} needs the same change as {ev.get('changed')}")
        elif name == "new-author-in-island":
            steps.append(f"ask {ev.get('main_developer') or 'the main developer'} to review {', '.join(s['paths'])}")
        elif name == "unusually-large":
            steps.append("split the change: smaller deploys fail less often and are easier to roll back")
        elif name == "build-config-changed":
            steps.append(
                f"run the full build, CI matrix or container build for {', '.join(s['paths'][:3])} before deploying "
                f"({ev.get('followed_by_fix_or_revert')} of {ev.get('past_changes')} past changes to such files "
                "needed a fix or revert within a week)"
            )
        elif name in ("hotspot-touched", "fix-prone-touched"):
            steps.append(f"give {', '.join(s['paths'][:3])} extra review and tests ({name})")
    budget = report["error_budget"]
    if budget["exhausted"]:
        steps.append(
            f"the error budget is spent (failure rate {budget['failure_rate']:.0%} against a target of "
            f"{budget['target_failure_rate']:.0%}): successful deploys recorded with `empathy gate record` "
            "earn room back"
        )
    if report["track_record"]["source"] != "recorded":
        steps.append("record deploy outcomes (`empathy gate record --outcome success|failure|rollback --ref SHA`)")
    if decision in ("warn", "block", "inconclusive"):
        steps.append(
            "to proceed anyway: an environment reviewer can approve the deployment, or set `fail-on: never` "
            "to report without failing"
        )
    seen: set[str] = set()
    return [s for s in steps if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]
