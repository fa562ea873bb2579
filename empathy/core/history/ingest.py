"""Ingest a repository's history into the store: once, then incrementally.

Design (see docs/architecture.md):

* **One streamed ``git log``** for the whole range, oldest first
  (``--reverse --topo-order``, so parents always precede children), parsed
  while git is still writing.
* **Incremental**: the range excludes the head of the last completed ingest.
  Commits already stored (a crash mid-run, or history shared between clones)
  are skipped by sha, so a rerun never duplicates or misses one.
* **Crash safety**: commits, their changes, new files and renames are written
  in batches, each one transaction.  A killed process loses at most the batch
  in flight, and the rerun picks it up again.
* **Rename-aware**: a file is an entity with a stable id; a rename moves the
  entity to its new path, so its history follows it.
* **Merges** are recorded (the gate replays them as deploys) but carry no
  changes: ``git log`` emits no diff for them, so they never count as churn.
* **Shallow clones**: the commits at the shallow boundary would show the whole
  tree as added; their changes are skipped and the report says how to fetch
  the full history.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import git
from sqlalchemy import Connection, func, insert, select, update

from empathy.core.errors import HistoryError
from empathy.core.history.gitlog import LOG_ARGS, CommitRecord, decode_git_text, parse_log_stream
from empathy.core.repo import SHALLOW_HINT, RepoInfo
from empathy.core.store.locks import repository_lock
from empathy.core.store.store import Store
from empathy.core.store.tables import ChangeRow, CommitRow, FileRow, RepositoryRow

__all__ = ["IngestReport", "ingest"]

ProgressFn = Callable[[int, int], None]
_FSCK_HINT = "the repository may be corrupt: run `git fsck`; commits ingested so far are kept, rerun after repairing"

_COMMITS = CommitRow.__table__  # type: ignore[attr-defined]
_CHANGES = ChangeRow.__table__  # type: ignore[attr-defined]
_FILES = FileRow.__table__  # type: ignore[attr-defined]
_REPOS = RepositoryRow.__table__  # type: ignore[attr-defined]


@dataclass
class IngestReport:
    """What an ingest did, for the CLI and for tests."""

    repo_id: int
    head: str
    new_commits: int = 0
    skipped_commits: int = 0
    total_commits: int = 0
    shallow: bool = False
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.new_commits == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "new_commits": self.new_commits,
            "total_commits": self.total_commits,
            "shallow": self.shallow,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
        }


def _drain(stream: IO[bytes], sink: list[bytes]) -> None:
    for line in stream:
        if len(sink) < 50:
            sink.append(line)


def _read_chunks(stream: IO[bytes], size: int = 1 << 16, depth: int = 256) -> Iterator[bytes]:
    """Chunks of git's output, read by a thread so git never waits on a batch write.

    Without the thread, git blocks on a full pipe while a batch is written and
    the two take turns (measured 13-25% slower, docs/benchmarks.md).  The queue
    is bounded (``depth`` x 64 KiB) so a slow store cannot make memory grow.
    """
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)

    def pump() -> None:
        try:
            while chunk := stream.read(size):
                chunks.put(chunk)
        finally:
            chunks.put(None)

    threading.Thread(target=pump, name="empathy-git-log-reader", daemon=True).start()
    while (chunk := chunks.get()) is not None:
        yield chunk


class _PathMap:
    """Current path -> file id, the state that makes renames follow a file.

    ``aliases`` remembers renamed-away paths: with ``--topo-order`` a rename on
    the first-parent line can come before a side branch's edit of the old
    path, and that edit belongs to the renamed file, not to a new one.  It is
    rebuilt from the stored renames, so incremental runs see the same thing.
    """

    def __init__(self, conn: Connection, repo_id: int) -> None:
        self.repo_id = repo_id
        self.ids: dict[str, int] = {}
        self.aliases: dict[str, int] = {}
        # Live rows load last so they win when a dead entity shares their path.
        rows = conn.execute(
            select(_FILES.c.id, _FILES.c.path)
            .where(_FILES.c.repo_id == repo_id)
            .order_by(_FILES.c.deleted.desc(), _FILES.c.id)
        )
        holders: dict[str, list[int]] = {}
        for fid, path in rows:
            self.ids[path] = fid
            holders.setdefault(path, []).append(fid)
        # Liveness is only flagged at the end of a complete run: after an interrupted first ingest
        # every entity still looks alive.  Where several share a path, the one that touched it last
        # holds it (what the interrupted run's own map said), not the one with the newest id.
        shared = {path: fids for path, fids in holders.items() if len(fids) > 1}
        if shared:
            last: dict[int, int] = dict(
                conn.execute(
                    select(_CHANGES.c.file_id, func.max(_CHANGES.c.id))
                    .where(
                        _CHANGES.c.repo_id == repo_id,
                        _CHANGES.c.file_id.in_([f for fids in shared.values() for f in fids]),
                        _CHANGES.c.path.in_(list(shared)),
                    )
                    .group_by(_CHANGES.c.file_id)
                ).all()
            )
            for path, fids in shared.items():
                self.ids[path] = max(fids, key=lambda f: (last.get(f) or 0, f))
        renames = conn.execute(
            select(_CHANGES.c.old_path, _CHANGES.c.file_id)
            .where(_CHANGES.c.repo_id == repo_id, _CHANGES.c.old_path.is_not(None))
            .order_by(_CHANGES.c.id)
        )
        for old, fid in renames:
            self.aliases[old] = fid

    def live_ids(self) -> set[int]:
        return set(self.ids.values())

    def resolve(
        self, conn: Connection, path: str, old_path: str | None, moved: dict[int, str], created: bool = False
    ) -> int:
        if old_path is not None and old_path != path:
            fid = self.ids.pop(old_path, None)
            if fid is None:
                alias = self.aliases.get(old_path)
                fid = alias if alias is not None and alias in self.live_ids() else None
            if fid is not None:
                # A rename onto a path another entity held displaces that entity.
                self.ids[path] = fid
                self.aliases[old_path] = fid
                moved[fid] = path
                return fid
        fid = self.ids.get(path)
        if fid is None:
            alias = None if created else self.aliases.get(path)
            if alias is not None and alias in self.live_ids():
                return alias  # an edit of the old name, merged after the rename
            fid = int(
                conn.execute(
                    insert(_FILES).values(repo_id=self.repo_id, path=path, deleted=False)
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            self.ids[path] = fid
        return fid


def _shallow_marker(repo: RepoInfo) -> str | None:
    shallow_file = repo.git_dir / "shallow"
    if not shallow_file.exists():
        return None
    return hashlib.sha1(shallow_file.read_bytes()).hexdigest()


def _shallow_boundary(repo: RepoInfo) -> set[str]:
    shallow_file = repo.git_dir / "shallow"
    if not shallow_file.exists():
        return set()
    return {line.strip() for line in shallow_file.read_text().splitlines() if line.strip()}


def _git_stderr(exc: git.GitCommandError) -> str:
    """git's own message, without GitPython's framing, on one line."""
    text = str(exc.stderr or "").strip()
    text = text.removeprefix("stderr:").strip().strip("'").strip()
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or str(exc)


def _is_commit(repo: RepoInfo, sha: str) -> bool:
    try:
        repo.git.cat_file("-e", f"{sha}^{{commit}}")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable as a boundary"
        return False


def _write_batch(
    conn: Connection,
    repo_id: int,
    batch: list[CommitRecord],
    paths: _PathMap,
    boundary: set[str],
    report: IngestReport,
) -> None:
    """Write one batch of commits in the caller's transaction."""
    # Lock the repository row first: concurrent ingests of one repository
    # (two CI jobs on a team server) serialise here instead of colliding.
    conn.execute(update(_REPOS).where(_REPOS.c.id == repo_id).values(ingested_at=int(time.time())))
    known = set(
        conn.execute(
            select(_COMMITS.c.sha).where(_COMMITS.c.repo_id == repo_id, _COMMITS.c.sha.in_([c.sha for c in batch]))
        ).scalars()
    )
    seq = int(conn.execute(select(_REPOS.c.next_seq).where(_REPOS.c.id == repo_id)).scalar_one())
    fresh = [c for c in batch if c.sha not in known]
    report.skipped_commits += len(batch) - len(fresh)
    if not fresh:
        return
    commit_rows = []
    for c in fresh:
        commit_rows.append(
            {
                "repo_id": repo_id,
                "sha": c.sha,
                "seq": seq,
                "parents": " ".join(c.parents),
                "author_name": c.author_name,
                "author_email": c.author_email,
                "authored_at": c.authored_at,
                "committed_at": c.committed_at,
                "message": c.message,
                "is_merge": c.is_merge,
                "files_changed": 0 if c.sha in boundary else len(c.changes),
            }
        )
        seq += 1
    ids = (
        conn.execute(insert(_COMMITS).returning(_COMMITS.c.id, sort_by_parameter_order=True), commit_rows)
        .scalars()
        .all()
    )
    moved: dict[int, str] = {}
    change_rows = []
    for commit_id, c in zip(ids, fresh, strict=True):
        if c.sha in boundary:
            report.warnings.append(f"{c.sha[:12]} is at the shallow boundary; its changes are not counted")
            continue
        for ch in c.changes:
            fid = paths.resolve(conn, ch.path, ch.old_path, moved, created=ch.created)
            change_rows.append(
                {
                    "repo_id": repo_id,
                    "commit_id": commit_id,
                    "file_id": fid,
                    "path": ch.path,
                    "old_path": ch.old_path,
                    "added": ch.added,
                    "deleted": ch.deleted,
                }
            )
    if change_rows:
        conn.execute(insert(_CHANGES), change_rows)
    for fid, path in moved.items():
        conn.execute(update(_FILES).where(_FILES.c.id == fid).values(path=path))
    conn.execute(
        update(_REPOS)
        .where(_REPOS.c.id == repo_id)
        .values(next_seq=seq, commit_count=_REPOS.c.commit_count + len(fresh))
    )
    report.new_commits += len(fresh)


