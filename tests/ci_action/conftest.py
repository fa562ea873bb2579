"""Real repositories for the gate: a history the change model can learn from, and thin ones."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gitrepo import RepoBuilder


def build_history(repo: RepoBuilder, rounds: int = 140) -> None:
    """Features append lines to core.py; every other feature's lines are later fixed.

    The same shape as the change-risk CLI tests: enough labelled changes (B-SZZ
    links from the fixes) for the change model to score instead of falling back.
    """
    body: list[str] = []
    day = 0
    for k in range(rounds):
        body += [f"x{k}_{j} = {j}\n" for j in range(1 + k % 5)]
        day += 1
        repo.commit(f"feature {k}", {"core.py": "".join(body), "util.py": f"u = {k}\n"}, day=day)
        if k % 2 == 0:
            body = [line.replace(f"x{k}_0 = 0", f"x{k}_0 = -1") for line in body]
            day += 1
            repo.commit(f"fix bug {k}", {"core.py": "".join(body)}, day=day)


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
