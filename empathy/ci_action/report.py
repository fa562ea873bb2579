"""The gate report's readable forms, all rendered from the JSON report.

The JSON report is the source of truth; the Markdown step summary, the short
summary paragraph (for a webhook or a GitHub status comment) and the next
steps are views of it, so they can never disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["build_markdown", "build_summary", "next_steps"]

_ICON = {"pass": "✅", "warn": "⚠️", "block": "⛔", "inconclusive": "❔"}
#: GitHub shows a step summary of at most 1 MiB; the report is cut well below that.
SUMMARY_LIMIT = 900_000


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _date(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


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
    head = (
        f"**{d['decision'].upper()}**{mapped}: risk {d['risk']:.2f} against warn {d['thresholds']['warn']:.2f} / "
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
    if decision == "inconclusive":
        steps.append(
            "the history is too thin to score this change: run the gate on the full history "
            "(`fetch-depth: 0`), or decide by review"
        )
    elif decision in ("warn", "block"):
        target = d["thresholds"]["warn" if decision == "warn" else "block"]
        steps.append(f"risk {d['risk']:.2f} must fall below {target:.2f} for a milder verdict")
    for s in report["risk"]["signals"]:
        ev = s["evidence"]
        name = s["name"]
        if name == "partner-missing":
            steps.append(f"check whether {ev.get('partner')} needs the same change as {ev.get('changed')}")
        elif name == "new-author-in-island":
            steps.append(f"ask {ev.get('main_developer') or 'the main developer'} to review {', '.join(s['paths'])}")
        elif name == "unusually-large":
            steps.append("split the change: smaller deploys fail less often and are easier to roll back")
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


def build_markdown(report: Mapping[str, Any], report_path: str | None = None) -> str:
    """The GitHub step summary: verdict, what was evaluated, factors, record, data quality, next steps."""
    d = report["decision"]
    subj = report["subject"]
    lines: list[str] = []
    mapped = f" (treated as **{d['treated_as']}**)" if d["decision"] == "inconclusive" else ""
    lines.append(f"## {_ICON.get(d['decision'], '')} empathy gate: {d['decision'].upper()}{mapped}")
    lines.append("")
    lines.append(build_summary(report))
    lines.append("")
    lines.append("### What was evaluated")
    lines.append("")
    env = f", environment `{_cell(subj['environment'])}`" if subj.get("environment") else ""
    lines.append(
        f"`{_cell(subj['repository'])}` (service `{_cell(subj['service'])}`{env}): "
        f"`{subj['base'][:12]}..{subj['head'][:12]}`, {subj['commits']} commits, {subj['files']} files, "
        f"+{subj['added']}/-{subj['deleted']} lines"
        + (
            f" (from the merge base `{subj['merge_base'][:12]}`)"
            if subj.get("merge_base") not in (None, subj["base"])
            else ""
        )
    )
    lines.append("")
    lines.append("### Risk factors")
    lines.append("")
    lines.append("| factor | value | contribution | evidence |")
    lines.append("|---|---:|---:|---|")
    model = report["risk"]["model"]
    if model["status"] == "scored":
        lines.append(
            f"| change model: riskier than this share of past changes | {model['percentile']:.2f} | "
            f"{model['percentile']:.2f} | p={model['probability']:.2f} of a later fix (base rate "
            f"{model['base_rate']:.2f}), trained on {model['train_rows']} changes |"
        )
        for f in model["factors"]:
            lines.append(f"| &nbsp;&nbsp;{_cell(f['factor'])} | {f['value']} | {f['contribution']:+.2f} (log-odds) | |")
    else:
        lines.append(f"| change model | - | - | {_cell(model.get('fallback') or model['status'])} |")
    for s in report["risk"]["signals"]:
        ev = ", ".join(f"{k}={v}" for k, v in list(s["evidence"].items())[:4])
        lines.append(
            f"| {_cell(s['name'])}: {_cell(s['reason'])} | {s['score']:.2f} | +{s['contribution']:.2f} | {_cell(ev)} |"
        )
    lines.append(
        f"| **risk** | **{d['risk']:.2f}** | | warn at {d['thresholds']['warn']:.2f}, "
        f"block at {d['thresholds']['block']:.2f} |"
    )
    lines.append("")
    lines.append("### Track record")
    lines.append("")
    track = report["track_record"]
    rec = track["recorded"]
    inf = track["inferred"]
    budget = report["error_budget"]
    lines.append("| source | N | decayed n | success rate | lower bound | notes |")
    lines.append("|---|---:|---:|---:|---:|---|")
    def rates(part: Mapping[str, Any]) -> str:
        if not part["n"]:
            return "- | -"
        return f"{part['success_rate']:.0%} | {part['lower_bound']:.0%}"

    lines.append(
        f"| recorded deploys{' (used)' if track['source'] == 'recorded' else ''} | {rec['n']} | "
        f"{rec['effective_n']:.1f} | {rates(rec)} | "
        f"{rec['failures']} failed, last failure {_date(rec['last_failure_at'])} |"
    )
    lines.append(
        f"| inferred from release tags{' (used)' if track['source'] == 'inferred' else ''} | {inf['n']} | "
        f"{inf['effective_n']:.1f} | {rates(inf)} | "
        f"{inf['failed']} of {inf['releases']} followed by a revert or hotfix |"
    )
    lines.append("")
    shift = budget["threshold_shift"]
    if budget["failure_rate"] is None:
        measured = "; no record, thresholds not moved"
    elif budget["effective_n"] < 1.0:
        measured = (
            f"; the record is too thin or too old to count (decayed n={budget['effective_n']:.1f}), "
            f"thresholds moved {shift:+.3f}"
        )
    else:
        measured = (
            f", measured {budget['failure_rate']:.0%} (decayed n={budget['effective_n']:.1f}); "
            f"budget left {budget['budget_left']:+.0%}, thresholds moved {shift:+.3f}"
        )
    lines.append(
        f"Error budget: target failure rate {budget['target_failure_rate']:.0%}{measured}"
        + (" (**budget spent**)" if budget["exhausted"] else "")
        + "."
    )
    lines.append("")
    lines.append("### Data quality")
    lines.append("")
    dq = report["data_quality"]
    lines.append(
        f"- history: {dq['history_commits']} commits"
        + (" (shallow clone)" if dq["shallow"] else "")
        + f"; fixes not yet linked to their causes: {dq['fixes_not_linked']}"
    )
    for note in dq["notes"]:
        lines.append(f"- {note}")
    lines.append(f"- on errors the gate {dq['on_error']}")
    lines.append("")
    lines.append("### Next steps")
    lines.append("")
    for step in report["next_steps"]:
        lines.append(f"- {step}")
    findings = report["findings"]
    if findings:
        lines.append("")
        lines.append(f"<details><summary>{len(findings)} findings on the changed files</summary>")
        lines.append("")
        for f in findings[:50]:
            where = f["path"] + (f":{f['line']}" if f["line"] else "")
            lines.append(f"- `{_cell(where)}` {_cell(f['code'])}: {_cell(f['reason'])} → {_cell(f['action'])}")
        lines.append("")
        lines.append("</details>")
    lines.append("")
    tool = report["tool"]
    lines.append(
        f"<sub>{tool['name']} {tool['version']}, settings {d['settings_digest']}"
        + (f", full report: `{_cell(report_path)}`" if report_path else "")
        + "</sub>"
    )
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > SUMMARY_LIMIT:
        text = text.encode("utf-8")[:SUMMARY_LIMIT].decode("utf-8", "ignore") + "\n\n(cut: see the JSON report)\n"
    return text
