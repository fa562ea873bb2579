"""Ingest against git itself, on SQLite and PostgreSQL.

Ground truth is always git's own output (``git log --numstat``, ``rev-list``,
``ls-tree``), parsed here independently of the ingest's ``-z`` parser.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from git import exc as git_exc
from sqlalchemy import func, select
from sqlmodel import select as sm_select

from empathy.core.history.ingest import IngestReport, ingest
from empathy.core.repo import SHALLOW_HINT, open_repository
from empathy.core.store.store import Store, open_store
from empathy.core.store.tables import ChangeRow, CommitRow, FileRow, RepositoryRow
from tests.gitrepo import EPOCH, RepoBuilder, plain_numstat

ROOT = Path(__file__).resolve().parents[2]

Change = tuple[str, int | None, int | None]


# ---------------------------------------------------------------------------
# Ground truth from git


def git(path: Path, *args: str, **kw) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True, **kw).stdout


def path_totals(per_commit: dict[str, list[Change]]) -> dict[str, tuple[int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for changes in per_commit.values():
        for p, a, d in changes:
            totals[p][0] += a or 0
            totals[p][1] += d or 0
    return {p: (a, d) for p, (a, d) in totals.items()}


def rev_count(path: Path, *extra: str) -> int:
    return int(git(path, "rev-list", "--count", *extra, "HEAD"))


# ---------------------------------------------------------------------------
# What the store holds


def stored_changes(store: Store, repo_id: int) -> dict[str, list[Change]]:
    with store.engine.connect() as conn:
        result: dict[str, list[Change]] = {
            sha: [] for sha in conn.execute(select(CommitRow.sha).where(CommitRow.repo_id == repo_id)).scalars()
        }
        rows = conn.execute(
            select(CommitRow.sha, ChangeRow.path, ChangeRow.added, ChangeRow.deleted)
            .join(CommitRow, CommitRow.id == ChangeRow.commit_id)
            .where(ChangeRow.repo_id == repo_id)
        )
        for sha, p, a, d in rows:
            result[sha].append((p, a, d))
    return result


def commits(store: Store, repo_id: int) -> dict[str, CommitRow]:
    with store.session() as s:
        rows = s.exec(sm_select(CommitRow).where(CommitRow.repo_id == repo_id)).all()
    return {r.sha: r for r in rows}


def files(store: Store, repo_id: int) -> dict[int, FileRow]:
    with store.session() as s:
        rows = s.exec(sm_select(FileRow).where(FileRow.repo_id == repo_id)).all()
    return {r.id: r for r in rows}


def change_rows(store: Store, repo_id: int) -> list[tuple[int, str, str | None, int, str]]:
    """(seq, path, old_path, file_id, sha) for every change, in ingest order."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(CommitRow.seq, ChangeRow.path, ChangeRow.old_path, ChangeRow.file_id, CommitRow.sha)
            .join(CommitRow, CommitRow.id == ChangeRow.commit_id)
            .where(ChangeRow.repo_id == repo_id)
            .order_by(CommitRow.seq, ChangeRow.id)
        )
        return [tuple(r) for r in rows]


def sorted_changes(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (c[0], -1 if c[1] is None else c[1], -1 if c[2] is None else c[2]))


