"""The ingested history in memory, shared read-only by every miner.

Loaded with two queries (commits, changes) so six miners do not each walk
the store.  ``now`` is the time of the newest commit, not the wall clock, so
results are reproducible and "as of" views (used by backtests) are just a
prefix of the same data.  Each commit's label (fix, bulk sweep, kind, and
why) comes from :mod:`empathy.core.history.labeling`; miners ask
``is_fix``/``is_bulk`` instead of reading messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select

from empathy.core.history.labeling import CommitLabels, label_history
from empathy.core.labels import Label
from empathy.core.store.store import Store
from empathy.core.store.tables import ChangeRow, CommitRow, FileRow

__all__ = ["CommitInfo", "FileInfo", "History", "Touch", "load_history"]

DAY = 86_400


@dataclass(slots=True)
class Touch:
    """One file changed by one commit."""

    file_id: int
    path: str
    added: int | None
    deleted: int | None
    #: the path before a rename in this commit (None when not renamed)
    old_path: str | None = None

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
    parents: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(slots=True)
class FileInfo:
    """A file entity; ``path`` is its latest name, ``alive`` whether HEAD has it."""

    id: int
    path: str
    alive: bool


class History:
    """Commits in ingest order (parents first) and the files they touched."""

    def __init__(
        self,
        commits: list[CommitInfo],
        files: dict[int, FileInfo],
        labels: CommitLabels | None = None,
        at: int | None = None,
    ):
        self.commits = commits
        self.files = files
        #: every commit's label; a history built without one labels its commits by their own facts
        self.labels = labels if labels is not None else label_history(commits, None)
        #: when the analysis happens (the clock, or a replay's time); None: the newest commit's time
        self.at = at

    @property
    def newest(self) -> int:
        """The newest commit's time (0 without commits)."""
        return max((c.committed_at for c in self.commits), default=0)

    @property
    def now(self) -> int:
        """The time windows, ages and "days ago" count back from: the analysis time, never before the newest commit.

        A repository quiet for a year has had no commit in the last year, and
        saying so (rather than measuring from its last commit) is the truth.
        """
        newest = self.newest
        return newest if self.at is None else max(self.at, newest)

    def non_merge(self, bulk: bool = True) -> Iterator[CommitInfo]:
        """Commits with a diff; ``bulk=False`` also leaves out mechanical sweeps."""
        return (c for c in self.commits if not c.is_merge and (bulk or not self.is_bulk(c)))

    @cached_property
    def fix_indices(self) -> frozenset[int]:
        return frozenset(c.index for c in self.commits if not c.is_merge and self.labels.of(c).fix)

    def is_fix(self, commit: CommitInfo) -> bool:
        """A product bug fix by the repository's conventions (never a merge, never a bulk sweep)."""
        return commit.index in self.fix_indices

    def is_bulk(self, commit: CommitInfo) -> bool:
        """A mechanical sweep (formatter, linter, mass rename ...): left out of coupling, ownership and churn."""
        return self.labels.of(commit).bulk

    def label(self, commit: CommitInfo) -> Label:
        return self.labels.of(commit)

    @cached_property
    def touches_by_file(self) -> dict[int, list[tuple[CommitInfo, Touch]]]:
        out: dict[int, list[tuple[CommitInfo, Touch]]] = {}
        for c in self.commits:
            for t in c.touches:
                out.setdefault(t.file_id, []).append((c, t))
        return out

    @cached_property
    def deliberate_touches_by_file(self) -> dict[int, list[tuple[CommitInfo, Touch]]]:
        """``touches_by_file`` without bulk sweeps: what churn, ownership and trends count.

        A formatter run or a mass rename touches every file once without
        anybody working on them; counted, it makes every file a little hotter
        and its author a little more of an owner.
        """
        return {
            fid: kept
            for fid, pairs in self.touches_by_file.items()
            if (kept := [(c, t) for c, t in pairs if not self.is_bulk(c)])
        }

    def alive_files(self) -> list[FileInfo]:
        return [f for f in self.files.values() if f.alive]

    @cached_property
    def authors_last_seen(self) -> dict[str, int]:
        """Each author e-mail's newest commit time: who is still around (ownership, knowledge loss)."""
        last: dict[str, int] = {}
        for c in self.commits:
            last[c.email] = max(last.get(c.email, 0), c.committed_at)
        return last

    @cached_property
    def author_names(self) -> dict[str, str]:
        """Each author e-mail's name, as its last commit in history order spells it."""
        return {c.email: c.author for c in self.commits}

    def inactive_authors(self, days: int) -> set[str]:
        """E-mails with no commit in the ``days`` before the analysis time."""
        cutoff = self.now - days * DAY
        return {email for email, t in self.authors_last_seen.items() if t < cutoff}

    def as_of(self, timestamp: int) -> History:
        """The history as it was known at ``timestamp`` (commit time)."""
        kept = [c for c in self.commits if c.committed_at <= timestamp]
        return History(kept, self.files, self.labels)


def load_history(
    store: Store, repo_id: int, label: Callable[[list[CommitInfo]], CommitLabels], at: int | None = None
) -> History:
    """The whole ingested history, labelled by ``label`` (the workspace passes the repository's conventions).

    ``at`` is the analysis time (None: the newest commit's time).
    """
    analysis_time = at
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
                commits_t.c.parents,
            )
            .where(commits_t.c.repo_id == repo_id)
            .order_by(commits_t.c.seq)
        )
        for cid, sha, name, email, authored, ct, msg, merge, parents in rows:
            parent_shas = tuple((parents or "").split())
            info = CommitInfo(len(commits), sha, name, email, authored, ct, msg, bool(merge), [], parent_shas)
            commits.append(info)
            by_id[cid] = info
        for commit_id, file_id, path, added, deleted, old_path in conn.execute(
            select(
                changes_t.c.commit_id,
                changes_t.c.file_id,
                changes_t.c.path,
                changes_t.c.added,
                changes_t.c.deleted,
                changes_t.c.old_path,
            )
            .where(changes_t.c.repo_id == repo_id)
            .order_by(changes_t.c.id)
        ):
            by_id[commit_id].touches.append(Touch(file_id, path, added, deleted, old_path))
        files = {
            fid: FileInfo(fid, path, not deleted)
            for fid, path, deleted in conn.execute(
                select(files_t.c.id, files_t.c.path, files_t.c.deleted).where(files_t.c.repo_id == repo_id)
            )
        }
    return History(commits, files, label(commits), at=analysis_time)
