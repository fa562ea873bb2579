"""The ingested history in memory, shared read-only by every miner.

Loaded with two queries (commits, changes) so six miners do not each walk
the store.  ``now`` is the time of the newest commit, not the wall clock, so
results are reproducible and "as of" views (used by backtests) are just a
prefix of the same data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select

from empathy.core.store.store import Store
from empathy.core.store.tables import ChangeRow, CommitRow, FileRow

__all__ = ["CommitInfo", "FileInfo", "FixClassifier", "History", "Touch", "load_history"]

DAY = 86_400


@dataclass(slots=True)
class Touch:
    """One file changed by one commit."""

    file_id: int
    path: str
    added: int | None
    deleted: int | None

    @property
    def churn(self) -> int:
        return (self.added or 0) + (self.deleted or 0)


@dataclass(slots=True)
class CommitInfo:
    index: int
    sha: str
    author: str
    email: str
    authored_at: int
    committed_at: int
    message: str
    is_merge: bool
    touches: list[Touch] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(slots=True)
class FileInfo:
    """A file entity; ``path`` is its latest name, ``alive`` whether HEAD has it."""

    id: int
    path: str
    alive: bool


class FixClassifier:
    """Marks bug-fix commits from their message (configurable regexes).

    The default follows the evaluation protocol in docs/evaluation.md: a fix
    word anywhere in the message, unless the subject is typo/docs/lint/CI work.
    """

    def __init__(self, pattern: str, exclude: str = "") -> None:
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE)
            self.exclude = re.compile(exclude, re.IGNORECASE) if exclude else None
        except re.error as exc:
            from empathy.core.errors import ConfigError

            raise ConfigError(f"fix pattern is not a valid regular expression: {exc}") from None

    def is_fix(self, message: str) -> bool:
        subject = message.split("\n", 1)[0]
        if self.exclude is not None and self.exclude.search(subject):
            return False
        return bool(self.pattern.search(message))


class History:
    """Commits in ingest order (parents first) and the files they touched."""

    def __init__(self, commits: list[CommitInfo], files: dict[int, FileInfo], classifier: FixClassifier):
        self.commits = commits
        self.files = files
        self.classifier = classifier

    @property
    def now(self) -> int:
        return max((c.committed_at for c in self.commits), default=0)

    def non_merge(self) -> Iterator[CommitInfo]:
        return (c for c in self.commits if not c.is_merge)

    @cached_property
    def fix_indices(self) -> frozenset[int]:
        return frozenset(c.index for c in self.commits if not c.is_merge and self.classifier.is_fix(c.message))

    def is_fix(self, commit: CommitInfo) -> bool:
        return commit.index in self.fix_indices

    @cached_property
    def touches_by_file(self) -> dict[int, list[tuple[CommitInfo, Touch]]]:
        out: dict[int, list[tuple[CommitInfo, Touch]]] = {}
        for c in self.commits:
            for t in c.touches:
                out.setdefault(t.file_id, []).append((c, t))
        return out

    def alive_files(self) -> list[FileInfo]:
        return [f for f in self.files.values() if f.alive]

    def as_of(self, timestamp: int) -> History:
        """The history as it was known at ``timestamp`` (commit time)."""
        kept = [c for c in self.commits if c.committed_at <= timestamp]
        return History(kept, self.files, self.classifier)


def load_history(store: Store, repo_id: int, classifier: FixClassifier) -> History:
    commits_t = CommitRow.__table__  # type: ignore[attr-defined]
    changes_t = ChangeRow.__table__  # type: ignore[attr-defined]
    files_t = FileRow.__table__  # type: ignore[attr-defined]
    commits: list[CommitInfo] = []
    by_id: dict[int, CommitInfo] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                commits_t.c.id,
                commits_t.c.sha,
                commits_t.c.author_name,
                commits_t.c.author_email,
                commits_t.c.authored_at,
                commits_t.c.committed_at,
                commits_t.c.message,
                commits_t.c.is_merge,
            )
            .where(commits_t.c.repo_id == repo_id)
            .order_by(commits_t.c.seq)
        )
        for cid, sha, name, email, at, ct, msg, merge in rows:
            info = CommitInfo(len(commits), sha, name, email, at, ct, msg, bool(merge))
            commits.append(info)
            by_id[cid] = info
        for commit_id, file_id, path, added, deleted in conn.execute(
            select(
                changes_t.c.commit_id,
                changes_t.c.file_id,
                changes_t.c.path,
                changes_t.c.added,
                changes_t.c.deleted,
            )
            .where(changes_t.c.repo_id == repo_id)
            .order_by(changes_t.c.id)
        ):
            by_id[commit_id].touches.append(Touch(file_id, path, added, deleted))
        files = {
            fid: FileInfo(fid, path, not deleted)
            for fid, path, deleted in conn.execute(
                select(files_t.c.id, files_t.c.path, files_t.c.deleted).where(files_t.c.repo_id == repo_id)
            )
        }
    return History(commits, files, classifier)
