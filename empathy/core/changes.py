"""Describe a change under review: the working tree or the staged change against HEAD, or a commit range.

One ``git diff --numstat -z -M`` per question, parsed with the same parser as
the history, so paths (renames, odd bytes) are spelled the same way as in the
store.
"""

from __future__ import annotations

import git

from empathy.core.errors import ConfigError, EmpathyError
from empathy.core.history.gitlog import parse_numstat
from empathy.core.model import ChangeSet
from empathy.core.repo import RepoInfo

__all__ = [
    "EMPTY_TREE",
    "BadRevisionError",
    "change_under_review",
    "range_change",
    "staged_change",
    "working_tree_change",
]


#: git's empty tree: the base of a root commit's change.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class BadRevisionError(EmpathyError):
    exit_code = 8


def _from_numstat(raw: bytes, base: str, head: str, author: str = "") -> ChangeSet:
    changes = parse_numstat(raw)
    lines = {c.path: (c.added, c.deleted) for c in changes}
    return ChangeSet(
        paths=sorted(lines),
        added=sum(a or 0 for a, _d in lines.values()),
        deleted=sum(d or 0 for _a, d in lines.values()),
        author_email=author,
        base=base,
        head=head,
        lines=lines,
    )


def _user_email(repo: RepoInfo) -> str:
    try:
        return str(repo.git.config("user.email"))
    except git.GitCommandError:
        return ""


def staged_change(repo: RepoInfo) -> ChangeSet:
    """The staged change (git's index) against HEAD: what the next commit would be (a pre-commit hook's question).

    Unstaged edits and untracked files are not part of it; in a repository with
    no commit yet, everything staged is added.
    """
    try:
        base = repo.git.rev_parse("--verify", "-q", "HEAD^{commit}")
    except git.GitCommandError:
        base = EMPTY_TREE
    raw: bytes = repo.git.diff("--cached", "--numstat", "-z", "-M", base, stdout_as_string=False)
    return _from_numstat(raw, base=base, head="INDEX", author=_user_email(repo))


def working_tree_change(repo: RepoInfo) -> ChangeSet:
    """Staged and unstaged changes against HEAD, plus untracked files (all lines added)."""
    raw: bytes = repo.git.diff("--numstat", "-z", "-M", "HEAD", stdout_as_string=False)
    change = _from_numstat(raw, base=repo.head, head="WORKTREE")
    untracked: str = repo.git.ls_files("--others", "--exclude-standard", "-z")
    for path in (p for p in untracked.split("\0") if p):
        try:
            text = (repo.root / path).read_bytes()
        except OSError:
            continue
        added = None if b"\0" in text[:8000] else text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
        change.lines[path] = (added, 0 if added is not None else None)
        change.added += added or 0
    change.paths = sorted(change.lines)
    change.author_email = _user_email(repo)
    return change


def range_change(repo: RepoInfo, spec: str) -> ChangeSet:
    """``A..B`` (what B adds over A) or a single revision (that commit's own change)."""
    base, sep, head = spec.partition("..")
    if not sep:
        base, head = f"{spec}^", spec
    base, head = base or "HEAD", head or "HEAD"
    try:
        head_sha = repo.git.rev_parse("--verify", "-q", f"{head}^{{commit}}")
        if not sep and len(repo.git.rev_list("--parents", "-n", "1", head_sha).split()) == 1:
            base_sha = EMPTY_TREE  # a root commit: its change is everything it adds
        else:
            base_sha = repo.git.rev_parse("--verify", "-q", f"{base}^{{commit}}")
    except git.GitCommandError:
        raise BadRevisionError(
            f"{spec!r} does not name commits in {repo.root}",
            "use a commit, a branch or a range such as main..HEAD; a shallow clone may lack the base "
            "(fetch with `fetch-depth: 0`)",
        ) from None
    raw: bytes = repo.git.diff("--numstat", "-z", "-M", base_sha, head_sha, stdout_as_string=False)
    author: str = repo.git.log("-1", "--format=%aE", head_sha)
    change = _from_numstat(raw, base=base_sha, head=head_sha, author=author.strip())
    listing: str = repo.git.rev_list(head_sha if base_sha == EMPTY_TREE else f"{base_sha}..{head_sha}")
    change.commits = [s for s in listing.split() if s]
    change.message = str(repo.git.log("-1", "--format=%B", head_sha))
    return change


def change_under_review(
    repo: RepoInfo, spec: str | None = None, diff: bool = False, staged: bool = False
) -> ChangeSet | None:
    """The change a question is about: a range or commit (``spec``), the work tree (``diff``), the index
    (``staged``), or None."""
    if diff and spec:
        raise ConfigError("give either --diff or --range, not both")
    if staged and (diff or spec):
        raise ConfigError("--staged asks about the staged change: give no --diff and no revision or range")
    if staged:
        return staged_change(repo)
    if diff:
        return working_tree_change(repo)
    if spec:
        return range_change(repo, spec)
    return None
