"""Two processes ingesting one repository at once leave the store a single ingest would.

Without the per-repository lock each process built its own map of paths to
file entities and marked files deleted from it; interleaved, they left most
live files flagged deleted (issue 16, item 1).  Here pairs of real processes
start together (a barrier) on SQLite and on the real PostgreSQL, and each
store is compared with one ingest of the same repository.
"""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from empathy.core.store.locks import repository_lock
from empathy.core.store.tables import ChangeRow, CommitRow, FileRow
from empathy.core.workspace import open_workspace
from tests.envs import child_env
from tests.gitrepo import RepoBuilder

PAIRS = 20


def _build(repo: RepoBuilder) -> None:
    """Many files, renames and deletions: the live/deleted flags are what a race breaks."""
    for k in range(60):
        files: dict[str, str | bytes] = {f"pkg/m{j}.py": f"v = {k}\n" for j in range(k % 7, 40, 7)}
        files[f"docs/n{k}.md"] = f"note {k}\n"
        repo.commit(f"work {k}", files)
        if k % 10 == 9:
            repo.rename(f"pkg/m{k % 40}.py", f"pkg/renamed{k}.py", f"rename {k}")
        if k % 15 == 14:
            repo.commit(f"drop notes {k}", delete=[f"docs/n{k - 1}.md", f"docs/n{k - 2}.md"])


def _state(url: str, repo: Path) -> dict[str, Any]:
    """What an ingest leaves: commits, changes, and each file entity's path and liveness."""
    ws = open_workspace(repo, {"database_url": url})
    with ws.store.engine.connect() as conn:
        commits = conn.execute(select(func.count()).select_from(CommitRow).where(CommitRow.repo_id == ws.repo_id))
        changes = conn.execute(select(func.count()).select_from(ChangeRow))
        files = conn.execute(select(FileRow.path, FileRow.deleted).where(FileRow.repo_id == ws.repo_id))
        state = {
            "commits": commits.scalar(),
            "changes": changes.scalar(),
            "files": sorted((p, bool(d)) for p, d in files),
        }
    ws.store.engine.dispose()
    return state


def _ingest_after(barrier: Any, url: str, repo: str) -> None:
    ws = open_workspace(repo, {"database_url": url})
    barrier.wait(timeout=60)
    ws.ingest()
    ws.store.engine.dispose()


def _pair(url: str, repo: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_ingest_after, args=(barrier, url, str(repo))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = RepoBuilder(tmp_path_factory.mktemp("concurrent") / "repo")
    _build(repo)
    return repo.path


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_pairs_of_concurrent_ingests_equal_one_ingest(
    backend: str, template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)

    def fresh(k: int) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'store{k}.db'}"
        url = str(request.getfixturevalue("postgres_url"))
        # one database per test: empty it by dropping the repository's rows between pairs
        return url

    reference_url = fresh(-1)
    ws = open_workspace(repo, {"database_url": reference_url})
    ws.ingest()
    ws.store.engine.dispose()
    expected = _state(reference_url, repo)
    assert expected["commits"] > 60 and any(deleted for _p, deleted in expected["files"])
    for k in range(PAIRS):
        url = fresh(k)
        if backend == "postgres":
            _reset(url)
        _pair(url, repo)
        assert _state(url, repo) == expected, f"pair {k} left a store unlike one ingest"


def _reset(url: str) -> None:
    """Empty the PostgreSQL store between pairs (the migration stays)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


def test_a_cli_run_that_must_wait_says_so(template: Path, tmp_path: Path) -> None:
    """While another process (here: this one) holds the ingest lock, `empathy mine` waits and says why."""
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    ws = open_workspace(repo, {"database_url": url})
    env = child_env()
    env["EMPATHY_DATABASE_URL"] = url
    with repository_lock(ws.store.engine, ws.repo.key):
        proc = subprocess.Popen(
            [sys.executable, "-m", "empathy", "mine", "--json", str(repo)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.append(proc.stderr.readline() if proc.stderr else ""))
        reader.start()
        reader.join(timeout=60)
        assert said and said[0].startswith("waiting: another empathy process is ingesting this repository")
        assert proc.poll() is None  # still waiting while the lock is held
    _out, _err = proc.communicate(timeout=120)
    assert proc.returncode == 0, _err
    assert _state(url, repo)["commits"] > 60  # it ingested once the lock was free
