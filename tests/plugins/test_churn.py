"""The churn miner: hotspot = commits in the window x log2(1 + LOC at HEAD)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from empathy.core.context import MiningContext
from empathy.core.hookspecs import hookimpl
from empathy.core.model import Pattern
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import build_template, clone, lines, mine, of_kind, workspace

ALL = "[plugins.churn]\ntop_share = 1.0\nmin_commits = 3\n"


def build_three_files(repo: RepoBuilder) -> None:
    """big.py: 4 commits on 40 lines; small.py: 6 commits on 2 lines; tiny.py: 1 commit.

    Excluded or non-source paths change far more often and must never appear.
    """
    repo.commit(
        "start",
        {"big.py": lines(40), "small.py": lines(2, "s"), "tiny.py": "t = 1\n", "README.md": "hi\n"},
    )  # day 1
    for k in range(3):  # days 2-4: one line of big.py replaced each time
        repo.commit(f"big {k}", {"big.py": lines(39) + f"last = {k}\n"})
    for k in range(5):  # days 5-9: line 2 of small.py replaced; one by Bob
        author = ("Bob", "bob@example.com") if k == 2 else ("Alice", "alice@example.com")
        repo.commit(f"small {k}", {"small.py": f"s0 = 0\ns1 = {k + 10}\n"}, author=author)
    for k in range(8):  # days 10-17: tests, docs and prose churn a lot
        repo.commit(
            f"noise {k}",
            {"tests/test_big.py": f"x = {k}\n", "docs/conf.py": f"y = {k}\n", "README.md": f"v{k}\n"},
        )


@pytest.fixture(scope="module")
def three_files_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_three_files)


@pytest.fixture
def three_files(three_files_template: Path, tmp_path: Path) -> RepoBuilder:
    return clone(three_files_template, tmp_path / "repo")


def test_hotspot_ranks_commits_times_log_loc_with_exact_evidence(three_files: RepoBuilder, tmp_path: Path) -> None:
    hot = of_kind(mine(three_files, tmp_path, "churn", ALL), "hotspot")

    # tiny.py has 1 commit < min_commits; tests/docs are excluded; README.md is not source.
    assert set(hot) == {("big.py",), ("small.py",)}
    big, small = hot[("big.py",)], hot[("small.py",)]

    # 4 x log2(41) = 21.43 beats 6 x log2(3) = 9.51: size matters, fewer commits can rank first.
    assert big.evidence["hotspot_score"] == 21.43
    assert small.evidence["hotspot_score"] == 9.51
    assert big.evidence["rank"] == 1 and small.evidence["rank"] == 2
    assert big.score == 1.0 and small.score == pytest.approx(0.6667)  # percentile among 3 source files
    assert big.score > small.score

    assert big.evidence["commits_window"] == 4
    assert big.evidence["commits_total"] == 4
    assert big.evidence["loc"] == 40
    assert big.evidence["lines_churned_window"] == 40 + 3 * 2
    assert big.evidence["authors_window"] == 1
    assert big.evidence["window_days"] == 365
    assert big.evidence["last_change"] == "2020-09-17"  # day 4

    assert small.evidence["commits_window"] == 6
    assert small.evidence["loc"] == 2
    assert small.evidence["lines_churned_window"] == 2 + 5 * 2
    assert small.evidence["authors_window"] == 2

    # confidence = saturate(commits, 5) = 1 - 2^(-commits/5)
    assert big.confidence == pytest.approx(round(1 - 2 ** (-4 / 5), 4))
    assert small.confidence == pytest.approx(round(1 - 2 ** (-6 / 5), 4))
    assert "#1 of 3 source files" in big.summary
    assert big.plugin == "churn"


def test_default_top_share_reports_only_the_top_file(three_files: RepoBuilder, tmp_path: Path) -> None:
    hot = of_kind(mine(three_files, tmp_path, "churn"), "hotspot")
    assert list(hot) == [("big.py",)]


@pytest.mark.parametrize(("min_commits", "expected"), [(4, {"big.py", "small.py"}), (5, {"small.py"}), (7, set())])
def test_min_commits_threshold_is_inclusive(
    three_files: RepoBuilder, tmp_path: Path, min_commits: int, expected: set[str]
) -> None:
    toml = f"[plugins.churn]\ntop_share = 1.0\nmin_commits = {min_commits}\n"
    hot = of_kind(mine(three_files, tmp_path, "churn", toml), "hotspot")
    assert {s[0] for s in hot} == expected


def build_window_history(repo: RepoBuilder) -> None:
    """a.py: 4 old commits (days 1, 2, 3, 69) and 4 recent ones (75, 80, 90, 100).

    b.py: 9 commits on 50 lines, but only one (day 99) in the last 30 days.
    """
    repo.commit("a0", {"a.py": lines(3), "b.py": lines(50, "b")}, day=1)
    for d in (2, 3, 69):
        repo.commit(f"a old {d}", {"a.py": lines(2) + f"z = {d}\n"}, day=d)
    for d in (4, 5, 6, 7, 8, 9, 10):
        repo.commit(f"b old {d}", {"b.py": lines(49, "b") + f"z = {d}\n"}, day=d)
    for d in (75, 80, 90, 100):
        repo.commit(f"a new {d}", {"a.py": lines(2) + f"z = {d}\n"}, day=d)
    repo.commit("b new", {"b.py": lines(49, "b") + "z = 99\n"}, day=99)


@pytest.fixture(scope="module")
def window_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_window_history)


def test_commits_outside_the_window_do_not_count(window_template: Path, tmp_path: Path) -> None:
    repo = clone(window_template, tmp_path / "repo")
    toml = "window_days = 30\n[plugins.churn]\ntop_share = 1.0\nmin_commits = 2\n"
    hot = of_kind(mine(repo, tmp_path, "churn", toml), "hotspot")

    assert set(hot) == {("a.py",)}  # b.py: 1 commit in the window < 2
    a = hot[("a.py",)].evidence
    assert a["commits_window"] == 4
    assert a["commits_total"] == 8
    assert a["lines_churned_window"] == 4 * 2
    assert a["loc"] == 3
    assert a["window_days"] == 30
    assert a["hotspot_score"] == round(4 * math.log2(4), 2) == 8.0
    assert a["last_change"] == "2020-12-22"  # day 100


def test_with_a_long_window_the_old_commits_count_again(window_template: Path, tmp_path: Path) -> None:
    repo = clone(window_template, tmp_path / "repo")
    hot = of_kind(mine(repo, tmp_path, "churn", "[plugins.churn]\ntop_share = 1.0\n"), "hotspot")
    assert hot[("b.py",)].evidence["commits_window"] == 9
    assert hot[("b.py",)].evidence["rank"] == 1  # 9 x log2(51) > 8 x log2(4)
    assert hot[("a.py",)].evidence["commits_window"] == 8


def test_merge_commits_are_not_churn(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("a0", {"a.py": lines(4)})
    repo.branch("feature")
    repo.commit("f1", {"a.py": lines(3) + "x = 1\n"})
    repo.commit("f2", {"a.py": lines(3) + "x = 2\n"})
    repo.checkout("main")
    repo.commit("m1", {"other.py": "o = 1\n"})
    repo.merge("feature")
    hot = of_kind(mine(repo, tmp_path, "churn", "[plugins.churn]\ntop_share = 1.0\nmin_commits = 1\n"), "hotspot")
    assert hot[("a.py",)].evidence["commits_window"] == 3
    assert hot[("a.py",)].evidence["lines_churned_window"] == 4 + 2 + 2


def test_renamed_file_keeps_its_history_under_the_new_path(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("a0", {"old.py": lines(5)})
    for k in range(3):
        repo.commit(f"a{k}", {"old.py": lines(4) + f"k = {k}\n"})
    repo.rename("old.py", "pkg/new.py")
    hot = of_kind(mine(repo, tmp_path, "churn", ALL), "hotspot")
    assert list(hot) == [("pkg/new.py",)]
    assert hot[("pkg/new.py",)].evidence["commits_window"] == 5


def test_path_reused_by_a_rename_is_reported_once(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("x", {"x.py": "1\n2\n"})
    repo.commit("rm x", delete=["x.py"])
    repo.commit("y", {"y.py": "a\nb\nc\n"})
    for i in range(3):
        repo.commit(f"y{i}", {"y.py": f"a\nb\nc{i}\n"})
    repo.rename("y.py", "x.py")
    patterns = mine(repo, tmp_path, "churn", "[plugins.churn]\ntop_share = 1.0\nmin_commits = 1\n")
    # One entity per path: the deleted x.py stays dead, the renamed y.py carries its own history.
    hot = of_kind(patterns, "hotspot")
    assert list(hot) == [("x.py",)]
    assert hot[("x.py",)].evidence["commits_window"] == 5  # y.py's 4 commits and the rename


# -- Plugin isolation at the workspace level -------------------------------------
# A crashing and a hanging miner run next to the built-ins; churn's hotspot is the
# healthy witness that the other plugins' results still arrive and are persisted.


class Crasher:
    @hookimpl
    def mine_patterns(self, context: MiningContext) -> list[Pattern]:
        raise RuntimeError("boom")


class Sleeper:
    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def mine_patterns(self, context: MiningContext) -> list[Pattern]:
        self.release.wait(10)  # far past the 0.5 s time-out; released at teardown
        return []


class Scripted:
    """Returns what ``script`` says on each call: a list of patterns, an exception or a value."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)

    @hookimpl
    def mine_patterns(self, context: MiningContext) -> object:
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