def assert_matches_git(path: Path, store: Store, repo_id: int, *, exclude: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """The store's view of the history equals git's, commit by commit and in total."""
    truth = {sha: ch for sha, ch in plain_numstat(path).items() if sha not in exclude}
    got = stored_changes(store, repo_id)
    assert set(got) == set(truth) | (exclude & set(got))
    for sha, changes in truth.items():
        assert sorted_changes(got[sha]) == sorted_changes(changes), sha
    no_merges = {sha: ch for sha, ch in plain_numstat(path, "--no-merges").items() if sha not in exclude}
    assert path_totals({s: got[s] for s in got if s not in exclude}) == path_totals(no_merges)

    assert store.commit_count(repo_id) == rev_count(path, "--no-merges")
    assert store.commit_count(repo_id, merges=True) == rev_count(path)
    rows = commits(store, repo_id)
    assert len(rows) == rev_count(path)  # no duplicate shas
    with store.engine.connect() as conn:
        n, distinct = conn.execute(
            select(func.count(CommitRow.id), func.count(func.distinct(CommitRow.sha))).where(
                CommitRow.repo_id == repo_id
            )
        ).one()
    assert n == distinct == len(rows)

    # seq: a permutation of 0..n-1 with parents before children
    seqs = {sha: r.seq for sha, r in rows.items()}
    assert sorted(seqs.values()) == list(range(len(rows)))
    for sha, r in rows.items():
        parents = r.parents.split()
        assert r.is_merge == (len(parents) > 1)
        for p in parents:
            if p in seqs:
                assert seqs[p] < seqs[sha]
        if sha not in exclude:
            assert r.files_changed == len(truth[sha])
    repo_row = store.refresh_repository(repo_id)
    assert repo_row.commit_count == len(rows)
    assert repo_row.next_seq == len(rows)
    assert repo_row.head == git(path, "rev-parse", "HEAD").strip()
    assert_file_entities(path, store, repo_id, complete=not exclude)


def assert_file_entities(path: Path, store: Store, repo_id: int, complete: bool = True) -> None:
    """Every live file has exactly one live entity; entities follow their renames.

    ``complete=False`` (shallow history): files untouched since the boundary have no entity.
    """
    head_paths = {p for p in git(path, "ls-tree", "-r", "-z", "--name-only", "HEAD").split("\0") if p}
    entities = files(store, repo_id)
    live = Counter(f.path for f in entities.values() if not f.deleted)
    if complete:
        assert set(live) == head_paths
    else:
        assert set(live) <= head_paths
    assert all(n == 1 for n in live.values()), {p: n for p, n in live.items() if n > 1}
    last_path: dict[int, str] = {}
    renamed_away: dict[int, set[str]] = {}
    for _seq, p, old, fid, sha in change_rows(store, repo_id):
        assert fid in entities
        if old is not None and fid in last_path:
            assert last_path[fid] == old or old in renamed_away.get(fid, set()), (sha, p, old)
        if old is not None:
            renamed_away.setdefault(fid, set()).add(old)
        if p in renamed_away.get(fid, set()):
            continue  # a merged branch's edit of the old name (topo order puts it after the rename)
        last_path[fid] = p
    for fid, p in last_path.items():
        assert entities[fid].path == p


# ---------------------------------------------------------------------------
# Building histories


def random_history(repo: RepoBuilder, seed: int, n: int) -> None:
    """``n`` commits of adds, edits, deletes, renames, binaries and merged side branches.

    Side branches only touch their own directory and files reserved for them,
    so every merge is clean.
    """
    rng = random.Random(seed)
    names = itertools.count()

    def tracked() -> list[str]:
        return sorted(p for p in git(repo.path, "ls-files").splitlines() if p != ".mailmap")

    def text_content() -> str:
        return "".join(f"{rng.randrange(10**6)} line {i}\n" for i in range(rng.randint(6, 30)))

    def mutate(p: str, light: bool = False) -> str | bytes:
        if p.endswith(".bin"):
            return bytes(rng.randrange(256) for _ in range(64)) + b"\0"
        lines = (repo.path / p).read_text().splitlines(keepends=True)
        for _ in range(1 if light else rng.randint(1, 5)):
            op = rng.random()
            i = rng.randrange(len(lines) + 1)
            if op < 0.4 or len(lines) < 6:
                lines.insert(i, f"{rng.randrange(10**6)} inserted\n")
            elif op < 0.7:
                lines[min(i, len(lines) - 1)] = f"{rng.randrange(10**6)} replaced\n"
            else:
                del lines[min(i, len(lines) - 1)]
        return "".join(lines)

    def new_name(prefix: str = "") -> str:
        k = next(names)
        ext = ".bin" if rng.random() < 0.08 else ".py"
        return f"{prefix}d{k % 4}/f{seed}_{k}{ext}"

    def add(prefix: str = "") -> dict[str, str | bytes]:
        name = new_name(prefix)
        return {name: (name.encode() + b"\0" + bytes(range(256)) if name.endswith(".bin") else text_content())}

    def rename(old: str, new: str, message: str) -> None:
        (repo.path / new).parent.mkdir(parents=True, exist_ok=True)
        repo.git_repo.git.mv(old, new)
        edits = {new: mutate(new, light=True)} if rng.random() < 0.5 and not new.endswith(".bin") else {}
        repo.commit(message, edits)

    if not tracked():
        repo.commit("initial", {**add(), **add(), **add(), **add()})
    done, branch_no = 0, 0
    while done < n:
        choice = rng.random()
        current = tracked()
        if choice < 0.12 and n - done >= 5:  # a side branch, merged back
            branch_no += 1
            reserved = rng.choice([p for p in current if p.endswith(".py")] or [None])
            if reserved is None:
                continue
            repo.branch(f"side{branch_no}")
            repo.commit(f"side {branch_no}: start", add(f"feat{branch_no}/"))
            rename(reserved, f"feat{branch_no}/moved_{Path(reserved).name}", f"side {branch_no}: move")
            done += 2
            for _ in range(rng.randint(0, 2)):
                mine = [p for p in tracked() if p.startswith(f"feat{branch_no}/") and p.endswith(".py")]
                repo.commit(f"side {branch_no}: edit", {p: mutate(p) for p in mine[:2]})
                done += 1
            repo.checkout("main")
            for _ in range(rng.randint(0, 2)):
                others = [p for p in tracked() if p != reserved]
                repo.commit("main meanwhile", {p: mutate(p) for p in rng.sample(others, min(2, len(others)))})
                done += 1
            repo.merge(f"side{branch_no}", f"merge side {branch_no}")
            done += 1
        elif choice < 0.30 or len(current) < 4:
            repo.commit("add", add())
            done += 1
        elif choice < 0.40:
            repo.commit("delete", delete=[rng.choice(current)])
            done += 1
        elif choice < 0.55:
            old = rng.choice(current)
            rename(old, new_name() if not old.endswith(".bin") else new_name().replace(".py", ".bin"), "rename")
            done += 1
        elif choice < 0.60:
            repo.commit("nothing", allow_empty=True)
            done += 1
        else:
            picked = rng.sample(current, min(len(current), rng.randint(1, 3)))
            extra = add() if rng.random() < 0.2 else {}
            repo.commit("edit", {**{p: mutate(p) for p in picked}, **extra})
            done += 1


def fast_import(path: Path, n: int, seed: int = 7) -> None:
    """A linear history of ``n`` commits written by ``git fast-import`` (fast to build)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    rng = random.Random(seed)
    contents: dict[str, list[str]] = {}
    stream = bytearray()

    def data(raw: bytes) -> bytes:
        return f"data {len(raw)}\n".encode() + raw + b"\n"

    for i in range(n):
        ops: list[bytes] = []
        touched: set[str] = set()
        if len(contents) < 3 or rng.random() < 0.15:
            p = f"pkg{i % 5}/mod{i}.py"
            contents[p] = [f"{i} {k}\n" for k in range(rng.randint(8, 20))]
            touched.add(p)
        elif rng.random() < 0.1:
            old = rng.choice(sorted(contents))
            new = f"moved/r{i}_{Path(old).name}"
            ops.append(f"R {old} {new}\n".encode())
            contents[new] = contents.pop(old)
            contents[new].append(f"renamed {i}\n")
            touched.add(new)
        elif rng.random() < 0.05 and len(contents) > 4:
            old = rng.choice(sorted(contents))
            ops.append(f"D {old}\n".encode())
            del contents[old]
        for p in rng.sample(sorted(contents), min(len(contents), rng.randint(1, 3))):
            lines = contents[p]
            lines[rng.randrange(len(lines))] = f"edit {i}\n"
            lines.insert(rng.randrange(len(lines) + 1), f"new {i}\n")
            touched.add(p)
        for p in sorted(touched):
            ops.append(f"M 100644 inline {p}\n".encode() + data("".join(contents[p]).encode()))
        when = EPOCH + i * 3600
        author = ["Alice <alice@example.com>", "Bob <bob@example.com>"][i % 2]
        stream += f"commit refs/heads/main\nmark :{i + 1}\n".encode()
        stream += f"author {author} {when} +0000\ncommitter {author} {when} +0000\n".encode()
        stream += data(f"commit {i}".encode())
        if i:
            stream += f"from :{i}\n".encode()
        stream += b"".join(ops) + b"\n"
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=bytes(stream), check=True)


def commit_raw_object(repo: RepoBuilder, message: bytes) -> str:
    """A commit object written byte for byte (``git commit`` would re-encode the message)."""
    repo.git_repo.git.add("-A")
    tree = git(repo.path, "write-tree").strip()
    parent = git(repo.path, "rev-parse", "HEAD").strip()
    body = (
        f"tree {tree}\nparent {parent}\n".encode()
        + b"author Jos\xe9 <jose@example.com> 1600000000 +0000\n"
        + b"committer Jos\xe9 <jose@example.com> 1600000000 +0000\n\n"
        + message
    )
    sha = (
        subprocess.run(
            ["git", "-C", str(repo.path), "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
            input=body,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .strip()
    )
    git(repo.path, "update-ref", "HEAD", sha)
    return sha


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, None)
    try:
        yield s
    finally:
        s.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """For behaviour that does not depend on the backend (keeps the suite fast)."""
    s = open_store(f"sqlite:///{tmp_path / 'only-sqlite.db'}", None)
    try:
        yield s
    finally:
        s.engine.dispose()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 45-commit random history, built once and only read by the tests."""
    r = RepoBuilder(tmp_path_factory.mktemp("history") / "repo")
    random_history(r, seed=1234, n=45)
    return r.path


def clone(src: Path, dst: Path) -> RepoBuilder:
    subprocess.run(["git", "clone", "-q", str(src), str(dst)], check=True)
    r = RepoBuilder(dst)
    r.day = 10_000
    return r


def run(path: Path, store: Store, **kw) -> IngestReport:
    return ingest(open_repository(path), store, **kw)


# ---------------------------------------------------------------------------
# Correctness against git


def test_history_fixture_is_interesting(history: Path) -> None:
    """Guard: the random history really holds what the tests below rely on."""
    log = git(history, "log", "--format=%P", "-M", "--name-status", "HEAD")
    assert rev_count(history, "--merges") >= 2
    assert re.search(r"^R\d+\t", log, re.M)
    assert re.search(r"^D\t", log, re.M)
    assert any(a is None for ch in plain_numstat(history).values() for _, a, _ in ch)
    assert any(not ch for ch in plain_numstat(history, "--no-merges").values())  # an empty commit


def test_ingest_matches_git(history: Path, store: Store) -> None:
    progress: list[tuple[int, int]] = []
    report = run(history, store, progress=lambda done, total: progress.append((done, total)))
    total = rev_count(history)
    assert (report.new_commits, report.skipped_commits, report.total_commits) == (total, 0, total)
    assert report.head == git(history, "rev-parse", "HEAD").strip()
    assert not report.up_to_date and not report.shallow and report.warnings == []
    assert report.seconds > 0
    assert progress[0] == (0, total) and progress[-1] == (total, total)
    assert_matches_git(history, store, report.repo_id)


def test_batch_size_does_not_change_the_result(history: Path, sqlite_store: Store, tmp_path: Path) -> None:
    """Tiny batches (many transactions, path map carried across) store exactly the same data."""
    store = sqlite_store
    small = run(history, store, batch_commits=3, batch_changes=4)
    assert_matches_git(history, store, small.repo_id)
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}", None)
    try:
        big = run(history, reference)

        def snapshot(s: Store, repo_id: int) -> tuple:
            ents = files(s, repo_id)
            rows = commits(s, repo_id)
            commit_view = sorted(
                (
                    r.sha,
                    r.seq,
                    r.parents,
                    r.author_name,
                    r.author_email,
                    r.authored_at,
                    r.committed_at,
                    r.message,
                    r.is_merge,
                    r.files_changed,
                )
                for r in rows.values()
            )
            change_view = sorted((sha, p, old, ents[fid].path) for _seq, p, old, fid, sha in change_rows(s, repo_id))
            file_view = sorted((f.path, f.deleted) for f in ents.values())
            return commit_view, change_view, file_view

        assert snapshot(store, small.repo_id) == snapshot(reference, big.repo_id)
    finally:
        reference.engine.dispose()


