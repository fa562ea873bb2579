"""Real repositories for the gate: a history the change model can learn from, and thin ones."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gitrepo import RepoBuilder, build_history


@pytest.fixture(scope="session")
def _history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session (a few seconds); tests get their own copy."""
    repo = RepoBuilder(tmp_path_factory.mktemp("template") / "repo")
    build_history(repo)
    repo.branch("feature")
    repo.commit(
        "feature A",
        {
            "core.py": (repo.path / "core.py").read_text() + "".join(f"y{i} = {i}\n" for i in range(3)),
            "util.py": "u = 'a'\n",
        },
        day=400,
    )
    repo.commit("feature A, second part", {"util.py": "u = 'b'\n"}, day=401)
    repo.checkout("main")
    return repo.path


@pytest.fixture
def history_repo(_history_template: Path, tmp_path: Path) -> Path:
    """A private copy of the learned-from history, with a branch ``feature`` two commits ahead of main."""
    target = tmp_path / "history"
    shutil.copytree(_history_template, target, symlinks=True)
    return target


@pytest.fixture
def db_url(tmp_path: Path) -> Callable[[str], str]:
    """A fresh SQLite store per name, so a test can play several CI runners."""
    return lambda name="store": f"sqlite:///{tmp_path / (name + '.db')}"
