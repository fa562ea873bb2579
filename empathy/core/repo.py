"""Open a git repository and describe it (git dir, head, shallowness, identity).

GitPython is used for process handling; every call that touches the history
goes through a single ``git`` invocation so opening stays cheap (the
incremental ingest budget is 0.3 s).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import git

from empathy.core.errors import EmptyRepositoryError, HistoryError, NotARepositoryError

__all__ = ["RepoInfo", "open_repository"]

SHALLOW_HINT = (
    "this is a shallow clone, so only part of the history is visible; fetch the rest with "
    "`git fetch --unshallow` (in GitHub Actions set `fetch-depth: 0` on actions/checkout)"
)


@dataclass(frozen=True)
class RepoInfo:
    """What the rest of the toolkit needs to know about a repository."""

    git_repo: git.Repo
    root: Path
    git_dir: Path
    head: str
    shallow: bool
    key: str

    @property
    def git(self) -> git.Git:
        return self.git_repo.git

    def path_state(self, rel: str) -> Literal["tracked", "ignored", "untracked"]:
        """Whether git tracks ``rel``, ignores it, or neither (a file the user has yet to decide about)."""
        if self.git.ls_files("--", rel):
            return "tracked"
        try:
            self.git.check_ignore("-q", "--", rel)
        except git.GitCommandError:  # exit 1: not ignored
            return "untracked"
        return "ignored"

    def exclude_file(self) -> Path:
        """This checkout's private ignore list (``.git/info/exclude``, shared by linked worktrees)."""
        return (self.root / str(self.git.rev_parse("--git-path", "info/exclude"))).resolve()


def _normalise_remote(url: str) -> str:
    """One key per remote, whatever the transport.

    ``git@github.com:a/b.git``, ``ssh://git@github.com:22/a/b.git`` and
    ``https://user:token@github.com/a/b.git/`` all give ``github.com/a/b``;
    credentials never end up in the key.
    """
    url = url.strip().rstrip("/")
    scheme = re.match(r"^([a-z][a-z0-9+.-]*)://", url)
    if scheme:
        rest = url[scheme.end() :]
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1].split(":", 1)[0]  # drop credentials and port
        url = f"{host}/{path}" if path else host
    elif re.match(r"^[^/]+:[^/]", url) and not re.match(r"^[A-Za-z]:[\\/]", url):
        host, _, path = url.partition(":")  # scp-like user@host:path
        url = f"{host.rsplit('@', 1)[-1]}/{path}"
    return url.rstrip("/").removesuffix(".git").rstrip("/")


def _repo_key(repo: git.Repo, git_dir: Path, configured: str | None) -> str:
    if configured:
        return configured
    try:
        url = repo.git.config("--get", "remote.origin.url")
    except git.GitCommandError:
        url = ""
    return _normalise_remote(url) if url else str(git_dir)


def _no_head_error(repo: git.Repo, git_dir: Path) -> Exception:
    """An unborn branch is an empty repository; a dangling HEAD is a broken one."""
    where = repo.working_tree_dir or git_dir
    try:
        target = repo.git.symbolic_ref("-q", "HEAD")
    except git.GitCommandError:
        target = "HEAD"
    try:
        sha = repo.git.rev_parse("-q", "--verify", target)
    except git.GitCommandError:
        sha = ""
    if sha:
        return HistoryError(
            f"{where}: {target} points to {sha[:12]}, which git cannot read",
            "the repository is corrupt or incomplete: run `git fsck`, or clone it again",
        )
    return EmptyRepositoryError(f"{where} has no commits yet", "commit something first; empathy learns from history")


def open_repository(path: str | os.PathLike[str], repo_id: str | None = None) -> RepoInfo:
    """Open the repository containing ``path``.

    Raises NotARepositoryError for a path outside any repository and
    EmptyRepositoryError for a repository without commits, each with a hint.
    """
    target = Path(path).expanduser()
    if not target.exists():
        raise NotARepositoryError(f"{target} does not exist", "pass the path of a git checkout")
    try:
        repo = git.Repo(target, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise NotARepositoryError(
            f"{target} is not inside a git repository",
            "run empathy in a git checkout, or pass its path: `empathy analyze PATH`",
        ) from None
    git_dir = Path(repo.git.rev_parse("--path-format=absolute", "--git-common-dir")).resolve()
    try:
        head = repo.git.rev_parse("--verify", "-q", "HEAD^{commit}")
    except git.GitCommandError:
        raise _no_head_error(repo, git_dir) from None
    root = Path(repo.working_tree_dir) if repo.working_tree_dir else git_dir
    shallow = (git_dir / "shallow").exists()
    return RepoInfo(
        git_repo=repo,
        root=root,
        git_dir=git_dir,
        head=head,
        shallow=shallow,
        key=_repo_key(repo, git_dir, repo_id),
    )
