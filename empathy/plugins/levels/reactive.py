"""Level 1, reactive: answers when asked about a file (an editor hover, ``explain``).

It only speaks when the question names files (``context.paths``): then it
returns one ``history`` finding per file with the history behind it, so the
surface that asked can show it next to the other levels' findings.
"""

from __future__ import annotations

from empathy.plugin import (
    AnalysisContext,
    Finding,
    Level,
    Location,
    Pattern,
    Severity,
    UnknownFileError,
    explain_file,
    hookimpl,
)

PLUGIN = "reactive"


@hookimpl
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    if context.paths is None or context.history is None:
        return []
    out = []
    for path in context.paths:
        try:
            info = explain_file(context.store, context.repo_id, context.history, path)
        except UnknownFileError:
            continue
        top = info["authors"][0] if info["authors"] else None
        owner = f"; mostly {top['name']} ({top['share']:.0%} of commits)" if top else ""
        out.append(
            Finding(
                code="history",
                level=Level.REACTIVE,
                severity=Severity.INFO,
                location=Location(info["path"]),
                reason=(
                    f"{info['commits']} commits since {info['first_change']}, {info['fixes']} of them bug fixes, "
                    f"last change {info['last_change']}{owner}"
                ),
                action=f"Run `empathy explain {info['path']}` for the commits, fixes, patterns and forecast",
                source=PLUGIN,
                evidence={k: info[k] for k in ("commits", "fixes", "lines_added", "lines_deleted", "previous_names")},
                score=0.0,
            )
        )
    return out


@hookimpl
def finding_codes() -> list[str]:
    """The codes this level reports (what `empathy feedback` accepts)."""
    return ["history"]
