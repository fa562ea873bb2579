"""Deepening a shallow clone re-reads the history so boundary commits count again."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import func, select

from empathy.core.history.ingest import ingest
from empathy.core.repo import open_repository
from empathy.core.store.store import open_store
from empathy.core.store.tables import ChangeRow
from tests.gitrepo import RepoBuilder


def _numstat_total(path: Path) -> int:
    out = subprocess.run(
        ["git", "log", "--numstat", "--format=", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout
    return sum(int(line.split("\t")[0]) for line in out.splitlines() if line and line[0].isdigit())


def test_unshallow_rebuilds_history(repo: RepoBuilder, tmp_path: Path) -> None:
    for i in range(12):
        repo.commit(f"c{i}", {f"m{i % 3}.py": "".join(f"line {j}\n" for j in range(i + 2))})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo.path}", str(clone)], check=True)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", None)

    shallow = ingest(open_repository(clone), store)
    assert shallow.shallow and shallow.total_commits == 3
    assert any("fetch-depth: 0" in w for w in shallow.warnings)

    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True)
    full = ingest(open_repository(clone), store)
    assert not full.shallow
    assert full.total_commits == 12
    with store.engine.connect() as conn:
        added = conn.execute(select(func.sum(ChangeRow.added))).scalar_one()
    assert added == _numstat_total(clone)
