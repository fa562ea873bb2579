"""The level-5 plugin: fix-begets-fix cycles and coupling across module boundaries.

One repository holds every fix scenario, each in its own period (more than a
window apart, so they cannot link to each other), over a steady background of
unrelated fixes: a real repository has one, and the chance test needs it (in
a repository where only A and B are ever fixed, A-B-A-B is what chance gives).
Half the background fixes go to ``hot.py``, a file fixed all the time: it
passes the counts with everything near it and must fail the chance test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from empathy.core.model import ChangeSet, Finding, Level, Severity
from empathy.core.workspace import Workspace
from empathy.plugin import date
from empathy.plugins.levels import systemic
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import DAY, build_template, clone, day_ts, workspace

#: the scenarios: file -> days it gets a bug fix
TWO_CYCLES = {"h.py": [300, 310, 320, 330, 340], "i.py": [303, 323], "j.py": [313, 333]}
ONE_WAY = {"d.py": [500, 550, 600], "e.py": [503, 553, 603]}  # e.py always 3 days after d.py, d.py 47 days after e.py
FAR_APART = {"f.py": [800, 880, 960], "g.py": [840, 920]}  # 40 days between every fix
PING_PONG = {"a.py": [1100, 1110, 1120, 1130], "b.py": [1103, 1113, 1123]}  # A, 3 days, B, 7 days, A ...
SCENARIOS = {**TWO_CYCLES, **ONE_WAY, **FAR_APART, **PING_PONG}
LAST_DAY = 1300
NEWEST = max(range(2, LAST_DAY, 10))  # the last background fix
#: the plugins a workspace loads: the miner the boundary tests need, and this one (registered by hand)
ONLY = ["coupling", "systemic"]


Commit = tuple[int, str, dict[str, str]]  # day, message, files


def fast_commits(repo: RepoBuilder, commits: list[Commit]) -> list[str]:
    """Commit on ``main`` with one ``git fast-import`` and return the shas, in order.

    A git process per commit (RepoBuilder.commit) would be most of this
    module's run time; the dates are the ones RepoBuilder gives a day.
    """
    stream = []
    for mark, (day, message, files) in enumerate(commits, start=1):
        who = f"Alice <alice@example.com> {day_ts(day)} +0000"
        stream += ["commit refs/heads/main", f"mark :{mark}", f"author {who}", f"committer {who}"]
        stream += [f"data {len(message.encode())}", message]
        stream += [f"from :{mark - 1}"] if mark > 1 else []
        for path, text in files.items():
            stream += [f"M 100644 inline {path}", f"data {len(text.encode())}", text]
    marks = repo.path.parent / "marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        input="\n".join(stream).encode() + b"\n",
        cwd=repo.path,
        check=True,
    )
    repo.git_repo.git.reset("-q", "--hard")
    sha_of = dict(line.split() for line in marks.read_text().splitlines())
    return [sha_of[f":{mark}"] for mark in range(1, len(commits) + 1)]


def build_cycles(repo: RepoBuilder) -> dict[tuple[str, int], str]:
    """Every scenario plus the background; returns the sha of each scenario fix by (file, day)."""
    events: dict[int, list[str]] = {}
    for path, days in SCENARIOS.items():
        for day in days:
            events.setdefault(day, []).append(path)
    background = [d for d in range(2, LAST_DAY, 10) if d not in events]
    commits: list[Commit] = [(1, "add the modules", {p: f"{p[0]} = 0\n" for p in [*SCENARIOS, "c.py", "hot.py"]})]
    keys: list[tuple[str, int] | None] = [None]
    for day in sorted([*events, *background]):
        if day in events:
            for path in events[day]:
                commits.append((day, f"fix {path} on day {day}", {path: f"v = {day}\n"}))
                keys.append((path, day))
        else:
            target = "hot.py" if day % 20 == 2 else f"noise/n{day}.py"
            commits.append((day, f"fix unrelated bug {day}", {target: f"v = {day}\n"}))
            keys.append(None)
    return {key: sha for key, sha in zip(keys, fast_commits(repo, commits), strict=True) if key}


@pytest.fixture(scope="module")
def cycles_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, int], str]]:
    shas: dict[tuple[str, int], str] = {}
    path = build_template(tmp_path_factory, lambda repo: shas.update(build_cycles(repo)))
    return path, shas


def systemic_ws(template: Path, tmp_path: Path, toml: str = "") -> Workspace:
    ws = workspace(clone(template, tmp_path / "repo"), tmp_path, toml, load_plugins=ONLY)
    ws.host.register(systemic, "systemic")
    return ws


@pytest.fixture(scope="module")
def cycles_ws(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    """The scenarios with default settings, ingested once for the tests that only ask questions."""
    return systemic_ws(cycles_template[0], tmp_path_factory.mktemp("cycles"))


def findings(ws: Workspace, change: ChangeSet | None = None, paths: list[str] | None = None) -> list[Finding]:
    report = ws.findings(change=change, paths=paths, gated=False)
    assert report.errors == {}, report.errors
    return [f for f in report.findings if f.source == "systemic"]


def cycles(found: list[Finding]) -> dict[frozenset[str], Finding]:
    out = {frozenset(f.evidence["files"]): f for f in found if f.code == "fix-begets-fix"}
    assert len(out) == len([f for f in found if f.code == "fix-begets-fix"])
    return out


def pair(*paths: str) -> frozenset[str]:
    return frozenset(paths)


# -- fix-begets-fix --------------------------------------------------------------


def test_ping_pong_is_one_cycle_with_exact_counts(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], cycles_ws: Workspace
) -> None:
    sha = cycles_template[1]
    found = cycles(findings(cycles_ws))

    assert set(found) == {pair("a.py", "b.py"), pair("h.py", "i.py"), pair("h.py", "j.py")}
    f = found[pair("a.py", "b.py")]
    assert f.level == Level.SYSTEMIC
    assert f.severity == Severity.WARNING
    assert f.location.path == "a.py"  # 4 fixes against 3
    ev = f.evidence
    assert (ev["file_a"], ev["file_b"]) == ("a.py", "b.py")
    assert (ev["fixes_a"], ev["fixes_b"]) == (4, 3)
    assert (ev["links_a_to_b"], ev["links_b_to_a"]) == (3, 3)  # the last fix of a.py is not followed by b.py
    assert (ev["follow_ups_a_to_b"], ev["follow_ups_b_to_a"]) == (3, 3)
    assert ev["co_fixed"] == 0
    assert (ev["median_days_a_to_b"], ev["median_days_b_to_a"], ev["median_days"]) == (3.0, 7.0, 5.0)
    assert ev["last_link"] == date(day_ts(1130))
    assert ev["days_since_last"] == NEWEST - 1130
    newest_links = [("b.py", 1123, "a.py", 1130), ("a.py", 1120, "b.py", 1123), ("b.py", 1113, "a.py", 1120)]
    assert ev["examples"] == [f"{sha[(x, dx)][:7]} ({x}) -> {sha[(y, dy)][:7]} ({y})" for x, dx, y, dy in newest_links]
    assert ev["p_a_to_b"] <= 0.01 and ev["p_b_to_a"] <= 0.01
    assert ev["expected_a_to_b"] < 1 and ev["expected_b_to_a"] < 1
    assert "a.py and b.py keep breaking each other" in f.reason
    assert "3 times a fix to a.py was followed within 30 days by a fix to b.py" in f.reason
    assert "contract is implicit" in f.action and "test that exercises both" in f.action


def test_min_links(cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path: Path) -> None:
    found = cycles(findings(systemic_ws(cycles_template[0], tmp_path, "[plugins.systemic]\nmin_links = 3\n")))
    assert set(found) == {pair("a.py", "b.py")}  # 3 links each way; h.py's cycles have 2


@pytest.fixture(scope="module")
def no_chance_ws(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    """The chance test off: only the counts decide."""
    return systemic_ws(cycles_template[0], tmp_path_factory.mktemp("no-chance"), "[plugins.systemic]\nmax_p = 1.0\n")


def test_a_file_fixed_all_the_time_fails_the_chance_test(cycles_ws: Workspace, no_chance_ws: Workspace) -> None:
    assert not any("hot.py" in files for files in cycles(findings(cycles_ws)))
    # with the chance test off, the counts alone would call hot.py a cycle with a.py
    hot = cycles(findings(no_chance_ws))[pair("a.py", "hot.py")]
    assert hot.evidence["links_a_to_b"] >= 2 and hot.evidence["links_b_to_a"] >= 2
    assert max(hot.evidence["p_a_to_b"], hot.evidence["p_b_to_a"]) > 0.5


def test_one_way_sequence_is_no_cycle(cycles_ws: Workspace, no_chance_ws: Workspace) -> None:
    assert pair("d.py", "e.py") not in cycles(findings(cycles_ws))  # e.py follows d.py 3 times, never back
    assert pair("d.py", "e.py") not in cycles(findings(no_chance_ws))  # the direction decides, not chance


def test_fixes_further_apart_than_the_window_are_no_cycle(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], cycles_ws: Workspace, tmp_path: Path
) -> None:
    assert pair("f.py", "g.py") not in cycles(findings(cycles_ws))  # 40 days apart, the window is 30
    wider = systemic_ws(cycles_template[0], tmp_path, "[plugins.systemic]\nwindow_days = 45\nmax_p = 1.0\n")
    ev = cycles(findings(wider))[pair("f.py", "g.py")].evidence
    assert (ev["links_a_to_b"], ev["links_b_to_a"]) == (2, 2)


def test_shorter_window_drops_the_slower_direction(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path: Path
) -> None:
    ws = systemic_ws(cycles_template[0], tmp_path, "[plugins.systemic]\nwindow_days = 5\n")
    assert pair("a.py", "b.py") not in cycles(findings(ws))  # b -> a takes 7 days


def test_files_fixed_only_together_are_no_cycle(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("add", {"a.py": "a = 0\n", "b.py": "b = 0\n"}, day=1)
    for day in range(10, 200, 10):
        repo.commit(f"fix both {day}", {"a.py": f"a = {day}\n", "b.py": f"b = {day}\n"}, day=day)
    ws = workspace(repo, tmp_path, "[plugins.systemic]\nmax_p = 1.0\n", load_plugins=ONLY)
    ws.host.register(systemic, "systemic")
    assert cycles(findings(ws)) == {}


def test_two_cycles_through_one_file_are_two_findings(cycles_ws: Workspace) -> None:
    found = cycles(findings(cycles_ws))
    hi, hj = found[pair("h.py", "i.py")], found[pair("h.py", "j.py")]
    assert hi.location.path == hj.location.path == "h.py"
    assert hi.fingerprint != hj.fingerprint
    assert (hi.evidence["links_a_to_b"], hi.evidence["links_b_to_a"]) == (2, 2)
    assert pair("i.py", "j.py") not in found  # j.py follows i.py twice, i.py follows j.py once


def test_paths_filter_places_the_cycle_on_the_asked_file(cycles_ws: Workspace) -> None:
    whole = cycles(findings(cycles_ws))[pair("a.py", "b.py")]
    for asked in ("a.py", "b.py"):
        found = findings(cycles_ws, paths=[asked])
        assert [f.evidence["files"] for f in found] == [["a.py", "b.py"]]
        assert found[0].location.path == asked
        assert found[0].fingerprint == whole.fingerprint  # the structure, wherever it is shown
    assert findings(cycles_ws, paths=["c.py"]) == []  # never fixed
    assert {f.location.path for f in findings(cycles_ws, paths=["i.py", "j.py"])} == {"i.py", "j.py"}


def test_change_filter_keeps_cycles_of_changed_files(cycles_ws: Workspace) -> None:
    found = cycles(findings(cycles_ws, change=ChangeSet(paths=["b.py", "c.py"])))
    assert set(found) == {pair("a.py", "b.py")}
    assert found[pair("a.py", "b.py")].location.path == "a.py"  # a change does not move the finding
    assert findings(cycles_ws, change=ChangeSet(paths=["c.py", "hot.py"])) == []
    both = findings(cycles_ws, change=ChangeSet(paths=["b.py", "h.py"]), paths=["b.py"])
    assert [f.evidence["files"] for f in both] == [["a.py", "b.py"]]  # the editor's file and the change


def test_old_cycles_are_info(cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path: Path) -> None:
    ws = systemic_ws(cycles_template[0], tmp_path, "[plugins.systemic]\nstale_days = 500\n")
    found = cycles(findings(ws))
    assert found[pair("h.py", "i.py")].severity == Severity.INFO  # last link 952 days before the newest commit
    assert found[pair("a.py", "b.py")].severity == Severity.WARNING  # 162 days


def test_a_follow_up_within_hours_is_the_same_work() -> None:
    fixes = [systemic._Fix(0, 0, frozenset({1})), systemic._Fix(3_600, 1, frozenset({2}))]
    assert dict(systemic._timeline(fixes, window=30 * DAY, min_gap=24 * 3_600).links) == {}
    links = systemic._timeline(fixes, window=30 * DAY, min_gap=0).links
    assert list(links) == [(1, 2)]
    assert (links[(1, 2)].triggers, links[(1, 2)].follow_ups) == ({0}, {1})  # places in the fix list


@pytest.mark.parametrize(
    ("k", "n", "p", "tail"),
    [(0, 5, 0.3, 1.0), (6, 5, 0.3, 0.0), (2, 3, 0.5, 0.5), (3, 3, 0.1, 0.001), (1, 4, 0.0, 0.0), (2, 2, 1.0, 1.0)],
)
def test_binomial_tail(k: int, n: int, p: float, tail: float) -> None:
    assert systemic._binomial_tail(k, n, p) == pytest.approx(tail)


# -- coupling across module boundaries -----------------------------------------


def together(paths: list[str], times: int, tag: str) -> list[tuple[str, dict[str, str]]]:
    return [(f"{tag} {k}", {p: f"{tag} = {k}\n" for p in paths}) for k in range(times)]


def build_modules(repo: RepoBuilder) -> None:
    commits = [
        *together(["pkg_a/x.py", "pkg_b/y.py"], 8, "xy"),  # degree 100, 8 shared
        *together(["pkg_a/z.py", "pkg_b/w.py"], 9, "zw"),  # the same boundary again
        *together(["pkg_a/s.py", "pkg_a/t.py"], 8, "st"),  # coupled inside one module
        *together(["pkg_c/c.py", "pkg_d/d.py"], 6, "cd"),  # across, but only 6 shared
        *together(["pkg_e/e.py"], 26, "e"),
        *together(["pkg_e/e.py", "pkg_f/f.py"], 8, "ef"),  # degree 8 / mean(34, 8) = 38%
    ]
    fast_commits(repo, [(day, message, files) for day, (message, files) in enumerate(commits, start=1)])


@pytest.fixture(scope="module")
def modules_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_modules)


def boundary_ws(template: Path, tmp_path: Path, toml: str = "") -> Workspace:
    ws = systemic_ws(template, tmp_path, toml)
    report = ws.mine(only=["coupling"])
    assert report.errors == {}
    return ws


@pytest.fixture(scope="module")
def modules_ws(modules_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return boundary_ws(modules_template, tmp_path_factory.mktemp("modules"))


def boundaries(found: list[Finding]) -> dict[tuple[str, ...], Finding]:
    return {tuple(f.evidence["modules"]): f for f in found if f.code == "cross-module-coupling"}


def test_one_finding_per_module_pair(modules_ws: Workspace) -> None:
    found = boundaries(findings(modules_ws))

    assert list(found) == [("pkg_a", "pkg_b")]  # not pkg_a alone, not c/d (6 shared), not e/f (38%)
    f = found[("pkg_a", "pkg_b")]
    assert f.level == Level.SYSTEMIC
    assert f.severity == Severity.WARNING  # 100% coupled
    ev = f.evidence
    assert ev["pairs"] == 2
    assert ev["files"] == ["pkg_a/x.py", "pkg_a/z.py", "pkg_b/w.py", "pkg_b/y.py"]
    assert [(p["a"], p["b"], p["degree"], p["shared_revs"]) for p in ev["top_pairs"]] == [
        ("pkg_a/z.py", "pkg_b/w.py", 100.0, 9),  # strongest first: same degree, more shared commits
        ("pkg_a/x.py", "pkg_b/y.py", 100.0, 8),
    ]
    assert ev["shared_revs"] == 17
    assert ev["max_degree"] == 100.0
    assert f.location.path == "pkg_a/z.py"
    assert "the boundary between pkg_a and pkg_b leaks" in f.reason
    assert "2 file pairs" in f.reason
    assert "move the shared concept into one module or introduce an interface" in f.action


@pytest.mark.parametrize(
    ("toml", "modules", "severity"),
    [
        ("[plugins.systemic]\nmin_shared = 6\n", ("pkg_c", "pkg_d"), Severity.WARNING),
        ("[plugins.systemic]\nmin_degree = 30\n", ("pkg_e", "pkg_f"), Severity.INFO),  # 38% < warn_degree 70
    ],
)
def test_thresholds(
    modules_template: Path, tmp_path: Path, toml: str, modules: tuple[str, str], severity: Severity
) -> None:
    found = boundaries(findings(boundary_ws(modules_template, tmp_path, toml)))
    assert set(found) == {("pkg_a", "pkg_b"), modules}
    assert found[modules].severity == severity
    assert found[modules].evidence["pairs"] == 1
    assert "1 file pair changes together" in found[modules].reason


def test_boundary_paths_filter(modules_ws: Workspace) -> None:
    for asked in ("pkg_b/y.py", "pkg_a/z.py"):
        found = boundaries(findings(modules_ws, paths=[asked]))
        assert list(found) == [("pkg_a", "pkg_b")]
        assert found[("pkg_a", "pkg_b")].location.path == asked
    assert findings(modules_ws, paths=["pkg_a/s.py"]) == []  # in pkg_a, but it does not cross the boundary


def test_boundary_change_filter(modules_ws: Workspace) -> None:
    assert list(boundaries(findings(modules_ws, change=ChangeSet(paths=["pkg_b/w.py"])))) == [("pkg_a", "pkg_b")]
    assert findings(modules_ws, change=ChangeSet(paths=["pkg_a/s.py", "pkg_c/c.py"])) == []


# -- the plugin ------------------------------------------------------------------


def test_settings_defaults() -> None:
    defaults = systemic.settings_defaults()
    assert defaults["window_days"] == 30
    assert defaults["min_links"] == 2
    assert defaults["min_degree"] == 40
    assert defaults["min_shared"] == 8


def test_registers_as_a_level_plugin(modules_ws: Workspace) -> None:
    assert "systemic" in modules_ws.host.implementations("level_findings")
    assert "settings_defaults" in modules_ws.host.infos["systemic"].hooks


def test_a_cycle_is_announced_once(cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path: Path) -> None:
    from empathy.core.hookspecs import hookimpl
    from empathy.core.model import Event

    ws = workspace(clone(cycles_template[0], tmp_path / "repo"), tmp_path, load_plugins=[*ONLY, "test-listener"])
    ws.host.register(systemic, "systemic")
    seen: list[Event] = []

    class Listener:
        @hookimpl
        def handle_event(self, event: Event) -> None:
            seen.append(event)

    ws.host.register(Listener(), "test-listener")
    ws.findings()
    announced = [e for e in seen if e.type == "cycle.detected"]
    assert sorted(e.data["path"] for e in announced) == ["a.py", "h.py", "h.py"]
    assert all(e.data["evidence"]["file_a"] and e.data["action"] for e in announced)
    seen.clear()
    ws.findings()
    assert [e for e in seen if e.type == "cycle.detected"] == []


def test_a_cycle_a_listener_failed_to_take_is_announced_again(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16.3 in the process: an announcement is remembered only once every listener took it."""
    from empathy.core.hookspecs import hookimpl
    from empathy.core.model import Event

    ws = workspace(clone(cycles_template[0], tmp_path / "repo"), tmp_path, load_plugins=[*ONLY, "test-listener"])
    ws.host.register(systemic, "systemic")
    seen: list[Event] = []
    busy = {"on": True}

    class Listener:
        @hookimpl
        def handle_event(self, event: Event) -> None:
            if busy["on"]:
                raise RuntimeError("database is locked")  # the webhook outbox's store, busy
            seen.append(event)

    ws.host.register(Listener(), "test-listener")
    with caplog.at_level("WARNING", logger="empathy.events"):
        ws.findings()
    assert "the cycle.detected event was not taken by test-listener" in caplog.text
    assert "database is locked" in caplog.text
    busy["on"] = False
    ws.findings()  # the next run announces what failed
    assert sorted(e.data["path"] for e in seen if e.type == "cycle.detected") == ["a.py", "h.py", "h.py"]
    seen.clear()
    ws.findings()
    assert [e for e in seen if e.type == "cycle.detected"] == []


def test_cached_cycles_are_scoped_per_question_without_leaking(
    cycles_template: tuple[Path, dict[tuple[str, int], str]], tmp_path: Path
) -> None:
    """The whole-repository search is kept per history; asking about b.py must not move a.py's finding."""
    ws = systemic_ws(cycles_template[0], tmp_path)
    on_b = cycles(findings(ws, paths=["b.py"]))
    assert on_b[pair("a.py", "b.py")].location.path == "b.py"
    again = cycles(findings(ws))
    assert again[pair("a.py", "b.py")].location.path == "a.py"
    assert set(again) == {pair("a.py", "b.py"), pair("h.py", "i.py"), pair("h.py", "j.py")}