def test_incremental_ingest(history: Path, store: Store, tmp_path: Path) -> None:
    r = clone(history, tmp_path / "work")
    first = run(r.path, store)
    assert first.new_commits == rev_count(r.path)

    def table_state() -> tuple:
        with store.engine.connect() as conn:
            counts = tuple(
                conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (CommitRow, ChangeRow, FileRow)
            )
            repo_row = conn.execute(select(RepositoryRow)).one()
        return counts, tuple(repo_row)

    state = table_state()
    again = run(r.path, store)
    assert again.up_to_date and again.new_commits == 0 and again.total_commits == first.total_commits
    assert table_state() == state  # nothing written, not even a timestamp

    before = rev_count(r.path)
    random_history(r, seed=99, n=12)
    k = rev_count(r.path) - before
    progress: list[tuple[int, int]] = []
    second = run(r.path, store, progress=lambda d, t: progress.append((d, t)))
    assert second.new_commits == k and second.skipped_commits == 0
    assert second.total_commits == rev_count(r.path)
    assert progress[0] == (0, k) and progress[-1] == (k, k)
    assert_matches_git(r.path, store, second.repo_id)

    third = run(r.path, store)
    assert third.up_to_date and third.total_commits == rev_count(r.path)
    assert_matches_git(r.path, store, second.repo_id)


