"""The coupling miner: code-maat's degree = shared / mean(revs a, revs b) x 100."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import build_template, clone, mine, of_kind


def together(repo: RepoBuilder, paths: list[str], times: int, tag: str) -> None:
    for k in range(times):
        repo.commit(f"{tag} {k}", {p: f"{tag} = {k}\n" for p in paths})


def build_ab(repo: RepoBuilder) -> None:
    together(repo, ["a.py", "b.py"], 6, "ab")
    together(repo, ["a.py"], 2, "a")


def build_cd(repo: RepoBuilder) -> None:
    together(repo, ["c.py", "d.py"], 4, "cd")


@pytest.fixture(scope="module")
def ab_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_ab)


@pytest.fixture(scope="module")
def cd_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_cd)


def test_degree_six_shared_of_eight_and_six_revisions(ab_template: Path, tmp_path: Path) -> None:
    repo = clone(ab_template, tmp_path / "repo")
    pairs = of_kind(mine(repo, tmp_path, "coupling"), "coupling")  # code-maat defaults

    assert list(pairs) == [("a.py", "b.py")]
    p = pairs[("a.py", "b.py")]
    assert p.evidence["shared_revs"] == 6
    assert p.evidence["revs_a"] == 8
    assert p.evidence["revs_b"] == 6
    assert p.evidence["degree"] == 85.7  # 6 / mean(8, 6) x 100
    assert p.score == 0.8571
    assert p.evidence["a_given_b"] == 1.0  # every change of b.py also changed a.py
    assert p.evidence["b_given_a"] == 0.75
    assert p.evidence["cross_module"] is False
    assert p.evidence["last_shared"] == "2020-09-19"  # day 6, the last shared commit
    assert p.confidence == pytest.approx(round(1 - 2 ** (-6 / 8), 4))
    assert "86% coupling" in p.summary


@pytest.mark.parametrize(
    ("toml", "reported"),
    [
        ("", False),  # code-maat defaults: 4 shared < 5
        ("[plugins.coupling]\nmin_revs = 4\nmin_shared_revs = 4\n", True),
        ("[plugins.coupling]\nmin_revs = 4\nmin_shared_revs = 5\n", False),
        ("[plugins.coupling]\nmin_revs = 5\nmin_shared_revs = 4\n", False),  # c.py has only 4 revs
        ("[plugins.coupling]\nmin_revs = 4\nmin_shared_revs = 4\nmin_degree = 100\n", True),  # degree 100
    ],
)
def test_min_revs_and_min_shared_revs(cd_template: Path, tmp_path: Path, toml: str, reported: bool) -> None:
    repo = clone(cd_template, tmp_path / "repo")
    pairs = of_kind(mine(repo, tmp_path, "coupling", toml), "coupling")
    assert (("c.py", "d.py") in pairs) is reported
    if reported:
        assert pairs[("c.py", "d.py")].evidence["degree"] == 100.0


def test_min_degree_filters_weak_pairs(ab_template: Path, tmp_path: Path) -> None:
    repo = clone(ab_template, tmp_path / "repo")
    toml = "[plugins.coupling]\nmin_degree = 86\n"  # 85.7 < 86
    assert of_kind(mine(repo, tmp_path, "coupling", toml), "coupling") == {}


@pytest.mark.parametrize(("max_size", "reported"), [(3, False), (4, True)])
def test_big_changesets_are_ignored(repo: RepoBuilder, tmp_path: Path, max_size: int, reported: bool) -> None:
    together(repo, ["a.py", "b.py", "c.py", "d.py"], 5, "bulk")  # 4 files per commit
    toml = f"[plugins.coupling]\nmax_changeset_size = {max_size}\n"
    pairs = of_kind(mine(repo, tmp_path, "coupling", toml), "coupling")
    if reported:
        assert len(pairs) == 6  # every pair of the four files
        assert all(p.evidence["shared_revs"] == 5 for p in pairs.values())
    else:
        assert pairs == {}


def test_a_big_changeset_does_not_dilute_the_counts(repo: RepoBuilder, tmp_path: Path) -> None:
    together(repo, ["a.py", "b.py"], 5, "ab")
    # a reformat of a.py with 4 other files: ignored, so revs_a stays 5 and degree 100
    repo.commit("reformat", {"a.py": "reformatted = 1\n", **{f"x{i}.py": "x = 1\n" for i in range(4)}})
    pairs = of_kind(mine(repo, tmp_path, "coupling", "[plugins.coupling]\nmax_changeset_size = 4\n"), "coupling")
    assert pairs[("a.py", "b.py")].evidence["revs_a"] == 5
    assert pairs[("a.py", "b.py")].evidence["degree"] == 100.0


def test_coupling_survives_a_rename(repo: RepoBuilder, tmp_path: Path) -> None:
    together(repo, ["a.py", "b.py"], 5, "ab")
    repo.rename("a.py", "core/a2.py")  # a revision of a alone
    repo.commit("after", {"core/a2.py": "x = 100\n", "b.py": "y = 100\n"})
    patterns = mine(repo, tmp_path, "coupling")
    pairs = of_kind(patterns, "coupling")

    assert list(pairs) == [("core/a2.py", "b.py")]  # named by the new path (file ids order the pair)
    p = pairs[("core/a2.py", "b.py")]
    assert p.evidence["shared_revs"] == 6
    assert p.evidence["revs_a"] == 7  # 5 + rename + 1
    assert p.evidence["revs_b"] == 6
    assert p.evidence["degree"] == 92.3  # 6 / 6.5
    assert not any("a.py" in s for pat in patterns for s in pat.subjects)


def test_rename_in_a_shared_commit_keeps_both_counts(repo: RepoBuilder, tmp_path: Path) -> None:
    together(repo, ["a.py", "b.py"], 5, "ab")
    (repo.path / "lib").mkdir()
    repo.git_repo.git.mv("b.py", "lib/b2.py")
    repo.commit("move b and change a", {"a.py": "x = 101\n"})
    pairs = of_kind(mine(repo, tmp_path, "coupling"), "coupling")
    assert list(pairs) == [("a.py", "lib/b2.py")]
    assert pairs[("a.py", "lib/b2.py")].evidence["shared_revs"] == 6
    assert pairs[("a.py", "lib/b2.py")].evidence["degree"] == 100.0


def test_deleted_files_are_not_reported(repo: RepoBuilder, tmp_path: Path) -> None:
    together(repo, ["a.py", "b.py", "c.py"], 5, "abc")
    repo.commit("drop c", delete=["c.py"])
    pairs = of_kind(mine(repo, tmp_path, "coupling"), "coupling")
    assert list(pairs) == [("a.py", "b.py")]


def test_excluded_and_non_source_files_are_not_paired(repo: RepoBuilder, tmp_path: Path) -> None:
    together(repo, ["a.py", "tests/test_a.py", "README.md"], 6, "t")
    assert of_kind(mine(repo, tmp_path, "coupling"), "coupling") == {}


def test_cross_module_flag(repo: RepoBuilder, tmp_path: Path) -> None:
    files = ["api/x.py", "api/z.py", "db/y.py", "src/pkg/a.py", "src/pkg/b.py", "src/other/c.py"]
    together(repo, files, 5, "m")
    toml = "[plugins.coupling]\nmax_changeset_size = 10\n"
    pairs = of_kind(mine(repo, tmp_path, "coupling", toml), "coupling")
    flag = {frozenset(k): p.evidence["cross_module"] for k, p in pairs.items()}
    assert len(flag) == 15
    assert flag[frozenset({"api/x.py", "api/z.py"})] is False
    assert flag[frozenset({"api/x.py", "db/y.py"})] is True
    assert flag[frozenset({"src/pkg/a.py", "src/pkg/b.py"})] is False
    assert flag[frozenset({"src/pkg/a.py", "src/other/c.py"})] is True
    cross = next(p for k, p in pairs.items() if set(k) == {"api/x.py", "db/y.py"})
    assert "across modules" in cross.summary
