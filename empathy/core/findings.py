"""Turn patterns into findings through the level plugins, and decide what surfaces.

Each level plugin is called alone (an error or a time-out is recorded against
it and the other levels still answer), every returned object is checked to
be a :class:`Finding`, duplicates are merged by fingerprint, and the trust
ledger decides which levels and rules surface (docs/levels.md).  Findings
silenced by an ``empathy: ignore[<code>]`` comment in the work tree
(:mod:`empathy.core.ignore`) are set aside before the gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from empathy.core.host import CallResult
from empathy.core.ignore import read_worktree, split_ignored
from empathy.core.model import ChangeSet, Finding
from empathy.core.selection import CodeSelection

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["FindingsReport", "collect_findings", "rank_findings"]

#: A gate answers whether a finding may surface (trust: level and rule thresholds).
Gate = Callable[[Finding], bool]


@dataclass
class FindingsReport:
    findings: list[Finding] = field(default_factory=list)
    results: list[CallResult] = field(default_factory=list)
    hidden: list[Finding] = field(default_factory=list)
    #: silenced by an ``empathy: ignore[<code>]`` comment where they point
    ignored: list[Finding] = field(default_factory=list)
    #: left out by the ``select`` / ``ignore`` / ``per_file_ignores`` settings
    deselected: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> dict[str, str]:
        return {r.plugin: r.error for r in self.results if r.error}

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "held_back": len(self.hidden),
            "deselected_by_settings": len(self.deselected),
            "plugins": {r.plugin: {"seconds": round(r.seconds, 3), "error": r.error} for r in self.results},
        }


def rank_findings(findings: list[Finding]) -> list[Finding]:
    """Severity first, then the expected value (probability, else the finding's score)."""
    return sorted(
        findings,
        key=lambda f: (
            -f.severity.rank,
            -(f.probability if f.probability is not None else f.score),
            f.code,
            f.location.path,
        ),
    )


def collect_findings(
    ws: Workspace,
    change: ChangeSet | None = None,
    paths: list[str] | None = None,
    gate: Gate | None = None,
    only: list[str] | None = None,
) -> FindingsReport:
    context = ws.analysis_context(change=change, paths=paths)
    patterns = ws.store.patterns(ws.repo_id)
    report = FindingsReport()
    merged: dict[str, Finding] = {}
    report.results = ws.call_plugins(
        "level_findings",
        Finding,
        lambda name: {"context": context.for_plugin(name), "patterns": patterns},
        only=only,
    )
    for result in report.results:
        if not result.ok:
            continue
        for finding in result.value:
            finding.source = result.plugin  # the entry-point name is the plugin id everywhere
            kept = merged.get(finding.fingerprint)
            if kept is None or finding.severity.rank > kept.severity.rank:
                merged[finding.fingerprint] = finding
    candidates = rank_findings(list(merged.values()))
    selection = CodeSelection.from_settings(ws.settings)
    if not selection.everything:
        report.deselected = [f for f in candidates if not selection.allows(f.code, f.location.path)]
        candidates = [f for f in candidates if selection.allows(f.code, f.location.path)]
    shown, report.ignored = split_ignored(candidates, read_worktree(ws.repo.root))
    for finding in shown:
        if gate is None or gate(finding):
            report.findings.append(finding)
        else:
            report.hidden.append(finding)
    return report
