"""Forecasts as of a past date use history up to that date only."""

from __future__ import annotations

from pathlib import Path

from empathy.core.history.view import DAY
from empathy.core.predict.forecast import forecast_files
from empathy.core.workspace import open_workspace
from tests.gitrepo import EPOCH, RepoBuilder


def _build(repo: RepoBuilder, days: int) -> None:
    repo.commit("start", {"hot.py": "h = 0\n", "cold.py": "c = 0\n", "mid.py": "m = 0\n"}, day=0)
    for d in range(1, days):
        if d % 4 == 0:
            repo.commit(f"fix bug {d}", {"hot.py": f"h = {d}\n" * (1 + d % 7)}, day=d)
        elif d % 9 == 0:
            repo.commit(f"tweak {d}", {"mid.py": f"m = {d}\n"}, day=d)


def test_as_of_forecast_ignores_later_history(repo: RepoBuilder, tmp_path: Path) -> None:
    _build(repo, 300)
    url = f"sqlite:///{tmp_path / 's.db'}"
    ws = open_workspace(repo.path, {"database_url": url, "exclude": []})
    ws.ingest()
    at = EPOCH + 200 * DAY
    before = forecast_files(ws.repo, ws.history(), lambda p: p.endswith(".py"), as_of=at, horizon_days=30)
    for d in range(300, 360):  # a future-only signal: cold.py suddenly gets fixed a lot
        repo.commit(f"fix crash {d}", {"cold.py": f"c = {d}\n"}, day=d)
    ws.ingest()
    after = forecast_files(ws.repo, ws.history(), lambda p: p.endswith(".py"), as_of=at, horizon_days=30)
    assert [(f.path, f.rank, f.probability, round(f.per_line, 12)) for f in before.forecasts] == [
        (f.path, f.rank, f.probability, round(f.per_line, 12)) for f in after.forecasts
    ]
    assert before.forecasts[0].path == "hot.py"
    now = forecast_files(ws.repo, ws.history(), lambda p: p.endswith(".py"), horizon_days=30)
    assert now.as_of > at


def test_thin_history_falls_back_and_says_so(repo: RepoBuilder, tmp_path: Path) -> None:
    _build(repo, 40)
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 's.db'}", "exclude": []})
    ws.ingest()
    run = forecast_files(ws.repo, ws.history(), lambda p: p.endswith(".py"), horizon_days=30)
    assert run.fallback and "rank average" in run.fallback
    assert {f.path for f in run.forecasts} == {"hot.py", "cold.py", "mid.py"}
    assert all(f.probability is None for f in run.forecasts) and run.uncalibrated


def test_forecast_cache_follows_head_and_settings(repo: RepoBuilder, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from empathy.core.predict import forecast as fc

    _build(repo, 120)
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 's.db'}", "exclude": []})
    ws.ingest()
    calls: list[int] = []
    real = fc.forecast_files

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fc, "forecast_files", counting)

    def run(key: str = "k") -> fc.ForecastRun:
        return fc.cached_forecast(ws.store, ws.repo_id, ws.repo, ws.history(), lambda p: True, 30, key)

    first = run()
    second = run()
    assert len(calls) == 1  # the second answer came from the store
    assert [(f.path, f.rank, f.probability, f.snapshot) for f in first.forecasts] == [
        (f.path, f.rank, f.probability, f.snapshot) for f in second.forecasts
    ]
    run("other settings")
    assert len(calls) == 2
    repo.commit("fix bug late", {"cold.py": "c = 1\n"}, day=200)
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 's.db'}", "exclude": []})
    ws.ingest()
    run("other settings")
    assert len(calls) == 3  # a new head misses the cache
