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
    HistoryFacts,
    Level,
    Location,
    Pattern,
    Severity,
    action_for,
    hookimpl,
    missing_partner_finding,
)

PLUGIN = "proactive"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"warn_score": 0.95}


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
    facts = HistoryFacts(context.history)
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
                action=action_for(p.kind, path, p.evidence, facts),
                source=PLUGIN,
                evidence={**p.evidence, "pattern": p.key, "confidence": p.confidence},
                score=round(p.score * p.confidence, 4),
            )
        )
    findings.extend(_missing_partners(context))
    return findings


@hookimpl
def finding_codes() -> list[str]:
    """The codes this level reports (what `empathy feedback` accepts)."""
    return sorted({*_CODES.values(), "missing-partner"})
