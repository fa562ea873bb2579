"""A repository as it was at time T: its source files, their size, their past.

Everything here uses history up to T only; labels (fix touches after T) are
computed separately, so a backtest cannot leak the future into a forecast.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from empathy.core.history.blobs import BlobReader, count_loc, indentation_complexity
from empathy.core.history.gitlog import decode_git_text
from empathy.core.history.view import DAY, History
from empathy.core.repo import RepoInfo

__all__ = ["FEATURES", "FileSnapshot", "Snapshot", "fix_touches_between", "take_snapshot"]

YEAR = 365 * DAY

#: Model features, all computed from history <= T (see docs/evaluation.md).
FEATURES = (
    "log_loc",
    "log_complexity",
    "log_commits_3m",
    "log_commits_12m",
    "log_commits_all",
    "log_fixes_12m",
    "log_fixes_all",
    "twr",
    "log_authors_12m",
    "log_authors_all",
    "log_churn_12m",
    "log_age_days",
    "log_idle_days",
    "fix_decay",
    "commit_decay",
    "log_dir_fixes_12m",
    "log_added_12m",
)
HALF_LIFE = 180 * DAY


@dataclass
class FileSnapshot:
    file_id: int
    path: str
    loc: int
    complexity: int
    commits_3m: int = 0
    commits_12m: int = 0
    commits_all: int = 0
    fixes_12m: int = 0
    fixes_all: int = 0
    twr: float = 0.0
    authors_12m: int = 0
    authors_all: int = 0
    churn_12m: int = 0
    age_days: float = 0.0
    idle_days: float = 0.0
    fix_decay: float = 0.0
    commit_decay: float = 0.0
    dir_fixes_12m: int = 0
    added_12m: int = 0

    def vector(self) -> list[float]:
        lg = math.log1p
        return [
            lg(self.loc),
            lg(self.complexity),
            lg(self.commits_3m),
            lg(self.commits_12m),
            lg(self.commits_all),
            lg(self.fixes_12m),
            lg(self.fixes_all),
            self.twr,
            lg(self.authors_12m),
            lg(self.authors_all),
            lg(self.churn_12m),
            lg(self.age_days),
            lg(self.idle_days),
            self.fix_decay,
            self.commit_decay,
            lg(self.dir_fixes_12m),
            lg(self.added_12m),
        ]


@dataclass
class Snapshot:
    """Source files alive at ``at`` (a unix time) with features from history <= ``at``."""

    at: int
    commit: str
    files: list[FileSnapshot] = field(default_factory=list)


def _tree_commit(repo: RepoInfo, at: int) -> str | None:
    out: str = repo.git.rev_list("-1", "--first-parent", f"--before={at}", repo.head)
    return out.strip() or None


def take_snapshot(repo: RepoInfo, history: History, at: int, is_source: Callable[[str], bool]) -> Snapshot | None:
    """Files in the tree of the last first-parent commit at or before ``at``."""
    commit = _tree_commit(repo, at)
    if commit is None:
        return None
    raw_listing: bytes = repo.git.ls_tree("-r", "--name-only", "-z", commit, stdout_as_string=False)
    paths = [p for p in (decode_git_text(b) for b in raw_listing.split(b"\0") if b) if is_source(p)]
    # Which entity holds each path at T: replay touches up to T (renames included).
    holder: dict[str, int] = {}
    start = min((c.committed_at for c in history.commits), default=at)
    span = max(at - start, 1)
    stats: dict[int, FileSnapshot] = {}
    authors_all: dict[int, set[str]] = {}
    authors_12m: dict[int, set[str]] = {}
    first_seen: dict[int, int] = {}
    last_seen: dict[int, int] = {}
    raw: dict[int, dict[str, float]] = {}
    for c in history.commits:
        if c.committed_at > at:
            continue
        recent = c.committed_at > at - YEAR
        very_recent = c.committed_at > at - YEAR // 4
        fix = history.is_fix(c)
        decay = 0.5 ** ((at - c.committed_at) / HALF_LIFE)
        for t in c.touches:
            holder[t.path] = t.file_id
            r = raw.setdefault(t.file_id, {})
            r["commits_all"] = r.get("commits_all", 0) + 1
            r["commit_decay"] = r.get("commit_decay", 0.0) + decay
            authors_all.setdefault(t.file_id, set()).add(c.email)
            first_seen.setdefault(t.file_id, c.committed_at)
            last_seen[t.file_id] = c.committed_at
            if fix:
                r["fixes_all"] = r.get("fixes_all", 0) + 1
                x = (c.committed_at - start) / span
                r["twr"] = r.get("twr", 0.0) + 1.0 / (1.0 + math.exp(-12.0 * x + 12.0))
                r["fix_decay"] = r.get("fix_decay", 0.0) + decay
            if recent:
                r["commits_12m"] = r.get("commits_12m", 0) + 1
                r["churn_12m"] = r.get("churn_12m", 0) + t.churn
                r["added_12m"] = r.get("added_12m", 0) + (t.added or 0)
                authors_12m.setdefault(t.file_id, set()).add(c.email)
                if fix:
                    r["fixes_12m"] = r.get("fixes_12m", 0) + 1
            if very_recent:
                r["commits_3m"] = r.get("commits_3m", 0) + 1
    reader = BlobReader(repo.git_repo)
    snap = Snapshot(at=at, commit=commit)
    for path in paths:
        fid = holder.get(path)
        if fid is None or fid in stats:
            continue
        text = reader.read(commit, path)
        if text is None:
            continue
        r = raw.get(fid, {})
        fs = FileSnapshot(
            file_id=fid,
            path=path,
            loc=count_loc(text),
            complexity=indentation_complexity(text),
            commits_3m=int(r.get("commits_3m", 0)),
            commits_12m=int(r.get("commits_12m", 0)),
            commits_all=int(r.get("commits_all", 0)),
            fixes_12m=int(r.get("fixes_12m", 0)),
            fixes_all=int(r.get("fixes_all", 0)),
            twr=float(r.get("twr", 0.0)),
            authors_12m=len(authors_12m.get(fid, ())),
            authors_all=len(authors_all.get(fid, ())),
            churn_12m=int(r.get("churn_12m", 0)),
            age_days=(at - first_seen.get(fid, at)) / DAY,
            idle_days=(at - last_seen.get(fid, at)) / DAY,
            fix_decay=float(r.get("fix_decay", 0.0)),
            commit_decay=float(r.get("commit_decay", 0.0)),
            added_12m=int(r.get("added_12m", 0)),
        )
        stats[fid] = fs
        snap.files.append(fs)
    # Fixes in the same directory (other files) in the last year: bugs cluster by module.
    dir_fixes: dict[str, int] = {}
    for f in snap.files:
        d = f.path.rsplit("/", 1)[0] if "/" in f.path else ""
        dir_fixes[d] = dir_fixes.get(d, 0) + f.fixes_12m
    for f in snap.files:
        d = f.path.rsplit("/", 1)[0] if "/" in f.path else ""
        f.dir_fixes_12m = dir_fixes[d] - f.fixes_12m
    return snap


def fix_touches_between(history: History, start: int, end: int) -> dict[int, int]:
    """Number of bug-fix commits touching each file entity in (start, end]."""
    out: dict[int, int] = {}
    for c in history.commits:
        if start < c.committed_at <= end and history.is_fix(c):
            for fid in {t.file_id for t in c.touches}:
                out[fid] = out.get(fid, 0) + 1
    return out
