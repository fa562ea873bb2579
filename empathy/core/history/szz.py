"""B-SZZ: which commits introduced the lines a bug fix changed.

For each fix commit: one ``git show -U0`` for all fixes at once gives the
deleted or modified line ranges per file in the fix's parent; then one
``git blame --porcelain -w`` per (fix, file) with those ``-L`` ranges names the
commits that last touched them (Sliwerski, Zimmermann & Zeller, MSR 2005).
``.git-blame-ignore-revs`` is honoured so reformatting commits are not blamed.

Blame is the expensive step (10-40 ms each), so results are persisted per
fix and only fixes not yet processed are blamed, newest first, up to a
budget per run.  Label noise is real: about half of keyword-selected "fixes"
are not bug fixes (Herbold et al. 2022); callers report that.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import git
from sqlalchemy import insert, select

from empathy.core.history.gitlog import decode_git_text, unquote_diff_path
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store
from empathy.core.store.tables import SzzRow

__all__ = ["SzzLink", "fix_ranges", "run_szz", "szz_links", "unquote_diff_path"]  # re-exported

_SZZ = SzzRow.__table__  # type: ignore[attr-defined]
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")
_MARK = "\x1e\x1dSZZ"


@dataclass
class SzzLink:
    fix_sha: str
    inducing_sha: str
    path: str
    lines: int


@dataclass
class _FixDiff:
    sha: str
    files: dict[str, list[tuple[int, int]]] = field(default_factory=dict)






def fix_ranges(repo: RepoInfo, shas: list[str]) -> list[_FixDiff]:
    """Deleted/modified line ranges (in the parent) of each fix, from one ``git show``."""
    if not shas:
        return []
    raw: bytes = repo.git.show(
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        f"--format={_MARK}%H",
        *shas,
        stdout_as_string=False,
    )
    out: list[_FixDiff] = []
    current: _FixDiff | None = None
    old_path: str | None = None
    for line in raw.split(b"\n"):
        if line.startswith(_MARK.encode()):
            current = _FixDiff(line[len(_MARK) :].decode("ascii"))
            out.append(current)
            old_path = None
        elif current is None:
            continue
        elif line.startswith(b"--- "):
            name = unquote_diff_path(line[4:])
            old_path = None if name == b"/dev/null" else os.fsdecode(name[2:])
        elif line.startswith(b"@@") and old_path is not None:
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) or b"1")
                if count > 0:
                    current.files.setdefault(old_path, []).append((start, start + count - 1))
    return out


def _blame(
    repo: RepoInfo, fix: str, path: str, ranges: list[tuple[int, int]], ignore_file: str | None
) -> dict[str, int]:
    args = ["--porcelain", "-w"]
    if ignore_file:
        args += ["--ignore-revs-file", ignore_file]
    for a, b in ranges[:200]:  # a fix rewriting hundreds of hunks is a refactor, not a patch
        args += ["-L", f"{a},{b}"]
    try:
        out: str = repo.git.blame(*args, f"{fix}^", "--", path)
    except git.GitCommandError:
        return {}
    counts: dict[str, int] = {}
    for line in out.split("\n"):
        parts = line.split(" ")
        if len(parts) >= 3 and len(parts[0]) == 40 and parts[1].isdigit():
            counts[parts[0]] = counts.get(parts[0], 0) + 1
    return counts


def run_szz(
    repo: RepoInfo,
    store: Store,
    repo_id: int,
    fix_shas: Iterable[str],
    is_source: Callable[[str], bool],
    budget: int,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
) -> int:
    """Blame the newest ``budget`` fixes not yet processed; returns how many were."""
    with store.engine.connect() as conn:
        done = set(conn.execute(select(_SZZ.c.fix_sha).where(_SZZ.c.repo_id == repo_id).distinct()).scalars())
    todo = [s for s in fix_shas if s not in done][:budget]
    if not todo:
        return 0
    ignore = repo.root / ".git-blame-ignore-revs"
    ignore_file = str(ignore) if ignore.is_file() else None
    diffs = fix_ranges(repo, todo)
    jobs = [(d.sha, path, ranges) for d in diffs for path, ranges in d.files.items() if is_source(path)]
    rows: dict[str, list[dict[str, object]]] = {d.sha: [] for d in diffs}

    def work(job: tuple[str, str, list[tuple[int, int]]]) -> tuple[str, str, dict[str, int]]:
        sha, path, ranges = job
        return sha, path, _blame(repo, sha, path, ranges, ignore_file)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, (sha, path, counts) in enumerate(pool.map(work, jobs), 1):
            for inducing, n in counts.items():
                stored = decode_git_text(os.fsencode(path))  # as the ingest stores paths
                rows[sha].append(
                    {"repo_id": repo_id, "fix_sha": sha, "inducing_sha": inducing, "path": stored, "lines": n}
                )
            if progress:
                progress(i, len(jobs))
    with store.engine.begin() as conn:
        for sha, links in rows.items():
            conn.execute(
                insert(_SZZ),
                links or [{"repo_id": repo_id, "fix_sha": sha, "inducing_sha": "", "path": "", "lines": 0}],
            )
    return len(todo)


def szz_links(store: Store, repo_id: int) -> list[SzzLink]:
    """Every persisted link (placeholder rows for fixes with nothing to blame excluded)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(_SZZ.c.fix_sha, _SZZ.c.inducing_sha, _SZZ.c.path, _SZZ.c.lines).where(
                _SZZ.c.repo_id == repo_id, _SZZ.c.inducing_sha != ""
            )
        )
        return [SzzLink(*row) for row in rows]
