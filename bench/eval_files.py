"""File-level backtest of bug-fix forecasts against baselines (groundwork for `empathy eval`).

Usage:
    python bench/eval_files.py REPO [REPO ...] [--horizon-days 365] [--cutoffs 6] [--labels conventions|keyword]

``--labels keyword`` replays the keyword rule empathy used before commit labels, so the
effect of the labels on every ranking can be measured side by side (truth and features
both follow the labels chosen).

For each repository: ingest (incremental), then rolling yearly cutoffs; every ranking
is scored on the same files and cutoffs; prints per-repository and macro-averaged
Markdown tables and the probability model's calibration. See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

from _common import keyword_labeler

from empathy.core.context import MiningContext
from empathy.core.predict.backtest import METRICS, FileBacktest, run_file_backtest
from empathy.core.workspace import open_workspace


def _backtest(path: str, horizon: int, cutoffs: int, labels: str = "conventions") -> FileBacktest:
    ws = open_workspace(path)
    ws.ingest()
    if labels == "keyword":
        from empathy.core.history.view import load_history

        history = load_history(ws.store, ws.repo_id, keyword_labeler)
    else:
        history = ws.history()
    ctx = MiningContext(ws.repo, ws.repo_id, history, ws.store, ws.settings)

    def is_source(p: str) -> bool:
        return p.endswith(".py") and ctx.is_source(p)

    return run_file_backtest(ws.repo, history, is_source, horizon_days=horizon, cutoffs=cutoffs)


def _table(title: str, rows: dict[str, dict[str, float]]) -> str:
    lines = [f"**{title}**", "", "| ranking | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{vals[m]:.3f}" for m in METRICS) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+")
    parser.add_argument("--horizon-days", type=int, default=365)
    parser.add_argument("--cutoffs", type=int, default=6)
    parser.add_argument("--labels", choices=("conventions", "keyword"), default="conventions")
    args = parser.parse_args()
    per_repo: dict[str, dict[str, dict[str, float]]] = {}
    for path in args.repos:
        started = time.perf_counter()
        bt = _backtest(path, args.horizon_days, args.cutoffs, args.labels)
        rows = {r: {m: bt.mean(r, m) for m in METRICS} for r in bt.rankings()}
        per_repo[path] = rows
        cal = [c.calibration for c in bt.cutoffs]
        print(_table(f"{path}: {len(bt.cutoffs)} cutoffs, {time.perf_counter() - started:.1f} s", rows))
        print()
        print(
            "calibration of P(fix touch within horizon) per cutoff: "
            + ", ".join(f"ECE {c['ece']:.3f} / Brier skill {c['brier_skill']:.3f}" for c in cal)
            + f"; ECE over all cutoffs' files pooled: {bt.pooled_ece:.3f}"
        )
        print()
    if len(per_repo) > 1:
        names = next(iter(per_repo.values())).keys()
        macro = {
            n: {m: statistics.fmean(v for r in per_repo.values() if not math.isnan(v := r[n][m])) for m in METRICS}
            for n in names
        }
        print(_table(f"macro average over {len(per_repo)} repositories", macro))
    return 0


if __name__ == "__main__":
    sys.exit(main())
