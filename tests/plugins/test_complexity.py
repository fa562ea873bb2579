"""The complexity miner: indentation complexity trend across revisions, radon at HEAD."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy.core.history.blobs import indentation_complexity
from tests.gitrepo import RepoBuilder, py_source
from tests.plugins.helpers import mine, of_kind

FLAT_HEAD = "def g(x):\n    return x\n\n\n"  # cyclomatic 1, first in the file


def js_source(depth: int) -> str:
    out, indent = [], ""
    for d in range(depth):
        out.append(f"{indent}if (x > {d}) {{")
        indent += "  "
    out.append(f"{indent}return x;")
    for _ in range(depth):
        indent = indent[:-2]
        out.append(f"{indent}}}")
    return "function f(x) {\n" + "\n".join("  " + line for line in out) + "\n}\n"


def test_growing_nesting_is_a_complexity_trend(repo: RepoBuilder, tmp_path: Path) -> None:
    revisions = [py_source(3, 1), py_source(3, 2), py_source(3, 3), FLAT_HEAD + py_source(3, 5)]
    for i, text in enumerate(revisions):
        repo.commit(f"grow {i}", {"growing.py": text, "flat.py": py_source(3, 2, tag=f"_{i}")})
    found = of_kind(mine(repo, tmp_path, "complexity"), "complexity_trend")

    assert list(found) == [("growing.py",)]  # flat.py's nesting never changes
    p = found[("growing.py",)]
    start, end = indentation_complexity(revisions[0]), indentation_complexity(revisions[-1])
    assert (start, end) == (12, 67)
    ev = p.evidence
    assert ev["complexity_start"] == start
    assert ev["complexity_now"] == end
    assert ev["growth"] == round((end - start) / start, 3)
    assert ev["revisions_measured"] == 4
    assert ev["since"] == "2020-09-14"  # day 1, the first revision
    assert ev["slope_per_year"] > 0
    assert p.score == 1.0  # growth capped at 100%
    assert p.confidence == pytest.approx(round(1 - 2 ** (-4 / 6), 4))
    assert "(12 -> 67)" in p.summary

    # radon at HEAD: the three most complex functions, with their line ranges; g (cc 1) is left out
    assert ev["functions"] == [
        {"name": "f0", "start_line": 5, "end_line": 12, "cyclomatic": 6},
        {"name": "f1", "start_line": 14, "end_line": 21, "cyclomatic": 6},
        {"name": "f2", "start_line": 23, "end_line": 30, "cyclomatic": 6},
    ]


def test_non_python_files_have_a_trend_but_no_functions(repo: RepoBuilder, tmp_path: Path) -> None:
    revisions = [js_source(1), js_source(4), js_source(8)]
    for i, text in enumerate(revisions):
        repo.commit(f"grow {i}", {"web/app.js": text})
    found = of_kind(mine(repo, tmp_path, "complexity"), "complexity_trend")
    ev = found[("web/app.js",)].evidence
    assert ev["complexity_start"] == indentation_complexity(revisions[0])
    assert ev["complexity_now"] == indentation_complexity(revisions[-1])
    assert "functions" not in ev


def test_unparsable_python_gets_an_empty_function_list(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("a", {"bad.py": py_source(3, 1)})
    repo.commit("b", {"bad.py": py_source(3, 5) + "def broken(:\n"})
    ev = of_kind(mine(repo, tmp_path, "complexity"), "complexity_trend")[("bad.py",)].evidence
    assert ev["functions"] == []


@pytest.mark.parametrize(("min_increase", "reported"), [(20, False), (7, True), (8, False)])
def test_small_absolute_increase_is_not_reported(
    repo: RepoBuilder, tmp_path: Path, min_increase: int, reported: bool
) -> None:
    repo.commit("a", {"small.py": py_source(1, 1)})  # 4
    repo.commit("b", {"small.py": py_source(1, 3)})  # 11: +175 % but only +7
    toml = f"[plugins.complexity]\nmin_increase = {min_increase}\n"
    found = of_kind(mine(repo, tmp_path, "complexity", toml), "complexity_trend")
    assert (("small.py",) in found) is reported


def test_min_growth_is_relative(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("a", {"big.py": py_source(10, 4)})  # 160
    repo.commit("b", {"big.py": py_source(10, 4) + py_source(2, 4, tag="x")})  # 192: +20 %, +32
    assert ("big.py",) in of_kind(mine(repo, tmp_path, "complexity"), "complexity_trend")
    (tmp_path / "strict").mkdir()
    toml = "[plugins.complexity]\nmin_growth = 0.25\n"
    assert of_kind(mine(repo, tmp_path / "strict", "complexity", toml), "complexity_trend") == {}


def test_baseline_is_the_last_revision_before_the_window(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("d1", {"w.py": py_source(3, 1)}, day=1)
    repo.commit("d2", {"w.py": py_source(3, 2)}, day=10)  # the file as the window opens
    repo.commit("d4", {"w.py": py_source(3, 4)}, day=100)
    repo.commit("d5", {"w.py": py_source(3, 5)}, day=110)
    found = of_kind(mine(repo, tmp_path, "complexity", "window_days = 30\n"), "complexity_trend")
    ev = found[("w.py",)].evidence
    assert ev["complexity_start"] == indentation_complexity(py_source(3, 2)) == 21
    assert ev["complexity_now"] == indentation_complexity(py_source(3, 5)) == 66
    assert ev["revisions_measured"] == 3
    assert ev["since"] == "2020-09-23"  # day 10


def test_files_not_changed_in_the_window_are_not_measured(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("d1", {"w.py": py_source(3, 1)}, day=1)
    repo.commit("d2", {"w.py": py_source(3, 5)}, day=10)
    repo.commit("later", {"other.py": "x = 1\n"}, day=200)
    assert mine(repo, tmp_path, "complexity", "window_days = 30\n") == []


def test_max_revisions_limits_the_measured_revisions(repo: RepoBuilder, tmp_path: Path) -> None:
    for depth in (1, 2, 3, 4, 5):
        repo.commit(f"depth {depth}", {"m.py": py_source(3, depth)})
    toml = "[plugins.complexity]\nmax_revisions = 2\nmin_increase = 1\n"
    ev = of_kind(mine(repo, tmp_path, "complexity", toml), "complexity_trend")[("m.py",)].evidence
    assert ev["revisions_measured"] == 2
    assert (ev["complexity_start"], ev["complexity_now"]) == (48, 66)


def test_a_maintenance_branch_release_is_not_the_baseline(repo: RepoBuilder, tmp_path: Path) -> None:
    """click's case: main's file was nested for years, a release on the 8.1.x branch
    (an old flat copy), merged into main keeping main's text, was its last touch before
    the window, and comparing that copy with main reported a growth that never happened."""
    nested = py_source(3, 4)
    repo.commit("base", {"pkg.py": py_source(3, 1)}, day=1)
    repo.branch("stable")
    repo.checkout("main")
    repo.commit("nesting on main", {"pkg.py": nested}, day=5)
    repo.checkout("stable")
    repo.commit("release on the maintenance branch", {"pkg.py": py_source(3, 1) + "X = 1\n"}, day=80)
    repo.checkout("main")
    when = {"GIT_AUTHOR_DATE": "1606998400 +0000", "GIT_COMMITTER_DATE": "1606998400 +0000"}  # day 81
    repo.git_repo.git.merge("--no-ff", "-q", "-s", "ours", "-m", "merge stable into main", "stable", env=when)
    repo.commit("small edit on main", {"pkg.py": nested + "Y = 2\n"}, day=110)
    repo.commit("another", {"pkg.py": nested + "Y = 3\n"}, day=115)
    found = of_kind(mine(repo, tmp_path, "complexity", "window_days = 30\n"), "complexity_trend")
    assert found == {}  # main's nesting did not change in the window

    # a real growth on main is still seen, measured from main's own state before the window
    repo.commit("deeper on main", {"pkg.py": py_source(3, 6)}, day=118)
    (tmp_path / "again").mkdir()
    ev = of_kind(mine(repo, tmp_path / "again", "complexity", "window_days = 30\n"), "complexity_trend")[
        ("pkg.py",)
    ].evidence
    assert ev["complexity_start"] == indentation_complexity(nested)
    assert ev["complexity_now"] == indentation_complexity(py_source(3, 6))


def test_growth_merged_from_a_side_branch_is_measured_at_head(repo: RepoBuilder, tmp_path: Path) -> None:
    """A pull request's commits are older than their merge: main reaches their state only
    at the merge, so the trend's last point is HEAD, not the branch commit's date on main."""
    repo.commit("base", {"pkg.py": py_source(3, 1)}, day=1)
    repo.branch("feature")
    repo.commit("deeper on the branch", {"pkg.py": py_source(3, 5)}, day=100)
    repo.checkout("main")
    repo.commit("unrelated", {"other.py": "x = 1\n"}, day=105)
    repo.merge("feature")  # day 106, the merge touches nothing itself
    ev = of_kind(mine(repo, tmp_path, "complexity", "window_days = 30\n"), "complexity_trend")[("pkg.py",)].evidence
    assert ev["complexity_start"] == indentation_complexity(py_source(3, 1))
    assert ev["complexity_now"] == indentation_complexity(py_source(3, 5))
    assert ev["revisions_measured"] == 2  # main before the window, then HEAD
