"""A broken repository gets a clear error and an exit code, and loses nothing stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from empathy.core.errors import HistoryError
from empathy.core.history.ingest import ingest
from empathy.core.repo import open_repository
from empathy.core.store.store import open_store
from tests.gitrepo import RepoBuilder


def _drop_object(repo: RepoBuilder, sha: str) -> None:
    (repo.path / ".git" / "objects" / sha[:2] / sha[2:]).unlink()


def test_missing_commit_object_is_a_history_error(repo: RepoBuilder, tmp_path: Path) -> None:
    shas = [repo.commit(f"c{i}", {f"f{i}.py": f"x = {i}\n"}) for i in range(6)]
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url, None)
    opened = open_repository(repo.path)
    _drop_object(repo, shas[2])
    with pytest.raises(HistoryError) as caught:
        ingest(opened, store)
    assert "git fsck" in caught.value.hint
    assert shas[2] in caught.value.message


def test_dangling_head_is_not_called_empty(repo: RepoBuilder) -> None:
    head = repo.commit("only", {"a.py": "a = 1\n"})
    _drop_object(repo, head)
    with pytest.raises(HistoryError) as caught:
        open_repository(repo.path)
    assert "cannot read" in caught.value.message


def test_cli_reports_corruption_without_traceback(repo: RepoBuilder) -> None:
    shas = [repo.commit(f"c{i}", {f"f{i}.py": f"x = {i}\n"}) for i in range(4)]
    _drop_object(repo, shas[1])
    proc = subprocess.run(
        [sys.executable, "-m", "empathy", "analyze", str(repo.path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 7
    assert "error:" in proc.stderr and "git fsck" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
