"""The file-level backtest: no leakage, exact labels, baselines on the same files."""

from __future__ import annotations

from pathlib import Path

from empathy.core.history.view import DAY
from empathy.core.predict.backtest import run_file_backtest
from empathy.core.predict.snapshot import fix_touches_between, take_snapshot
from empathy.core.workspace import open_workspace
from tests.gitrepo import EPOCH, RepoBuilder


def _build(repo: RepoBuilder, days: int) -> None:
    """Three files over ``days`` days: hot.py changes (and gets fixed) often, cold.py rarely."""
    repo.commit("start", {"hot.py": "h = 0\n", "warm.py": "w = 0\n", "cold.py": "c = 0\n"}, day=0)
    for d in range(1, days):
        if d % 3 == 0:
            repo.commit(f"fix bug {d}", {"hot.py": f"h = {d}\n"}, day=d)
        elif d % 10 == 0:
            repo.commit(f"work {d}", {"warm.py": f"w = {d}\n"}, day=d)
        elif d % 97 == 0:
            repo.commit(f"fix cold {d}", {"cold.py": f"c = {d}\n"}, day=d)


def _ws(repo: RepoBuilder, tmp_path: Path):  # type: ignore[no-untyped-def]
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 's.db'}", "exclude": []})
    ws.ingest()
    return ws


def test_snapshot_ignores_the_future(repo: RepoBuilder, tmp_path: Path) -> None:
    _build(repo, 400)
    ws = _ws(repo, tmp_path)
    history = ws.history()
    at = EPOCH + 200 * DAY
    before = take_snapshot(ws.repo, history, at, lambda p: True)
    # A future-only signal: many more fixes after T must not change the snapshot at T.
    for d in range(400, 430):
        repo.commit(f"fix more {d}", {"cold.py": f"c = {d}\n"}, day=d)
    ws.ingest()
    after = take_snapshot(ws.repo, ws.history(), at, lambda p: True)
    assert before is not None and after is not None
    assert [f.vector() for f in before.files] == [f.vector() for f in after.files]
    hot = next(f for f in before.files if f.path == "hot.py")
    assert hot.fixes_all == 200 // 3  # fixes on days 3, 6, ..., 198
    assert hot.commits_all == 1 + 200 // 3


def test_labels_count_fix_commits_in_the_window(repo: RepoBuilder, tmp_path: Path) -> None:
    _build(repo, 100)
    ws = _ws(repo, tmp_path)
    history = ws.history()
    ids = {f.path: f.id for f in history.files.values()}
    labels = fix_touches_between(history, EPOCH + 10 * DAY, EPOCH + 40 * DAY)
    assert labels.get(ids["hot.py"]) == 10  # days 12, 15, ..., 39
    assert ids["warm.py"] not in labels  # changed, but never by a fix


def test_backtest_scores_every_ranking_on_the_same_cutoffs(repo: RepoBuilder, tmp_path: Path) -> None:
    _build(repo, 365 * 3 + 10)
    ws = _ws(repo, tmp_path)
    result = run_file_backtest(ws.repo, ws.history(), lambda p: p.endswith(".py"), horizon_days=365)
    assert len(result.cutoffs) == 2  # T = last - 1y and last - 2y (each with a year of history before)
    for cut in result.cutoffs:
        assert cut.files == 3
        assert cut.scores["oracle"]["P@10"] >= cut.scores["random"]["P@10"]
        # hot.py holds most fix touches; the oracle and the fix-based rankings put it first
        assert cut.scores["oracle"]["touch@10%"] == cut.scores["prior fixes"]["touch@10%"]
    assert result.cutoffs[1].train_rows == 0  # the oldest cutoff has nothing complete before it
    assert result.cutoffs[0].train_rows == 3  # the newest trains on the snapshot a year earlier


def _sized(repo: RepoBuilder, days: int) -> None:
    """big.py (200 lines) and small.py (5 lines) get the same fixes: per line, small.py is 40x denser."""
    repo.commit(
        "start",
        {"big.py": "".join(f"b{i} = {i}\n" for i in range(200)), "small.py": "s = 0\n" * 5, "idle.py": "i = 0\n" * 50},
        day=0,
    )
    for d in range(1, days):
        if d % 5 == 0:
            repo.commit(
                f"fix bug {d}", {"big.py": f"b0 = {d}\n" + "".join(f"b{i} = {i}\n" for i in range(1, 200))}, day=d
            )
            repo.commit(f"fix crash {d}", {"small.py": f"s = {d}\n" + "s = 0\n" * 4}, day=d)


def test_per_line_order_scores_the_effort_metric(repo: RepoBuilder, tmp_path: Path) -> None:
    _sized(repo, 365 * 4 + 10)
    ws = _ws(repo, tmp_path)
    result = run_file_backtest(ws.repo, ws.history(), lambda p: p.endswith(".py"), horizon_days=365)
    summary = result.summary()
    for cut in result.cutoffs:
        ours, risk, per_line = (cut.scores[k] for k in ("ours (model)", "ours, risk order", "ours, per-line order"))
        # "ours" takes touch@20%LOC from the per-line order and everything else from the risk order
        assert ours["touch@20%LOC"] == per_line["touch@20%LOC"]
        assert {k: v for k, v in ours.items() if k != "touch@20%LOC"} == {
            k: v for k, v in risk.items() if k != "touch@20%LOC"
        }
        # 20% of 255 lines fits small.py (5 lines), not big.py: per line, small.py comes first
        assert cut.scores["fix+commit density per line"]["touch@20%LOC"] == 0.5
        assert cut.scores["commits 12m per line"]["touch@20%LOC"] == 0.5
        assert cut.scores["LOC"]["touch@20%LOC"] == 0.0  # big.py alone is over the budget
        assert cut.scores["oracle per line"]["touch@20%LOC"] == 0.5
    trained = [c for c in result.cutoffs if c.train_rows]
    assert trained and all(c.scores["ours, per-line order"]["touch@20%LOC"] == 0.5 for c in trained)
    rankings = summary["rankings"]
    assert isinstance(rankings, dict)
    assert rankings[summary["best_baseline_loc"]]["touch@20%LOC"] == 0.5  # the best baseline on the effort metric


def test_per_line_forecast_ignores_the_future(repo: RepoBuilder, tmp_path: Path) -> None:
    from empathy.core.predict.filemodel import train_file_model

    _sized(repo, 365 * 4 + 10)
    ws = _ws(repo, tmp_path)

    def per_line_at(history) -> list[float]:  # type: ignore[no-untyped-def]
        at = EPOCH + 3 * 365 * DAY
        periods = []
        for k in (1, 2):
            t = at - k * 365 * DAY
            snap = take_snapshot(ws.repo, history, t, lambda p: True)
            assert snap is not None
            truth = fix_touches_between(history, t, t + 365 * DAY)
            periods.append((snap.files, [truth.get(f.file_id, 0) for f in snap.files]))
        model = train_file_model(periods)
        now = take_snapshot(ws.repo, history, at, lambda p: True)
        assert now is not None
        return [round(float(v), 12) for v in model.per_line(sorted(now.files, key=lambda f: f.path))]

    before = per_line_at(ws.history())
    for d in range(365 * 4 + 10, 365 * 4 + 60):  # a future-only signal: idle.py suddenly fixed daily
        repo.commit(f"fix idle {d}", {"idle.py": f"i = {d}\n" * 50}, day=d)
    ws.ingest()
    assert per_line_at(ws.history()) == before
