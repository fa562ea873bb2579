"""GitHub's step summary of a gate decision, rendered from the JSON report.

The JSON report (:mod:`empathy.gate`) is the source of truth; this Markdown
is one view of it, so it can never disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from empathy.gate.summary import build_summary

__all__ = ["build_markdown", "report_link_markdown", "run_url"]

_ICON = {"pass": "✅", "warn": "⚠️", "block": "⛔", "inconclusive": "❔"}
#: GitHub shows a step summary of at most 1 MiB; the report is cut well below that.
SUMMARY_LIMIT = 900_000


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _date(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


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
    if model["percentile"] is not None:
        lines.append(
            f"| expected bug-introducing commits, against the last {model['past_deploys']} deploys | "
            f"{model['expected_buggy_commits']:.2f} | {model['percentile']:.2f} (percentile) | "
            f"{model['scored_commits']} of {model['commits']} commits scored; compared with "
            f"{_cell(model['compared_with'])}; this policy would have warned on {model['would_warn']} and blocked "
            f"{model['would_block']} of them |"
        )
    else:
        lines.append(f"| change model | - | - | {_cell(model.get('fallback') or model['status'])} |")
    for s in report["risk"]["signals"]:
        ev = ", ".join(f"{k}={v}" for k, v in list(s["evidence"].items())[:4])
        lines.append(
            f"| {_cell(s['name'])}: {_cell(s['reason'])} | {s['score']:.2f} | +{s['contribution']:.2f} | {_cell(ev)} |"
        )
    risk_text = "none (inconclusive)" if d["risk"] is None else f"{d['risk']:.2f}"
    lines.append(
        f"| **risk** | **{risk_text}** | | warn at {d['thresholds']['warn']:.2f}, "
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


def run_url(env: Mapping[str, str]) -> str | None:
    """This workflow run's page (where its artifacts are listed), from the variables GitHub sets; None elsewhere."""
    server, repo, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if not (server and repo and run):
        return None
    return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"


def report_link_markdown(file_name: str, size_bytes: int, artifact: str, url: str | None) -> str:
    """The step summary's line pointing at the visual report (``empathy report --html``) uploaded as ``artifact``.

    Written by ``empathy report --github-artifact NAME`` right after the file
    is written; the workflow uploads it under that name in its next step
    (examples/workflows/gate-pull-request.yml).
    """
    where = f"[this run's artifacts]({url}#artifacts)" if url else "this run's artifacts"
    return (
        f"\n📊 Visual report: `{_cell(file_name)}` ({size_bytes / 1_000_000:.2f} MB, one offline HTML file: hotspots, "
        f"coupling, trends, knowledge and the track records) in the artifact `{_cell(artifact)}` of {where}.\n"
    )