def test_incremental_single_commits(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("one", {"a.py": "a\n"})
    for i in range(5):
        report = run(repo.path, store)
        assert report.new_commits == 1
        if i == 2:
            repo.commit("delete", delete=["a.py"])
        else:
            repo.commit(f"c{i}", {"a.py": f"a\n{i}\n"})
    assert run(repo.path, store).new_commits == 1
    assert_matches_git(repo.path, store, report.repo_id)


# ---------------------------------------------------------------------------
# Renames


def file_ids_by_path(store: Store, repo_id: int) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for _seq, p, _old, fid, _sha in change_rows(store, repo_id):
        out[p].add(fid)
    return out


LINES = "".join(f"line {i}\n" for i in range(30))


def test_rename_keeps_the_file_entity(store: Store, repo: RepoBuilder) -> None:
    repo.commit("add", {"src/a.py": LINES, "other.py": "x\n"})
    repo.commit("edit", {"src/a.py": LINES + "more\n"})
    report = run(repo.path, store)  # the rename arrives in a later, incremental ingest
    repo.rename("src/a.py", "lib/b.py")
    repo.commit("edit after move", {"lib/b.py": LINES + "more\nagain\n"})
    repo.rename("lib/b.py", "c.py", files={"c.py": LINES + "more\nagain\nthird\n"})
    repo.commit("edit", {"c.py": "line 0\n" + LINES + "more\nagain\nthird\n"})
    run(repo.path, store)

    ids = file_ids_by_path(store, report.repo_id)
    (fid,) = ids["src/a.py"] | ids["lib/b.py"] | ids["c.py"]
    assert ids["other.py"] != {fid}
    ents = files(store, report.repo_id)
    assert ents[fid].path == "c.py" and not ents[fid].deleted
    assert sorted(f.path for f in ents.values()) == ["c.py", "other.py"]
    renames = [(old, p) for _s, p, old, f, _sha in change_rows(store, report.repo_id) if old]
    assert renames == [("src/a.py", "lib/b.py"), ("lib/b.py", "c.py")]
    assert_matches_git(repo.path, store, report.repo_id)


def test_rename_on_a_side_branch_merged_in(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("add", {"a.py": LINES, "main.py": "m\n"})
    repo.branch("side")
    repo.rename("a.py", "pkg/a.py")
    repo.commit("edit on side", {"pkg/a.py": LINES + "side\n"})
    repo.checkout("main")
    repo.commit("main work", {"main.py": "m\nm2\n"})
    repo.merge("side")
    repo.commit("edit after merge", {"pkg/a.py": LINES + "side\nmain\n"})
    report = run(repo.path, store)

    ids = file_ids_by_path(store, report.repo_id)
    (fid,) = ids["a.py"] | ids["pkg/a.py"]
    ents = files(store, report.repo_id)
    assert ents[fid].path == "pkg/a.py" and not ents[fid].deleted
    assert len(ents) == 2
    assert_matches_git(repo.path, store, report.repo_id)


@pytest.mark.parametrize(
    "rename_on",
    [
        "side",
        "main",
    ],
)
def test_rename_while_the_other_branch_edits_the_old_path(
    sqlite_store: Store, repo: RepoBuilder, rename_on: str
) -> None:
    """One branch renames a.py, the other edits a.py; git merges the edit into the new path."""
    store = sqlite_store
    repo.commit("add", {"a.py": LINES, "keep.py": "k\n"})
    repo.branch("side")
    repo.checkout("main")

    def do_rename() -> None:
        repo.rename("a.py", "moved.py")

    def do_edit() -> None:
        repo.commit("edit old path", {"a.py": LINES + "appended\n"})

    repo.checkout("side")
    (do_rename if rename_on == "side" else do_edit)()
    repo.checkout("main")
    (do_edit if rename_on == "side" else do_rename)()
    repo.merge("side")
    assert (repo.path / "moved.py").read_text().endswith("appended\n")
    report = run(repo.path, store)
    assert_matches_git(repo.path, store, report.repo_id)
    ids = file_ids_by_path(store, report.repo_id)
    assert len(ids["a.py"] | ids["moved.py"]) == 1, "the edit of a.py and the rename must share one file"


def test_rename_onto_a_previously_deleted_path(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("add", {"old.py": "print('old')\n" * 3, "new.py": LINES})
    repo.commit("drop old", delete=["old.py"])
    repo.rename("new.py", "old.py")  # the replacement takes the old name
    report = run(repo.path, store)
    assert "new.py" in dict(file_ids_by_path(store, report.repo_id))
    assert_file_entities(repo.path, store, report.repo_id)


def test_rename_onto_a_deleted_path_then_incremental_edit(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("add", {"old.py": "print('old')\n" * 3, "new.py": LINES})
    repo.commit("drop old", delete=["old.py"])
    repo.rename("new.py", "old.py")
    report = run(repo.path, store)
    edit = repo.commit("edit", {"old.py": LINES + "more\n"})
    run(repo.path, store)
    rows = change_rows(store, report.repo_id)
    (renamed_id,) = {fid for _s, p, old, fid, _sha in rows if old == "new.py"}
    (edit_id,) = {fid for _s, _p, _old, fid, sha in rows if sha == edit}
    assert edit_id == renamed_id


def test_deleted_and_readded_files(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("add", {"a.py": "a\n", "b.py": "b\n"})
    repo.commit("drop", delete=["a.py"])
    report = run(repo.path, store)
    ents = {f.path: f for f in files(store, report.repo_id).values()}
    assert ents["a.py"].deleted and not ents["b.py"].deleted
    repo.commit("bring back", {"a.py": "a again\n"})
    run(repo.path, store)
    ents2 = {f.path: f for f in files(store, report.repo_id).values()}
    assert not ents2["a.py"].deleted and ents2["a.py"].id == ents["a.py"].id
    assert_matches_git(repo.path, store, report.repo_id)


# ---------------------------------------------------------------------------
# Merges, authors, odd content


def test_merges_are_stored_without_changes(store: Store, repo: RepoBuilder) -> None:
    repo.commit("base", {"a.py": "1\n2\n3\n"})
    repo.branch("side")
    side = repo.commit("side", {"a.py": "1\n2\nside\n"})
    repo.checkout("main")
    main = repo.commit("main", {"a.py": "main\n2\n3\n"})
    clean_merge = repo.merge("side")
    # an "evil" merge: conflict resolved with extra lines only the merge introduces
    repo.branch("side2")
    repo.commit("side2", {"a.py": "X\n2\nside\n"})
    repo.checkout("main")
    repo.commit("main2", {"a.py": "Y\n2\nside\n"})
    with pytest.raises(git_exc.GitCommandError):
        repo.git_repo.git.merge("--no-ff", "-q", "side2")
    repo.write("a.py", "resolved\n2\nside\nplus\nmore\n")
    repo.git_repo.git.add("a.py")
    repo.git_repo.git.commit("-q", "--no-edit")
    evil = repo.head()

    report = run(repo.path, store)
    rows = commits(store, report.repo_id)
    changes = stored_changes(store, report.repo_id)
    for sha in (clean_merge, evil):
        assert rows[sha].is_merge and rows[sha].files_changed == 0 and changes[sha] == []
    assert rows[clean_merge].parents.split() == [main, side]
    assert not rows[side].is_merge
    assert store.commit_count(report.repo_id) == 5 == rev_count(repo.path, "--no-merges")
    assert store.commit_count(report.repo_id, merges=True) == 7
    # churn excludes merges: totals are those of the non-merge commits only
    totals = path_totals(changes)
    assert totals == path_totals(plain_numstat(repo.path, "--no-merges"))
    evil_diff = git(repo.path, "diff", "--numstat", f"{evil}^1", evil)
    assert evil_diff.strip(), "the merge itself changes lines relative to its first parent"
    assert_matches_git(repo.path, store, report.repo_id)


def test_mailmap_unifies_authors(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit(
        "mailmap",
        {".mailmap": "Robert Smith <bob@new.example>\nRobert Smith <bob@new.example> <bob@old.example>\n"},
    )
    repo.commit("one", {"a.py": "1\n"}, author=("bob", "bob@old.example"))
    repo.commit("two", {"a.py": "2\n"}, author=("Bobby S", "bob@new.example"))
    repo.commit("three", {"b.py": "3\n"}, author=("Carol", "carol@example.com"))
    report = run(repo.path, store)
    rows = commits(store, report.repo_id)
    truth = dict(line.split("\t", 1) for line in git(repo.path, "log", "--format=%H\t%aN <%aE>").splitlines())
    assert {sha: f"{r.author_name} <{r.author_email}>" for sha, r in rows.items()} == truth
    bobs = {(r.author_name, r.author_email) for r in rows.values() if r.message in ("one", "two")}
    assert bobs == {("Robert Smith", "bob@new.example")}


def test_binary_files_have_no_counts(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("add", {"logo.png": b"\x89PNG\0\0" + bytes(range(256)), "a.py": "a\n"})
    repo.commit("change", {"logo.png": b"\x89PNG\0\1" + bytes(range(256))})
    report = run(repo.path, store)
    got = stored_changes(store, report.repo_id)
    binaries = [c for ch in got.values() for c in ch if c[0] == "logo.png"]
    assert binaries == [("logo.png", None, None)] * 2
    assert_matches_git(repo.path, store, report.repo_id)


def test_empty_commits_are_stored_without_changes(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("add", {"a.py": "a\n"})
    empty = repo.commit("nothing", allow_empty=True)
    after = repo.commit("edit", {"a.py": "a\nb\n"})
    report = run(repo.path, store)
    rows, got = commits(store, report.repo_id), stored_changes(store, report.repo_id)
    assert rows[empty].files_changed == 0 and got[empty] == [] and rows[empty].message == "nothing"
    assert got[after] == [("a.py", 1, 0)]
    assert store.commit_count(report.repo_id) == 3
    assert_matches_git(repo.path, store, report.repo_id)


NON_UTF8_NAME = b"caf\xe9.py"


def test_non_utf8_file_name(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("plain", {"a.py": "a\n"})
    repo.write(NON_UTF8_NAME, "x = 1\n")
    sha = repo.commit("latin-1 name")
    repo.commit("edit it", {os.fsdecode(NON_UTF8_NAME): "x = 2\ny = 3\n"})
    assert (
        NON_UTF8_NAME
        in subprocess.run(["git", "-C", str(repo.path), "ls-files", "-z"], capture_output=True, check=True).stdout
    )
    report = run(repo.path, store)
    got = stored_changes(store, report.repo_id)
    (added,) = got[sha]
    name = added[0]
    assert name.startswith("caf") and name.endswith(".py") and name != "caf.py"
    name.encode("utf-8")  # some decoded, storable form
    assert added[1:] == (1, 0)
    ids = file_ids_by_path(store, report.repo_id)
    assert len(ids[name]) == 1  # both commits touch the same entity
    assert store.commit_count(report.repo_id) == 3


def test_non_utf8_file_name_is_not_marked_deleted(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.write(NON_UTF8_NAME, "x = 1\n")
    repo.commit("latin-1 name", {"a.py": "a\n"})
    report = run(repo.path, store)
    ents = files(store, report.repo_id).values()
    assert len(ents) == 2
    assert [f.path for f in ents if f.deleted] == []


def test_declared_latin1_message(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("plain", {"a.py": "a\n"})
    repo.write("a.py", "b\n")
    msg = repo.path.parent / "msg.txt"
    msg.write_bytes("Corrigé: déjà vu\n\nsecond paragraph é\n".encode("latin-1"))
    repo.git_repo.git.add("-A")
    subprocess.run(
        ["git", "-C", str(repo.path), "-c", "i18n.commitEncoding=latin-1", "commit", "-q", "-F", str(msg)],
        check=True,
        capture_output=True,
    )
    assert (
        b"encoding latin-1"
        in subprocess.run(
            ["git", "-C", str(repo.path), "cat-file", "commit", "HEAD"], capture_output=True, check=True
        ).stdout
    )
    report = run(repo.path, store)
    row = commits(store, report.repo_id)[repo.head()]
    assert row.message == "Corrigé: déjà vu\n\nsecond paragraph é"
    assert stored_changes(store, report.repo_id)[repo.head()] == [("a.py", 1, 1)]


def test_raw_non_utf8_message_and_author(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("plain", {"a.py": "a\n"})
    repo.write("a.py", "a\nb\n")
    sha = commit_raw_object(repo, b"bad \xff\xfe bytes \xc3\x28\n")
    repo.commit("after", {"a.py": "a\nb\nc\n"})
    report = run(repo.path, store)
    row = commits(store, report.repo_id)[sha]
    assert row.message.startswith("bad ") and row.message.endswith(" bytes \\xc3(")
    assert row.author_name.startswith("Jos") and row.author_email == "jose@example.com"
    row.message.encode("utf-8")
    assert_matches_git(repo.path, store, report.repo_id)


def test_odd_content_on_both_backends(store: Store, repo: RepoBuilder) -> None:
    """Binary files, empty commits, non-UTF-8 names, messages and authors in one history."""
    repo.commit("plain", {"a.py": "a\n", "logo.png": b"\x89PNG\0" + bytes(range(200))})
    empty = repo.commit("nothing", allow_empty=True)
    repo.write(NON_UTF8_NAME, "x = 1\n")
    bad_name = repo.commit("latin-1 name", {"logo.png": b"\x89PNG\0\1"})
    repo.write("a.py", "a\nb\n")
    raw = commit_raw_object(repo, b"bad \xff\xfe bytes \xc3\x28 \xe2\x9c\x93\n")
    repo.write("a.py", "a\nb\nc\n")
    msg = repo.path.parent / "msg.txt"
    msg.write_bytes("déjà vu\n".encode("latin-1"))
    repo.git_repo.git.add("-A")
    subprocess.run(
        ["git", "-C", str(repo.path), "-c", "i18n.commitEncoding=latin-1", "commit", "-q", "-F", str(msg)],
        check=True,
        capture_output=True,
    )
    latin1 = repo.head()
    report = run(repo.path, store)

    rows, got = commits(store, report.repo_id), stored_changes(store, report.repo_id)
    assert report.total_commits == 5 and store.commit_count(report.repo_id) == 5
    assert got[empty] == [] and rows[empty].files_changed == 0
    names = {p for p, _, _ in got[bad_name]}
    assert "logo.png" in names and len(names) == 2
    (odd,) = names - {"logo.png"}
    assert odd.startswith("caf") and odd.endswith(".py")
    assert ("logo.png", None, None) in got[bad_name]
    assert rows[raw].message.startswith("bad ") and rows[raw].message.endswith("\u2713")
    assert rows[raw].author_email == "jose@example.com"
    assert rows[latin1].message == "déjà vu"
    assert got[latin1] == [("a.py", 1, 0)]
    # a second run reads everything back without choking on the stored text
    assert run(repo.path, store).up_to_date


def test_message_with_unit_separator_does_not_stop_the_ingest(sqlite_store: Store, repo: RepoBuilder) -> None:
    store = sqlite_store
    repo.commit("plain", {"a.py": "a\n"})
    repo.write("a.py", "a\nb\n")
    commit_raw_object(repo, b"pasted \x1f junk\n")
    report = run(repo.path, store)
    assert report.total_commits == 2


# ---------------------------------------------------------------------------
# Crash safety


CRASH_SCRIPT = r"""
import sys, time
import empathy.core.history.ingest as ingest_mod
from empathy.core.repo import open_repository
from empathy.core.store.store import open_store

real = ingest_mod._write_batch

def slow(*args, **kwargs):
    real(*args, **kwargs)
    time.sleep(0.2)  # still inside the batch's transaction: a kill here loses this batch

ingest_mod._write_batch = slow
store = open_store(sys.argv[2], None)
ingest_mod.ingest(open_repository(sys.argv[1]), store, batch_commits=5)
print("finished", flush=True)
"""


def test_kill_9_during_ingest_then_rerun(store: Store, store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "big"
    fast_import(path, 150)
    total = rev_count(path)
    assert total == 150

    def stored() -> int:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(CommitRow)).scalar_one())

    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, str(path), store_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if 0 < stored() < total:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, (out, err.decode()[-2000:])

    survived = stored()
    assert 0 < survived < total
    assert survived % 5 == 0  # whole batches only: the one in flight was rolled back
    repo_row = store.find_repository(open_repository(path).key)
    assert repo_row is not None and repo_row.head is None  # the run never completed
    assert repo_row.commit_count == survived and repo_row.next_seq == survived
    truth = plain_numstat(path)
    for sha, changes in stored_changes(store, repo_row.id).items():  # type: ignore[arg-type]
        assert sorted_changes(changes) == sorted_changes(truth[sha])  # no half-written commit

    report = run(path, store, batch_commits=7)
    assert report.skipped_commits == survived
    assert report.new_commits == total - survived
    assert report.total_commits == total
    assert_matches_git(path, store, report.repo_id)
    assert run(path, store).up_to_date


# ---------------------------------------------------------------------------
# Shallow clones


def shallow_clone(tmp_path: Path, depth: int = 5, n: int = 20) -> tuple[Path, Path]:
    src = tmp_path / "src"
    fast_import(src, n)
    dst = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", str(depth), f"file://{src}", str(dst)], check=True)
    return src, dst


def test_shallow_clone(store: Store, tmp_path: Path) -> None:
    _src, dst = shallow_clone(tmp_path)
    info = open_repository(dst)
    assert info.shallow
    (boundary,) = (dst / ".git" / "shallow").read_text().split()
    report = ingest(info, store)
    assert report.shallow and report.new_commits == 5 == rev_count(dst)
    text = "\n".join(report.warnings)
    assert SHALLOW_HINT in report.warnings
    assert "fetch-depth: 0" in text and "--unshallow" in text
    assert any(boundary[:12] in w for w in report.warnings)

    rows = commits(store, report.repo_id)
    got = stored_changes(store, report.repo_id)
    assert rows[boundary].files_changed == 0 and got[boundary] == []
    truth = plain_numstat(dst)
    tree = set(git(dst, "ls-tree", "-r", "--name-only", boundary).split())
    assert {p for p, _, _ in truth[boundary]} == tree  # git shows the whole tree as added there
    assert_matches_git(dst, store, report.repo_id, exclude={boundary})
    assert store.refresh_repository(report.repo_id).shallow is True

    again = ingest(open_repository(dst), store)
    assert again.up_to_date and SHALLOW_HINT in again.warnings


def test_unshallow_then_ingest_sees_the_full_history(store: Store, tmp_path: Path) -> None:
    """Following the hint (`git fetch --unshallow`) rebuilds the history: nothing stays lost."""
    _src, dst = shallow_clone(tmp_path)
    (boundary,) = (dst / ".git" / "shallow").read_text().split()
    ingest(open_repository(dst), store)
    subprocess.run(["git", "-C", str(dst), "fetch", "-q", "--unshallow"], check=True)
    info = open_repository(dst)
    assert not info.shallow
    report = ingest(info, store)
    assert report.total_commits == 20 and not report.shallow
    assert SHALLOW_HINT not in report.warnings
    assert stored_changes(store, report.repo_id)[boundary] != []  # the old boundary counts now
    assert_matches_git(dst, store, report.repo_id)
    assert store.refresh_repository(report.repo_id).shallow is False
    assert ingest(open_repository(dst), store).up_to_date


def test_deepen_then_ingest_sees_the_deeper_history(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    _src, dst = shallow_clone(tmp_path, depth=5)
    ingest(open_repository(dst), store)
    subprocess.run(["git", "-C", str(dst), "fetch", "-q", "--deepen=5"], check=True)
    assert rev_count(dst) == 10
    (new_boundary,) = (dst / ".git" / "shallow").read_text().split()
    report = ingest(open_repository(dst), store)
    assert report.total_commits == 10
    assert_matches_git(dst, store, report.repo_id, exclude={new_boundary})


@pytest.mark.parametrize("name", ["app.py", "café app.py"])
def test_a_file_created_where_another_was_renamed_away_is_a_new_file(
    sqlite_store: Store, repo: RepoBuilder, name: str
) -> None:
    """flask moved src/flask/app.py to sansio/ and then wrote a new app.py: two files, not one.

    The non-ASCII name with a space checks the ``--summary`` path git C-quotes.
    """
    store = sqlite_store
    repo.commit("add", {name: LINES, "keep.py": "k\n"})
    repo.rename(name, f"sansio/{name}")
    repo.commit("split", {name: "".join(f"new {i}\n" for i in range(40)), f"sansio/{name}": LINES + "x\n"})
    edit = repo.commit("edit the new one", {name: "".join(f"new {i}\n" for i in range(41))})
    report = run(repo.path, store)
    ids = file_ids_by_path(store, report.repo_id)
    assert len(ids[name]) == 2, "the old name's history and the new file are two entities"
    ents = files(store, report.repo_id)
    moved = {fid for fid in ids[f"sansio/{name}"]}
    assert len(moved) == 1 and ents[next(iter(moved))].path == f"sansio/{name}"
    rows = change_rows(store, report.repo_id)
    (edit_id,) = {fid for _s, _p, _old, fid, sha in rows if sha == edit}
    assert edit_id not in moved and ents[edit_id].path == name and not ents[edit_id].deleted
    assert_file_entities(repo.path, store, report.repo_id)


def _entity_groups(store: Store, repo_id: int) -> list[list[tuple[str, str]]]:
    """Which changes (sha, path) share a file entity, ids left out: a clean and a resumed ingest must agree."""
    groups: dict[int, list[tuple[str, str]]] = {}
    for _seq, p, _old, fid, sha in change_rows(store, repo_id):
        groups.setdefault(fid, []).append((sha, p))
    return sorted(sorted(g) for g in groups.values())


@pytest.mark.parametrize("stop_after", [3, 4, 5])
def test_an_interrupted_first_ingest_resumes_to_the_same_file_entities(
    sqlite_store: Store, repo: RepoBuilder, tmp_path: Path, stop_after: int
) -> None:
    """The renamed file is the *older* entity here: a resume that let the newest id own a path split its history."""
    repo.commit("add new", {"new.py": LINES})  # entity 1
    repo.commit("add old", {"old.py": "print('old')\n" * 3})  # entity 2
    repo.commit("drop old", delete=["old.py"])
    repo.rename("new.py", "old.py")  # entity 1 takes the path entity 2 held
    repo.commit("edit", {"old.py": LINES + "more\n"})
    repo.commit("edit again", {"old.py": LINES + "more\nand more\n"})

    clean = open_store(f"sqlite:///{tmp_path / 'clean.db'}", None)
    expected = _entity_groups(clean, run(repo.path, clean).repo_id)

    class Killed(Exception):
        pass

    def die(done: int, _total: int) -> None:
        if done >= stop_after:
            raise Killed

    with pytest.raises(Killed):
        run(repo.path, sqlite_store, batch_commits=1, progress=die)
    report = run(repo.path, sqlite_store, batch_commits=1)  # the rerun resumes
    assert _entity_groups(sqlite_store, report.repo_id) == expected
    assert_file_entities(repo.path, sqlite_store, report.repo_id)
