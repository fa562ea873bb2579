"""File-level forecasts: P(a bug-fix commit touches this file within the horizon).

As of a time T (default: the newest commit), the model is trained on
snapshots taken one horizon apart before T, each labelled with the fixes in
the horizon after it, all observed by T (so ``--as-of`` a past date uses
history up to that date only).  Each forecast carries the features that
drove it, so a surface can say why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select

from empathy.core.history.view import DAY, History
from empathy.core.model import Event
from empathy.core.predict.filemodel import MODEL_VERSION, Period, train_file_model
from empathy.core.predict.snapshot import FEATURES, FileSnapshot, fix_touches_between, take_snapshot
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store
from empathy.core.store.tables import ForecastCacheRow

__all__ = ["FileForecast", "ForecastRun", "cached_forecast", "forecast_files"]

#: How many earlier snapshots train the model; more reach further back, where the
#: code base looked less like today's.
MAX_TRAIN_SNAPSHOTS = 8

_READABLE = {
    "log_loc": "size (lines)",
    "log_complexity": "nesting (indentation complexity)",
    "log_commits_3m": "commits in the last 3 months",
    "log_commits_12m": "commits in the last 12 months",
    "log_commits_all": "commits in all history",
    "log_fixes_12m": "bug fixes in the last 12 months",
    "log_fixes_all": "bug fixes in all history",
    "twr": "time-weighted bug fixes",
    "log_authors_12m": "authors in the last 12 months",
    "log_authors_all": "authors in all history",
    "log_churn_12m": "lines changed in the last 12 months",
    "log_age_days": "age",
    "log_idle_days": "time since the last change",
    "fix_decay": "recent bug fixes (180-day half-life)",
    "commit_decay": "recent commits (180-day half-life)",
    "log_dir_fixes_12m": "bug fixes in the same directory",
    "log_added_12m": "lines added in the last 12 months",
}


@dataclass
class FileForecast:
    path: str
    file_id: int
    #: the score's own calibration on this repository (None when it cannot be calibrated here)
    probability: float | None
    score: float
    rank: int
    drivers: list[str]
    snapshot: FileSnapshot
    #: expected bug-fix touches per line within the horizon: the order to read files in
    #: when effort is the lines read (docs/evaluation.md, touch@20%LOC)
    per_line: float = 0.0


@dataclass
class ForecastRun:
    as_of: int
    horizon_days: int
    files: int
    train_rows: int
    base_rate: float
    fallback: str
    forecasts: list[FileForecast] = field(default_factory=list)
    ranking: str = ""
    #: out-of-time pairs behind the probabilities, and why there are none (empty when calibrated)
    calibration_rows: int = 0
    uncalibrated: str = ""

    def find(self, path: str) -> FileForecast | None:
        """The forecast of ``path`` (None for a file outside the forecast)."""
        return next((f for f in self.forecasts if f.path == path), None)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """The run for scripts (``--json``): rounded numbers, the ``top`` riskiest files or all."""
        rows = self.forecasts[:top] if top else self.forecasts
        return {
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "files": self.files,
            "train_rows": self.train_rows,
            "base_rate": round(self.base_rate, 4),
            "fallback": self.fallback or None,
            "calibration_rows": self.calibration_rows,
            "uncalibrated": self.uncalibrated or None,
            "forecasts": [
                {
                    "rank": f.rank,
                    "path": f.path,
                    "probability": None if f.probability is None else round(f.probability, 4),
                    "fixes_per_kloc": round(f.per_line * 1000, 4),
                    "drivers": f.drivers,
                }
                for f in rows
            ],
        }


#: The parts of the ranking score (the rank average): what raises a file above the typical one.
_COMPONENTS = (("loc", "size (lines)"), ("commits_12m", "commits in the last 12 months"), ("twr", "recent bug fixes"))


def _drivers(files: list[FileSnapshot]) -> list[list[str]]:
    """Per file, the score's parts on which it ranks in the top quarter of the files, strongest first.

    Sign-aware by construction: a part is named only where the file is above
    the typical (median) file, with how far ("top 5%"); a file typical on
    every part has no driver.
    """
    n = len(files)
    if n == 0:
        return []
    ranks: list[list[tuple[float, str]]] = [[] for _ in files]
    for attr, words in _COMPONENTS:
        values = [float(getattr(f, attr)) for f in files]
        ordered = sorted(values)
        import bisect

        for i, v in enumerate(values):
            if v <= 0:
                continue
            share_above = (n - bisect.bisect_right(ordered, v)) / n  # files strictly above this one
            if share_above < 0.25:
                ranks[i].append((share_above, f"{words}: top {max(1, math.ceil(100 * (share_above + 1 / n)))}%"))
    return [[words for _share, words in sorted(r)] for r in ranks]


def forecast_files(
    repo: RepoInfo,
    history: History,
    is_source: Callable[[str], bool],
    as_of: int | None = None,
    horizon_days: int = 90,
    progress: Callable[[str], None] = lambda _m: None,
) -> ForecastRun:
    at = history.now if as_of is None else as_of
    horizon = horizon_days * DAY
    periods: list[Period] = []  # newest first
    for k in range(1, MAX_TRAIN_SNAPSHOTS + 1):
        t = at - k * horizon
        progress(f"training snapshot {k}/{MAX_TRAIN_SNAPSHOTS}")
        snap = take_snapshot(repo, history, t, is_source)
        if snap is None or not snap.files:
            break
        truth = fix_touches_between(history, t, t + horizon)  # ends at or before `at`
        periods.append((snap.files, [truth.get(f.file_id, 0) for f in snap.files]))
    model = train_file_model(periods)
    current = take_snapshot(repo, history, at, is_source)
    run = ForecastRun(
        as_of=at,
        horizon_days=horizon_days,
        files=len(current.files) if current else 0,
        train_rows=model.train_rows,
        base_rate=model.base_rate,
        fallback=model.fallback,
        ranking=model.ranking,
    )
    if current is None or not current.files:
        return run
    files = current.files
    scores = model.scores(files)
    probs = model.probabilities(files)
    per_line = model.per_line(files)
    drivers = _drivers(list(files))
    run.calibration_rows = model.calibration_rows
    run.uncalibrated = "" if probs is not None else (model.uncalibrated or model.fallback)
    order = sorted(range(len(files)), key=lambda i: (-float(scores[i]), files[i].path))
    for rank, i in enumerate(order, 1):
        run.forecasts.append(
            FileForecast(
                path=files[i].path,
                file_id=files[i].file_id,
                probability=None if probs is None else float(probs[i]),
                score=float(scores[i]),
                rank=rank,
                drivers=drivers[i],
                snapshot=files[i],
                per_line=float(per_line[i]),
            )
        )
    return run


def _run_to_payload(run: ForecastRun) -> dict[str, Any]:
    return {
        "as_of": run.as_of,
        "horizon_days": run.horizon_days,
        "files": run.files,
        "train_rows": run.train_rows,
        "base_rate": run.base_rate,
        "fallback": run.fallback,
        "ranking": run.ranking,
        "calibration_rows": run.calibration_rows,
        "uncalibrated": run.uncalibrated,
        "forecasts": [
            {
                "path": f.path,
                "file_id": f.file_id,
                "probability": f.probability,
                "score": f.score,
                "rank": f.rank,
                "drivers": f.drivers,
                "snapshot": dataclasses.asdict(f.snapshot),
                "per_line": f.per_line,
            }
            for f in run.forecasts
        ],
    }


def _payload_to_run(payload: dict[str, Any]) -> ForecastRun:
    run = ForecastRun(
        as_of=int(payload["as_of"]),
        horizon_days=int(payload["horizon_days"]),
        files=int(payload["files"]),
        train_rows=int(payload["train_rows"]),
        base_rate=float(payload["base_rate"]),
        fallback=str(payload["fallback"]),
        ranking=str(payload.get("ranking", "")),
        calibration_rows=int(payload.get("calibration_rows", 0)),
        uncalibrated=str(payload.get("uncalibrated", "")),
    )
    for f in payload["forecasts"]:
        run.forecasts.append(
            FileForecast(
                path=f["path"],
                file_id=int(f["file_id"]),
                probability=None if f["probability"] is None else float(f["probability"]),
                score=float(f["score"]),
                rank=int(f["rank"]),
                drivers=list(f["drivers"]),
                snapshot=FileSnapshot(**f["snapshot"]),
                per_line=float(f.get("per_line", 0.0)),
            )
        )
    return run


def cached_forecast(
    store: Store,
    repo_id: int,
    repo: RepoInfo,
    history: History,
    is_source: Callable[[str], bool],
    horizon_days: int,
    settings_key: str,
    emit: Callable[[Event], object] | None = None,
) -> ForecastRun:
    """The forecast as of the newest commit, computed once per head and settings.

    Training takes seconds on a large repository; an editor asks about one file
    at a time, so the run is kept in the store until the head or the settings
    change (``settings_key`` hashes those that select files and mark fixes).
    """
    table = ForecastCacheRow.__table__  # type: ignore[attr-defined]
    key = hashlib.sha256(f"{horizon_days}|{settings_key}|{MODEL_VERSION}|{FEATURES}".encode()).hexdigest()[:32]
    with store.engine.connect() as conn:
        row = conn.execute(select(table.c.head, table.c.key, table.c.payload).where(table.c.repo_id == repo_id)).first()
    if row is not None and row.head == repo.head and row.key == key:
        return _payload_to_run(dict(row.payload))
    run = forecast_files(repo, history, is_source, horizon_days=horizon_days)
    with store.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.repo_id == repo_id))
        conn.execute(
            insert(table).values(
                repo_id=repo_id, head=repo.head, key=key, created_at=int(time.time()), payload=_run_to_payload(run)
            )
        )
    if emit is not None:
        from empathy.core.events import FORECAST_MADE, make_event

        top = run.forecasts[:10]
        emit(
            make_event(
                FORECAST_MADE,
                {
                    "repo_id": repo_id,
                    "head": repo.head,
                    "horizon_days": horizon_days,
                    "files": run.files,
                    "base_rate": round(run.base_rate, 4),
                    "top": [
                        {"path": f.path, "probability": None if f.probability is None else round(f.probability, 4)}
                        for f in top
                    ],
                },
            )
        )
    return run