def _mark_deleted(conn: Connection, repo: RepoInfo, repo_id: int, paths: _PathMap) -> None:
    """Flag files not in HEAD's tree (deleted, renamed away, or displaced by a rename).

    The tree is read as bytes and decoded like the log, so non-UTF-8 names match.
    """
    raw: bytes = repo.git.ls_tree("-r", "-z", "--name-only", "HEAD", stdout_as_string=False)
    present = {decode_git_text(p) for p in raw.split(b"\0") if p}
    alive = {fid for path, fid in paths.ids.items() if path in present}
    rows = conn.execute(select(_FILES.c.id, _FILES.c.deleted).where(_FILES.c.repo_id == repo_id))
    flips = [(fid, fid not in alive) for fid, deleted in rows if (fid not in alive) != bool(deleted)]
    for fid, gone in flips:
        conn.execute(update(_FILES).where(_FILES.c.id == fid).values(deleted=gone))


def ingest(
    repo: RepoInfo,
    store: Store,
    progress: ProgressFn | None = None,
    batch_commits: int = 2000,
    batch_changes: int = 50_000,
    on_wait: Callable[[], None] | None = None,
) -> IngestReport:
    """Bring the store up to ``repo.head``; safe to interrupt and rerun, and to run from two processes.

    One ingest per repository and store at a time (:func:`repository_lock`):
    a second process waits (``on_wait()`` is called once, so it can say so),
    then reads the store afresh and finds the history already there.
    """
    with repository_lock(store.engine, repo.key, on_wait):
        return _ingest(repo, store, progress, batch_commits, batch_changes)


