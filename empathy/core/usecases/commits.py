"""Commit labels for users: ``empathy commits`` shows them with their evidence, ``empathy label`` corrects one.

A correction is written to ``.empathy/labels.toml`` in the work tree (a file
the team commits), so every tool of every teammate counts the same fixes
from then on; the label shown afterwards says it was corrected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import git

from empathy.core.changes import BadRevisionError
from empathy.core.errors import ConfigError
from empathy.core.helpers import date
from empathy.core.history.labeling import save_correction
from empathy.core.history.view import CommitInfo
from empathy.core.labels import Label

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["LabelledCommit", "commit_labels", "correct_label", "resolve_commits"]


@dataclass(frozen=True)
class LabelledCommit:
    commit: CommitInfo
    label: Label

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha": self.commit.sha,
            "date": date(self.commit.committed_at),
            "author": self.commit.author,
            "subject": self.commit.subject,
            "merge": self.commit.is_merge,
            **self.label.as_dict(),
        }


def resolve_commits(ws: Workspace, revs: list[str]) -> list[CommitInfo]:
    """The ingested commits named by ``revs`` (shas, prefixes, refs or ``A..B`` ranges), newest first.

    A name git does not know is an error (exit 8); so is a commit outside the
    ingested history (another branch), since its label would rest on no
    history.
    """
    history = ws.history()
    by_sha = {c.sha: c for c in history.commits}
    shas: list[str] = []
    for rev in revs:
        try:
            if ".." in rev:
                listing: str = ws.repo.git.rev_list(rev, "--")
                shas.extend(s for s in listing.split() if s)
            else:
                shas.append(str(ws.repo.git.rev_parse("--verify", "-q", f"{rev}^{{commit}}")).strip())
        except git.GitCommandError:
            raise BadRevisionError(
                f"{rev!r} is not a commit in {ws.repo.root}", "give a sha, a branch or a range such as v1.0..HEAD"
            ) from None
    missing = [s for s in shas if s not in by_sha]
    if missing:
        raise BadRevisionError(
            f"{missing[0][:12]} is not in the ingested history of {ws.repo.key}",
            "only commits reachable from HEAD are labelled; check out the branch that has it",
        )
    seen: set[str] = set()
    picked = [by_sha[s] for s in shas if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]
    return sorted(picked, key=lambda c: -c.index)


def commit_labels(
    ws: Workspace, revs: list[str] | None = None, kind: str | None = None, limit: int = 20
) -> list[LabelledCommit]:
    """Labels of the named commits, or of the newest ``limit`` commits; ``kind`` filters."""
    from empathy.core.labels import Kind

    if kind is not None and kind not in {k.value for k in Kind}:
        raise ConfigError(f"unknown kind {kind!r}", "kinds: " + ", ".join(k.value for k in Kind))
    history = ws.history()
    commits = resolve_commits(ws, revs) if revs else list(reversed(history.commits))
    out = [LabelledCommit(c, history.label(c)) for c in commits if kind is None or history.label(c).kind == kind]
    return out if revs else out[:limit]


def correct_label(
    ws: Workspace, rev: str, fix: bool | None = None, bulk: bool | None = None
) -> tuple[LabelledCommit, LabelledCommit]:
    """Record the team's correction for one commit; (label before, label after)."""
    if fix is None and bulk is None:
        raise ConfigError("say what the commit is: --fix, --not-fix, --bulk or --not-bulk")
    (commit,) = resolve_commits(ws, [rev])
    before = LabelledCommit(commit, ws.history().label(commit))
    save_correction(ws.repo.root, commit.sha, fix=fix, bulk=bulk)
    ws.forget_history()
    after_commit = next(c for c in ws.history().commits if c.sha == commit.sha)
    return before, LabelledCommit(after_commit, ws.history().label(after_commit))
