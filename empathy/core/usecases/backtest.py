"""The backtest behind every track record: our models beside the baselines on the same cutoffs.

``empathy eval`` runs it; the summaries are stored (:mod:`empathy.core.predict.records`)
so the forecast, ``explain``, the hover and the anticipatory level can quote
the model's record on this repository.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from empathy.core.errors import ConfigError
from empathy.core.helpers import json_safe
from empathy.core.predict.backtest import FileBacktest, run_file_backtest
from empathy.core.predict.jit import ChangeBacktest
from empathy.core.predict.records import save_record

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["Backtest", "backtest"]


@dataclass
class Backtest:
    """The file-level backtest and, when asked, the change-level one, with their stored summaries."""

    horizon_days: int
    files: FileBacktest
    summary: dict[str, Any]
    changes: ChangeBacktest | None = None
    change_summary: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = json_safe(
            {
                "summary": self.summary,
                "cutoffs": [
                    {
                        "at": c.at,
                        "files": c.files,
                        "fix_touches": c.fix_touches,
                        "train_rows": c.train_rows,
                        "scores": c.scores,
                        "calibration": c.calibration,
                    }
                    for c in self.files.cutoffs
                ],
                "change_level": self.change_summary,
            }
        )
        return payload


def backtest(
    ws: Workspace,
    horizon_days: int = 365,
    cutoffs: int = 6,
    changes: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Backtest:
    """Run the time-split backtests and store their summaries as this repository's track record."""
    from empathy.core.predict.jit import METRICS as CHANGE_METRICS
    from empathy.core.predict.jit import run_change_backtest

    if horizon_days <= 0 or cutoffs <= 0:
        raise ConfigError("--horizon and --cutoffs must be positive")
    report = progress or (lambda _m: None)
    history = ws.history()
    files = run_file_backtest(
        ws.repo, history, ws.is_python_source, horizon_days=horizon_days, cutoffs=cutoffs, progress=report
    )
    if not files.cutoffs:
        raise ConfigError(
            f"not enough history for a {horizon_days}-day backtest: each cutoff needs {horizon_days} days "
            "before and after it",
            "try a shorter --horizon",
        )
    summary = dict(files.summary())
    save_record(ws.store, ws.repo_id, "file", horizon_days, ws.repo.head, summary)
    result = Backtest(horizon_days=horizon_days, files=files, summary=summary)
    if changes:
        cbt = run_change_backtest(
            ws.repo,
            ws.store,
            ws.repo_id,
            history,
            ws.is_python_source,
            horizon_days=horizon_days,
            szz_is_source=ws.is_source,
            progress=report,
        )
        result.changes = cbt
        result.change_summary = {
            "horizon_days": horizon_days,
            "cutoffs": len(cbt.cutoffs),
            "skipped": cbt.skipped,
            "fixes": cbt.fixes,
            "szz_links": cbt.links,
            "models": {m: {k: round(cbt.mean(m, k), 4) for k in CHANGE_METRICS} for m in cbt.models()},
            "ece": round(cbt.mean_calibration("ece"), 4),
            "brier_skill": round(cbt.mean_calibration("brier_skill"), 4),
        }
        save_record(ws.store, ws.repo_id, "change", horizon_days, ws.repo.head, json_safe(result.change_summary))
    return result