def _ingest(
    repo: RepoInfo,
    store: Store,
    progress: ProgressFn | None,
    batch_commits: int,
    batch_changes: int,
) -> IngestReport:
    started = time.perf_counter()
    repo_row = store.repository(repo.key, str(repo.root))
    assert repo_row.id is not None
    repo_id = repo_row.id
    report = IngestReport(repo_id=repo_id, head=repo.head, shallow=repo.shallow)
    if repo.shallow:
        report.warnings.append(SHALLOW_HINT)
    marker = _shallow_marker(repo)
    if (
        repo_row.head
        and (repo_row.shallow or repo.shallow)
        and (repo_row.shallow != repo.shallow or repo_row.head != repo.head or repo_row.shallow_marker != marker)
    ):
        # The visible history changed shape (unshallowed, deepened, or a new shallow
        # fetch): commits that were at the boundary now have real parents, so the
        # stored history is rebuilt rather than patched.
        store.reset_history(repo_id)
        repo_row = store.refresh_repository(repo_id)
        report.warnings.append("the clone's depth changed since the last ingest; the history was re-read")
    if repo_row.head == repo.head:
        report.total_commits = repo_row.commit_count
        report.seconds = time.perf_counter() - started
        return report

    rev_args = [repo.head]
    if repo_row.head and _is_commit(repo, repo_row.head):
        rev_args.append(f"^{repo_row.head}")
    total = 0
    if progress:  # the count costs a second walk (0.5 s on 100k commits): only for a progress bar
        try:
            total = int(repo.git.rev_list("--count", *rev_args))
        except git.GitCommandError as exc:
            raise HistoryError(f"git cannot walk the history of {repo.root}: {_git_stderr(exc)}", _FSCK_HINT) from None
        progress(0, total)

    boundary = _shallow_boundary(repo)
    proc = repo.git.log(*LOG_ARGS, *rev_args, "--", as_process=True)
    errors: list[bytes] = []
    drainer = threading.Thread(target=_drain, args=(proc.proc.stderr, errors), daemon=True)
    drainer.start()
    done = 0
    try:
        with store.engine.connect() as conn:
            with conn.begin():
                paths = _PathMap(conn, repo_id)
            batch: list[CommitRecord] = []
            changes = 0
            for record in parse_log_stream(_read_chunks(proc.proc.stdout)):
                batch.append(record)
                changes += len(record.changes)
                if len(batch) >= batch_commits or changes >= batch_changes:
                    with conn.begin():
                        _write_batch(conn, repo_id, batch, paths, boundary, report)
                    done += len(batch)
                    batch, changes = [], 0
                    if progress:
                        progress(done, total)
            with conn.begin():
                if batch:
                    _write_batch(conn, repo_id, batch, paths, boundary, report)
                    done += len(batch)
                proc.proc.wait()
                drainer.join(timeout=5)
                if proc.proc.returncode != 0:
                    message = b"".join(errors).decode("utf-8", "replace").strip()
                    raise HistoryError(f"git log failed after {done} commits: {message}", _FSCK_HINT)
                _mark_deleted(conn, repo, repo_id, paths)
                conn.execute(
                    update(_REPOS)
                    .where(_REPOS.c.id == repo_id)
                    .values(head=repo.head, shallow=repo.shallow, shallow_marker=marker, ingested_at=int(time.time()))
                )
            if progress:
                progress(done, total)
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()
    report.total_commits = store.refresh_repository(repo_id).commit_count
    report.seconds = time.perf_counter() - started
    return report
