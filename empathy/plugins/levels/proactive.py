"""Level 3, proactive: what is true now, said with its evidence and an action.

From the persisted patterns: hotspots, fix-prone files, knowledge islands and
knowledge loss, fresh changes in stable code, rising complexity.  For a change
(a diff or a commit range) it adds the absent expected change: "you changed
A; B changed with A in 14 of 17 commits and is untouched", from the coupling
patterns' conditional frequencies.
"""

from __future__ import annotations

from typing import Any

from empathy.plugin import (
    AnalysisContext,
    Finding,
    Level,
    Location,
    Pattern,
    Severity,
    hookimpl,
    missing_partner_finding,
)

PLUGIN = "proactive"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"warn_score": 0.95}


def _action(p: Pattern) -> str:
    path = p.subjects[0]
    ev = p.evidence
    if p.kind == "hotspot":
        return (
            f"Plan a refactoring of {path} before adding to it: it changes more than almost any other file; "
            "start with tests around the most recently changed code"
        )
    if p.kind == "fix_prone":
        return f"Add a regression test with every change to {path}, and ask for a second reviewer"
    if p.kind == "knowledge_island":
        return (
            f"Pair someone with {ev.get('main_developer', 'its main developer')} on the next change to {path}, "
            "so more than one person knows it"
        )
    if p.kind == "knowledge_loss":
        return f"Review changes to {path} with extra care and document what it does while someone still remembers"
    if p.kind == "volatile_in_stable":
        return f"Check that the recent change to {path} has tests: it broke a long quiet period"
    if p.kind == "complexity_trend":
        funcs = ev.get("functions") or []
        where = f" (start with {funcs[0]['name']})" if funcs else ""
        return f"Split the growing logic in {path}{where} before it becomes the next hotspot"
    return f"Look at {path}"


_CODES = {
    "hotspot": "hotspot",
    "fix_prone": "fix-prone",
    "knowledge_island": "knowledge-island",
    "knowledge_loss": "knowledge-loss",
    "volatile_in_stable": "fresh-change-in-stable-code",
    "complexity_trend": "complexity-rising",
}


def _location(p: Pattern) -> Location:
    funcs = p.evidence.get("functions") or []
    if p.kind == "complexity_trend" and funcs:
        return Location(p.subjects[0], funcs[0].get("start_line"), funcs[0].get("end_line"))
    return Location(p.subjects[0])


def _missing_partners(context: AnalysisContext) -> list[Finding]:
    if context.change is None:
        return []
    changed = context.change.paths
    return [missing_partner_finding(s, changed, source=PLUGIN) for s in context.partners(changed)]


@hookimpl
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    warn_score = float(context.settings.get("warn_score", 0.95))
    scope = set(context.change.paths) if context.change is not None else None
    findings = []
    for p in patterns:
        code = _CODES.get(p.kind)
        if code is None or not p.subjects:
            continue
        path = p.subjects[0]
        if not context.concerns(path) or (scope is not None and path not in scope):
            continue
        findings.append(
            Finding(
                code=code,
                level=Level.PROACTIVE,
                severity=Severity.WARNING if p.score >= warn_score and p.confidence >= 0.5 else Severity.INFO,
                location=_location(p),
                reason=f"{path}: {p.summary}",
                action=_action(p),
                source=PLUGIN,
                evidence={**p.evidence, "pattern": p.key, "confidence": p.confidence},
                score=round(p.score * p.confidence, 4),
            )
        )
    findings.extend(_missing_partners(context))
    return findings
