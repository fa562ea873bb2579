"""Level 1, reactive: the history behind one file, on request.

Used by ``empathy explain PATH`` and by the ``reactive`` level plugin (the data
an editor hover shows): commits, authors, renames, bug fixes, the patterns
that name the file, and its forecast with the forecast's track record.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from empathy.core.errors import EmpathyError
from empathy.core.history.facts import HistoryFacts
from empathy.core.history.view import History
from empathy.core.store.store import Store

__all__ = ["UnknownFileError", "explain_file", "resolve_repo_path"]


class UnknownFileError(EmpathyError):
    exit_code = 9


def _date(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def resolve_repo_path(root: Path, path: str) -> str:
    """A path as the store spells it (relative to the root, forward slashes)."""
    candidate = Path(path)
    if candidate.is_absolute() or (Path.cwd() / candidate).exists():
        try:
            return (Path.cwd() / candidate).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UnknownFileError(f"{path} is outside the repository at {root}") from None
    return path.replace(os.sep, "/")


def explain_file(store: Store, repo_id: int, history: History, path: str) -> dict[str, Any]:
    """Everything the history says about ``path`` (its latest name or any earlier one)."""
    entities = [f for f in history.files.values() if f.path == path]
    if not entities:
        renamed = {t.file_id for c in history.commits for t in c.touches if t.path == path}
        entities = [history.files[i] for i in renamed if i in history.files]
    if not entities:
        raise UnknownFileError(
            f"no commit in the ingested history touches {path}",
            "give a path relative to the repository root, as `git log --name-only` shows it",
        )
    entity = max(entities, key=lambda f: (f.alive, f.id))
    touches = history.touches_by_file.get(entity.id, [])
    commits = sorted((c for c, _t in touches), key=lambda c: (c.committed_at, c.index))
    fixes = [c for c in commits if history.is_fix(c)]
    authors = Counter(c.author for c in commits)
    names = sorted({t.path for _c, t in touches} - {entity.path})
    patterns = [p for p in store.patterns(repo_id) if entity.path in p.subjects]
    facts = HistoryFacts(history).of(entity.path) if entity.alive else None
    return {
        "path": entity.path,
        "alive": entity.alive,
        "previous_names": names,
        "commits": len(commits),
        "first_change": _date(commits[0].committed_at) if commits else None,
        "last_change": _date(commits[-1].committed_at) if commits else None,
        "lines_added": sum(t.added or 0 for _c, t in touches),
        "lines_deleted": sum(t.deleted or 0 for _c, t in touches),
        "authors": [{"name": a, "commits": n, "share": round(n / len(commits), 3)} for a, n in authors.most_common(5)],
        "fixes": len(fixes),
        # the fixes behind the count, each with why it counts, so a wrong one is one command from corrected
        "recent_fixes": [
            {
                "sha": c.sha[:12],
                "date": _date(c.committed_at),
                "subject": c.subject,
                "why": "; ".join(history.label(c).why),
                "correct": f"empathy label {c.sha[:12]} --not-fix",
            }
            for c in fixes[-5:]
        ],
        "recent_commits": [
            {"sha": c.sha[:12], "date": _date(c.committed_at), "author": c.author, "subject": c.subject}
            for c in commits[-5:]
        ],
        "patterns": [
            {"kind": p.kind, "summary": p.summary, "score": p.score, "confidence": p.confidence} for p in patterns
        ],
        # what the advice names: the files and the test module that changed with it, over its recent commits
        "changes_with": {
            "of_commits": facts.commits if facts else 0,
            "files": [{"path": p, "commits": n} for p, n in facts.partners] if facts else [],
            "test": {"path": facts.test[0], "commits": facts.test[1]} if facts and facts.test else None,
        },
    }
