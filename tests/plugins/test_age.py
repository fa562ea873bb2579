"""The age miner: recently changed old files in a code base that is otherwise stable."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import build_template, clone, mine, of_kind

STABLE = ["a.py", "b.py", "c.py", "d.py", "e.py"]


def build_stable_repo(repo: RepoBuilder) -> None:
    """Now = day 400. Ages: five stable files 400, mid 40, recent 20, new 5 (created day 395), old 0."""
    repo.commit(
        "start",
        {
            **{p: f"{p[0]} = 0\n" for p in STABLE},
            "mid.py": "m = 0\n",
            "recent.py": "r = 0\n",
            "old.py": "o = 0\n",
            "docs/conf.py": "x = 0\n",
        },
        day=0,
    )
    repo.commit("mid", {"mid.py": "m = 1\n"}, day=360)
    repo.commit("recent", {"recent.py": "r = 1\n"}, day=380)
    repo.commit("new file", {"new.py": "n = 1\n"}, day=395)
    repo.commit("docs", {"docs/conf.py": "x = 1\n"}, day=399)  # excluded: not part of the median
    repo.commit("old changes", {"old.py": "o = 1\n"}, day=400)


@pytest.fixture(scope="module")
def stable_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_stable_repo)


def test_volatile_in_stable(stable_repo: Path, tmp_path: Path) -> None:
    repo = clone(stable_repo, tmp_path / "repo")
    found = of_kind(mine(repo, tmp_path, "age"), "volatile_in_stable")

    # mid.py (40 days > young_days 30) is not volatile; new.py is young because it is new.
    assert set(found) == {("old.py",), ("recent.py",)}
    old, recent = found[("old.py",)], found[("recent.py",)]
    assert old.evidence == {"age_days": 0.0, "median_age_days": 400.0, "file_created": "2020-09-13"}
    assert recent.evidence["age_days"] == 20.0
    assert old.score == 1.0
    assert recent.score == pytest.approx(round(1 - 20 / 30, 4))
    # confidence = saturate(median_age / 30, 6)
    assert old.confidence == pytest.approx(round(1 - math.exp(-math.log(2) * (400 / 30) / 6), 4))
    assert "median file has been stable for 400 days" in old.summary


def test_not_reported_for_a_young_repository(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {**{p: "x = 0\n" for p in STABLE}, "old.py": "o = 0\n"}, day=0)
    repo.commit("old changes", {"old.py": "o = 1\n"}, day=100)  # median age 100 < stable_days 180
    assert mine(repo, tmp_path, "age") == []


def test_stable_days_setting(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {**{p: "x = 0\n" for p in STABLE}, "old.py": "o = 0\n"}, day=0)
    repo.commit("old changes", {"old.py": "o = 1\n"}, day=100)
    found = of_kind(mine(repo, tmp_path, "age", "[plugins.age]\nstable_days = 50\n"), "volatile_in_stable")
    assert list(found) == [("old.py",)]
    assert found[("old.py",)].evidence["median_age_days"] == 100.0


def test_young_days_setting(stable_repo: Path, tmp_path: Path) -> None:
    repo = clone(stable_repo, tmp_path / "repo")
    found = of_kind(mine(repo, tmp_path, "age", "[plugins.age]\nyoung_days = 10\n"), "volatile_in_stable")
    assert set(found) == {("old.py",)}


def test_only_one_file_is_no_pattern(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {"a.py": "a = 0\n"}, day=0)
    repo.commit("change", {"a.py": "a = 1\n"}, day=400)  # the median file is the file itself: age 0
    assert mine(repo, tmp_path, "age") == []