@pytest.fixture
def sleeper() -> Iterator[Sleeper]:
    s = Sleeper()
    yield s
    s.release.set()


def own_pattern(plugin: str = "scripted") -> Pattern:
    return Pattern(kind="custom", plugin=plugin, subjects=["big.py"], score=0.5, confidence=0.5, summary="mine")


def test_crashing_and_hanging_plugins_do_not_stop_the_others(
    three_files: RepoBuilder, tmp_path: Path, sleeper: Sleeper
) -> None:
    ws = workspace(three_files, tmp_path, plugin_timeout=0.5)
    assert ws.host.register(Crasher(), "crasher")
    assert ws.host.register(sleeper, "sleeper")

    started = time.perf_counter()
    report = ws.mine()
    assert time.perf_counter() - started < 5  # the hanging plugin was abandoned, not awaited

    assert set(report.errors) == {"crasher", "sleeper"}
    assert report.errors["crasher"].startswith("RuntimeError: boom")
    assert report.errors["sleeper"] == "TimeoutError: no answer within 0.5 s"
    builtins = {"churn", "coupling", "fixes", "ownership", "age", "complexity"}
    assert {r.plugin for r in report.results} == builtins | {"crasher", "sleeper"}
    assert all(r.ok for r in report.results if r.plugin in builtins)

    hot = of_kind(report.patterns, "hotspot")
    assert list(hot) == [("big.py",)]
    stored = ws.store.patterns(ws.repo_id)
    assert sorted(p.key for p in stored) == sorted(p.key for p in report.patterns)
    assert len(stored) > 0

    runs = {(r.plugin, r.hook): r for r in ws.store.plugin_runs()}
    assert "RuntimeError: boom" in (runs[("crasher", "mine_patterns")].error or "")
    assert runs[("sleeper", "mine_patterns")].error == "TimeoutError: no answer within 0.5 s"
    assert runs[("crasher", "mine_patterns")].results == 0
    assert runs[("churn", "mine_patterns")].error is None
    assert runs[("churn", "mine_patterns")].results == 1
    assert any("boom" in e for e in ws.host.infos["crasher"].errors)


