"""Level 2, guided: where the data is thin or ambiguous, say what is missing and ask.

* ``generated:<path>``: a large source file that almost nobody edits (at most
  ``max_commits`` commits, at least ``min_lines`` lines added) is often
  generated or vendored; its history would skew every ranking.
* ``fix-pattern``: when under ``min_fix_share`` of the commits match the fix
  pattern, bug-fix history (and every forecast built on it) is blind; ask
  how this team marks fixes.

An answer (``empathy answer QUESTION ANSWER``) is stored and used: generated
files join ``exclude``, a fix pattern replaces the default; answered
questions are not asked again.
"""

from __future__ import annotations

from typing import Any

from empathy.plugin import AnalysisContext, Finding, Level, Location, Pattern, Severity, hookimpl, load_answers

PLUGIN = "guided"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"max_commits": 2, "min_lines": 500, "min_fix_share": 0.02, "min_commits_for_fix_question": 100}


@hookimpl
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    history = context.history
    if history is None or not history.commits:
        return []
    cfg = context.settings
    answered = load_answers(context.store, context.repo_id)
    out: list[Finding] = []
    by_file = history.touches_by_file
    for f in history.alive_files():
        if not context.is_source(f.path) or not context.concerns(f.path):
            continue
        if context.change is not None and f.path not in context.change.paths:
            continue
        question = f"generated:{f.path}"
        if question in answered:
            continue
        touches = by_file.get(f.id, [])
        added = sum(t.added or 0 for _c, t in touches)
        if 0 < len(touches) <= int(cfg.get("max_commits", 2)) and added >= int(cfg.get("min_lines", 500)):
            out.append(
                Finding(
                    code="question-generated",
                    level=Level.GUIDED,
                    severity=Severity.INFO,
                    location=Location(f.path),
                    reason=(
                        f"only {len(touches)} commit(s) touch {f.path}, adding {added} lines: is it generated "
                        "or vendored? If so, its history should not count"
                    ),
                    action=f"Answer with `empathy answer {question} yes` (or `no`)",
                    source=PLUGIN,
                    evidence={"question": question, "commits": len(touches), "lines_added": added},
                    score=0.5,
                )
            )
    non_merge = [c for c in history.commits if not c.is_merge]
    share = len(history.fix_indices) / len(non_merge) if non_merge else 0.0
    if (
        "fix-pattern" not in answered
        and context.paths is None
        and context.change is None
        and len(non_merge) >= int(cfg.get("min_commits_for_fix_question", 100))
        and share < float(cfg.get("min_fix_share", 0.02))
    ):
        out.append(
            Finding(
                code="question-fix-pattern",
                level=Level.GUIDED,
                severity=Severity.WARNING,
                location=Location("."),
                reason=(
                    f"only {share:.1%} of {len(non_merge)} commits look like bug fixes to the current pattern, so "
                    "bug-fix history and forecasts see almost nothing: how does this team mark a fix?"
                ),
                action="Answer with a regular expression: `empathy answer fix-pattern '(?i)\\b(fix|hotfix|BUG-\\d+)'`",
                source=PLUGIN,
                evidence={"question": "fix-pattern", "fix_share": round(share, 4), "commits": len(non_merge)},
                score=1.0,
            )
        )
    return out


@hookimpl
def finding_codes() -> list[str]:
    """The codes this level reports (what `empathy feedback` accepts)."""
    return ["question-fix-pattern", "question-generated"]
