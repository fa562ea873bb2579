"""Level 3 (proactive) through the host: patterns become findings; a change gets its missing partner."""

from __future__ import annotations

from pathlib import Path

from empathy.core.changes import range_change, working_tree_change
from empathy.core.model import Level
from empathy.plugin import HistoryFacts, action_for
from tests.gitrepo import RepoBuilder, build_partner_history
from tests.plugins.helpers import workspace

COUPLING = "[plugins.coupling]\nmin_revs = 3\nmin_shared_revs = 3\n"


def _coupled_repo(repo: RepoBuilder) -> None:
    """api.py and client.py change together often (the index learns it); the last commit changes api.py alone."""
    build_partner_history(repo, rounds=70)
    repo.commit("api only", {"api.py": "a = 99\n"})


def test_missing_partner_for_a_commit_range(repo: RepoBuilder, tmp_path: Path) -> None:
    _coupled_repo(repo)
    ws = workspace(repo, tmp_path, COUPLING)
    ws.mine()
    change = range_change(ws.repo, "HEAD")  # the last commit changed api.py only
    report = ws.findings(change=change, gated=False)
    partners = [f for f in report.findings if f.code == "missing-partner"]
    assert [f.location.path for f in partners] == ["client.py"]
    f = partners[0]
    assert f.level == Level.PROACTIVE and f.source == "proactive"
    assert f.evidence["partner"] == "client.py" and f.evidence["changed"] == ["api.py"]
    assert f.evidence["probability"] >= f.evidence["warn_threshold"]  # only calibrated warnings become findings
    assert f.reason.startswith("you changed api.py; client.py is untouched and probably needs changing too (p=")
    assert "changed together in" in f.reason and f.evidence["last_together_sha"]
    assert report.errors == {}
    # the trust gate lets it through at the default threshold (the warn threshold maps to 0.5 and above)
    assert f.evidence["confidence"] >= 0.5
    assert [g.code for g in ws.findings(change=change).findings].count("missing-partner") == 1


def test_no_missing_partner_when_both_change(repo: RepoBuilder, tmp_path: Path) -> None:
    _coupled_repo(repo)
    ws = workspace(repo, tmp_path, COUPLING)
    ws.mine()
    repo.write("api.py", "a = 100\n")
    repo.write("client.py", "c = 100\n")
    change = working_tree_change(ws.repo)
    assert [p for p in change.paths if p.endswith(".py")] == ["api.py", "client.py"]
    report = ws.findings(change=change, gated=False)
    assert [f for f in report.findings if f.code == "missing-partner"] == []


def test_no_missing_partner_without_a_calibrated_record(repo: RepoBuilder, tmp_path: Path) -> None:
    """Four joint commits are a pattern, not a track record: the index does not warn yet."""
    for k in range(4):
        repo.commit(f"feature {k}", {"api.py": f"a = {k}\n", "client.py": f"c = {k}\n"})
    repo.commit("api only", {"api.py": "a = 99\n"})
    ws = workspace(repo, tmp_path, COUPLING)
    report = ws.findings(change=range_change(ws.repo, "HEAD"), gated=False)
    assert [f for f in report.findings if f.code == "missing-partner"] == []
    (top,) = ws.partners(["api.py"], top=1, warn_only=False)  # it still ranks, it just does not warn
    assert top.path == "client.py" and top.warn is False


def test_working_tree_change_counts_untracked_files(repo: RepoBuilder, tmp_path: Path) -> None:
    _coupled_repo(repo)
    ws = workspace(repo, tmp_path, COUPLING)
    repo.write("api.py", "a = 1\nb = 2\n")
    repo.write("new.py", "x = 1\ny = 2\nz = 3\n")
    change = working_tree_change(ws.repo)
    assert change.lines["new.py"] == (3, 0)
    assert change.lines["api.py"] == (2, 1)
    toml_lines = change.lines[".empathy.toml"][0] or 0  # the untracked settings file counts too
    assert change.added == 5 + toml_lines and change.deleted == 1


def test_hotspot_becomes_a_finding_with_an_action(repo: RepoBuilder, tmp_path: Path) -> None:
    for k in range(12):
        repo.commit(f"work {k}", {"core.py": "".join(f"v{i} = {k}\n" for i in range(40))})
    repo.commit("other", {"side.py": "s = 1\n"})
    ws = workspace(repo, tmp_path, "[plugins.churn]\ntop_share = 0.5\n")
    ws.mine()
    report = ws.findings(gated=False, paths=["core.py"])
    hot = [f for f in report.findings if f.code == "hotspot"]
    assert len(hot) == 1
    assert hot[0].evidence["commits_window"] == 12
    assert "core.py" in hot[0].action
    assert all(f.location.path == "core.py" for f in report.findings)


def test_actions_name_the_test_the_partner_and_the_last_fix(repo: RepoBuilder, tmp_path: Path) -> None:
    """Advice comes from the file's history: its test module, its partner, its last fix; never filler."""
    for k in range(14):
        files = {"core.py": "".join(f"v{i} = {k}\n" for i in range(40)), "util.py": f"u = {k}\n"}
        if k % 2 == 0:
            files["tests/test_core.py"] = f"def test_{k}(): pass\n"
        if k % 3 == 0:
            files["tests/test_misc.py"] = f"def test_m{k}(): pass\n"  # changes with it, but less often
        repo.commit(f"Fix crash in parser {k}" if k in (5, 11) else f"Add option {k}", files)
    repo.commit("other", {"side.py": "s = 1\n"})
    ws = workspace(repo, tmp_path, "[plugins.churn]\ntop_share = 0.5\n")
    ws.mine()
    report = ws.findings(gated=False, paths=["core.py"])
    actions = {f.code: f.action for f in report.findings}
    assert "pair" not in " ".join(actions.values()).lower()
    assert actions["hotspot"].startswith("Before adding to core.py, check util.py too")
    assert "util.py changed with it in 14 of its last 14 commits" in actions["hotspot"]
    assert "tests/test_core.py changed with it in 7 of its last 14 commits" in actions["hotspot"]
    # the fix forecast and the fix-prone finding share this action: where the regression test goes
    fix = action_for("fix_prone", "core.py", {}, HistoryFacts(ws.history()))
    assert fix.startswith("Add a regression test to tests/test_core.py with the next change to core.py")
    assert "the last fix to touch it was " in fix and '"Fix crash in parser 11"' in fix
    # without a test named after it, the test module that changed with it most often
    util = action_for("fix_prone", "util.py", {}, HistoryFacts(ws.history()))
    assert util.startswith("Add a regression test to tests/test_core.py")
    # a file with no test history says so instead of inventing one
    side = action_for("fix_prone", "side.py", {}, HistoryFacts(ws.history()))
    assert side.startswith("Start a test module for side.py") and "no test file has changed with side.py" in side
    assert action_for("fix_prone", "gone.py", {}, HistoryFacts(ws.history())).startswith("Read the history of gone.py")