def test_plugin_timeout_from_the_settings_file(three_files: RepoBuilder, tmp_path: Path, sleeper: Sleeper) -> None:
    ws = workspace(three_files, tmp_path, "plugin_timeout = 0.2\n")
    ws.host.register(sleeper, "sleeper")
    report = ws.mine(only=["sleeper", "churn"])
    assert report.errors == {"sleeper": "TimeoutError: no answer within 0.2 s"}
    assert of_kind(report.patterns, "hotspot")


def test_a_failing_plugin_keeps_its_earlier_patterns(three_files: RepoBuilder, tmp_path: Path) -> None:
    ws = workspace(three_files, tmp_path)
    ws.host.register(Scripted([own_pattern()], RuntimeError("boom"), {"not": "a list"}, []), "scripted")
    key = own_pattern().key

    assert ws.mine().errors == {}
    assert key in {p.key for p in ws.store.patterns(ws.repo_id)}
    churn_keys = {p.key for p in ws.store.patterns(ws.repo_id) if p.plugin == "churn"}

    second = ws.mine()  # crashes
    assert "RuntimeError: boom" in second.errors["scripted"]
    active = {p.key: p for p in ws.store.patterns(ws.repo_id)}
    assert key in active and active[key].summary == "mine"
    assert churn_keys <= set(active)

    third = ws.mine()  # returns the wrong type: an error too, knowledge kept
    assert third.errors["scripted"].startswith("TypeError: mine_patterns returned dict")
    assert key in {p.key for p in ws.store.patterns(ws.repo_id)}
    runs = {r.plugin: r for r in ws.store.plugin_runs()}
    assert (runs["scripted"].error or "").startswith("TypeError")

    fourth = ws.mine()  # succeeds with nothing: the pattern is no longer active, but kept
    assert fourth.errors == {}
    assert key not in {p.key for p in ws.store.patterns(ws.repo_id)}
    assert key in {p.key for p in ws.store.patterns(ws.repo_id, include_inactive=True)}
    assert ws.store.plugin_runs()  # and the last run has no error any more
    assert {r.plugin: r for r in ws.store.plugin_runs()}["scripted"].error is None


def test_patterns_are_attributed_to_the_registered_plugin_id(three_files: RepoBuilder, tmp_path: Path) -> None:
    ws = workspace(three_files, tmp_path)
    ws.host.register(Scripted([own_pattern(plugin="someone-else")]), "scripted")
    report = ws.mine(only=["scripted"])
    (p,) = report.patterns
    assert p.plugin == "scripted"
    assert p.key == own_pattern(plugin="scripted").key
    assert [s.plugin for s in ws.store.patterns(ws.repo_id)] == ["scripted"]
