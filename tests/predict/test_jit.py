"""Change-level (JIT) prediction: Kamei features by hand, leakage-free labels, the backtest end to end."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from empathy.core.history.szz import SzzLink
from empathy.core.history.view import DAY
from empathy.core.predict.jit import (
    OURS,
    change_entropy,
    change_features,
    labels,
    recall_at_effort,
    run_change_backtest,
)
from empathy.core.workspace import Workspace, open_workspace
from tests.gitrepo import EPOCH, RepoBuilder

ALICE = ("Alice", "alice@example.com")
BOB = ("Bob", "bob@example.com")


def _ws(repo: RepoBuilder, tmp_path: Path) -> Workspace:
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 's.db'}", "exclude": []})
    ws.ingest()
    return ws


def _is_source(path: str) -> bool:
    return path.endswith(".py") and not path.startswith("tests/")


def _lines(n: int, tag: str) -> str:
    return "".join(f"{tag}{i} = {i}\n" for i in range(n))


def test_entropy_of_30_20_10_lines() -> None:
    assert change_entropy([30, 20, 10]) == pytest.approx(1.459, abs=1e-3)
    assert change_entropy([7]) == 0.0
    assert change_entropy([0, 0]) == 0.0


def test_kamei_features_by_hand(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {"a.py": _lines(10, "a"), "pkg/b.py": _lines(5, "b")}, author=ALICE, day=0)
    repo.commit("bob extends b", {"pkg/b.py": _lines(7, "b")}, author=BOB, day=5)
    repo.commit("docs and tests only", {"docs/index.md": "hi\n", "tests/test_a.py": "x = 1\n"}, author=ALICE, day=10)
    a = _lines(10, "a").replace("a3 = 3", "a3 = 33")
    repo.commit("tweak a", {"a.py": a}, author=ALICE, day=400)
    repo.commit(
        "big change",
        {"a.py": a + _lines(30, "x"), "pkg/b.py": _lines(7, "b") + _lines(20, "y"), "pkg/sub/c.py": _lines(10, "c")},
        author=ALICE,
        day=800,
    )
    ws = _ws(repo, tmp_path)
    rows = change_features(ws.history(), _is_source)
    assert [r.la for r in rows] == [15, 2, 1, 60]  # the docs/tests-only commit is not a source change
    bob, big = rows[1], rows[3]
    assert (bob.exp, bob.rexp, bob.ndev, bob.lt, bob.nuc) == (0, 0.0, 1, 5, 1)
    assert (big.ns, big.nd, big.nf) == (2, 3, 3)  # subsystems "", pkg; directories "", pkg, pkg/sub
    assert big.entropy * math.log2(3) == pytest.approx(1.459, abs=1e-3)  # 30/20/10 lines, normalised by log2 NF
    assert (big.la, big.ld, big.effort) == (60, 0, 60)
    assert big.lt == 10 + 7  # a.py and b.py before the change; c.py is new
    assert big.ndev == 2  # Alice and Bob changed a.py / b.py before
    assert big.age == pytest.approx(((800 - 400) + (800 - 5)) / 2)  # days since each existing file's last change
    assert big.nuc == 3  # start, bob extends b, tweak a
    assert big.exp == 3  # days 0, 10 and 400 (the docs commit counts: experience is any prior commit)
    assert big.rexp == pytest.approx(1 / 3 + 1 / 3 + 1 / 2)  # 2, 2 and 1 whole years ago
    assert big.sexp == 2  # Alice's earlier commits to "" or pkg: start, tweak a
    assert not big.fix
    assert big.familiarity == pytest.approx(2 / 3) and big.new_files == 1 and big.prior_fixes == 0


def test_rexp_matches_the_worked_example(repo: RepoBuilder, tmp_path: Path) -> None:
    """3 commits two years ago, 4 one year ago, 3 this year: REXP = 3/3 + 4/2 + 3/1 = 6."""
    days = [0, 1, 2, 400, 401, 402, 403, 700, 701, 702]
    for d in days:
        repo.commit(f"work {d}", {"m.py": _lines(d % 7 + 1, "m")}, author=ALICE, day=d)
    repo.commit("more", {"m.py": _lines(20, "m")}, author=ALICE, day=800)
    rows = change_features(_ws(repo, tmp_path).history(), _is_source)
    assert rows[-1].exp == 10
    assert rows[-1].rexp == pytest.approx(6.0)


def test_features_only_use_earlier_commits(repo: RepoBuilder, tmp_path: Path) -> None:
    for d in range(30):
        repo.commit(f"fix bug {d}" if d % 4 == 0 else f"work {d}", {f"m{d % 3}.py": _lines(d + 1, "v")}, day=d * 3)
    history = _ws(repo, tmp_path).history()
    full = change_features(history, _is_source)
    prefix = change_features(history.as_of(EPOCH + 45 * DAY), _is_source)
    assert prefix == full[: len(prefix)]
    assert any(r.fix for r in full) and full[-1].prior_fixes > 0


def test_labels_only_count_fixes_known_by_the_cutoff() -> None:
    links = [
        SzzLink("fix1", "bug1", "a.py", 2),
        SzzLink("fix2", "bug2", "a.py", 1),
        SzzLink("fix2", "bug3", "README.md", 1),
        SzzLink("ghost", "bug4", "a.py", 1),  # a fix outside the history
    ]
    when = {"fix1": 100, "fix2": 200, "bug1": 10, "bug2": 20, "bug3": 30}
    assert labels(links, when, known_by=150) == {"bug1"}  # fix2 comes after the cutoff: no leakage
    assert labels(links, when, known_by=200) == {"bug1", "bug2", "bug3"}
    assert labels(links, when, known_by=200, is_source=_is_source) == {"bug1", "bug2"}


def test_recall_at_effort_stops_at_the_budget() -> None:
    # 20 % of 100 lines: the first change (10 lines) fits, the second (50) does not.
    assert recall_at_effort([3, 2, 1], [1, 0, 1], [10, 50, 40]) == 0.5
    assert math.isnan(recall_at_effort([1.0], [0], [5]))


def _bug_fix_history(repo: RepoBuilder, periods: int) -> list[tuple[str, int, int]]:
    """Every 15 days: a 20-line feature (a bug on line 3), a 1-line tweak, and the fix of that line.

    Returns (feature sha, feature day, fix day) per injected bug.
    """
    injected: list[tuple[str, int, int]] = []
    authors = [ALICE, BOB]
    repo.commit("start", {"util.py": "u = 0\n"}, day=0)
    util = "u = 0\n"
    for p in range(periods):
        d = 1 + 15 * p
        body = _lines(20, f"f{p}_")
        sha = repo.commit(f"add feature {p}", {f"feat/f{p}.py": body}, author=authors[p % 2], day=d)
        util += f"u{p} = {p}\n"
        repo.commit(f"tweak {p}", {"util.py": util}, author=authors[(p + 1) % 2], day=d + 3)
        fixed = body.replace(f"f{p}_3 = 3", f"f{p}_3 = -3")
        repo.commit(f"fix bug in feature {p}", {f"feat/f{p}.py": fixed}, author=authors[p % 2], day=d + 9)
        injected.append((sha, d, d + 9))
    return injected


def test_backtest_end_to_end_on_injected_bugs(repo: RepoBuilder, tmp_path: Path) -> None:
    injected = _bug_fix_history(repo, periods=84)  # ~3.5 years: training before T-3y, then two test years
    ws = _ws(repo, tmp_path)
    history = ws.history()
    messages: list[str] = []
    result = run_change_backtest(
        ws.repo,
        ws.store,
        ws.repo_id,
        history,
        _is_source,
        years_back=(3, 2),
        min_class=5,
        progress=messages.append,
    )
    assert result.szz_pending == 0 and result.fixes == len(injected)
    assert result.links == len(injected)  # each fix blames exactly its feature commit
    assert any(m.startswith("SZZ") for m in messages)
    assert len(result.cutoffs) == 2
    for cut in result.cutoffs:
        # Training labels: only bugs whose fix was committed by T (no leakage from later fixes).
        t_day = (cut.at - EPOCH) / DAY
        assert cut.train_buggy == sum(1 for _s, d, f in injected if f <= t_day)
        assert cut.test_buggy == sum(1 for _s, d, _f in injected if t_day < d <= t_day + 365)
        scores = cut.scores
        # Size is a perfect signal here: the bug-introducing commits are the only 20-line ones.
        assert scores["churn size LA+LD"]["AUC"] == 1.0
        assert scores["LR on LA only"]["AUC"] == 1.0
        assert scores[OURS]["AUC"] > 0.9
        assert scores["LR on 14 Kamei (balanced)"]["AUC"] > 0.5
        assert 0.3 < scores["random"]["AUC"] < 0.7
        # Small first spends the budget on the clean tweaks and fixes before any feature fits.
        assert scores["smallest change first"]["R@20%eff"] < 0.15
        assert scores["churn size LA+LD"]["R@20%eff"] > scores["smallest change first"]["R@20%eff"]
        assert 0.0 <= cut.calibration["ece"] <= 1.0 and not math.isnan(cut.calibration["brier_skill"])
    assert result.mean(OURS, "AUC") > result.mean("random", "AUC")
    # Reruns do not blame again: SZZ results persist per fix.
    again = run_change_backtest(ws.repo, ws.store, ws.repo_id, history, _is_source, years_back=(2,), min_class=5)
    assert again.links == result.links and len(again.cutoffs) == 1


def test_backtest_skips_cutoffs_too_close_to_the_end(repo: RepoBuilder, tmp_path: Path) -> None:
    _bug_fix_history(repo, periods=12)  # half a year: no test window can end a year before the data
    ws = _ws(repo, tmp_path)
    result = run_change_backtest(ws.repo, ws.store, ws.repo_id, ws.history(), _is_source)
    assert result.cutoffs == [] and len(result.skipped) == 4
