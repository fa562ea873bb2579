"""Change-level (JIT) backtest of bug-introduction forecasts against baselines.

Usage:
    python bench/eval_changes.py REPO [REPO ...] [--szz-budget N] [--horizon-days 365] [--candidates]

For each repository: ingest (incremental), B-SZZ over every fix not yet blamed
(persisted, so reruns are cheap), then cutoffs T = newest - {5,4,3,2} years:
train on changes <= T with labels known by T, test on (T, T+12 months] with
labels from all fixes.  Prints per-repository and macro-averaged Markdown
tables, and the calibration of our probabilities.  ``--candidates`` also
scores the candidate models "ours" was chosen from.  See the research notes,
"Change level (JIT)".
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

from empathy.core.context import MiningContext
from empathy.core.predict.jit import METRICS, ChangeBacktest, run_change_backtest
from empathy.core.workspace import open_workspace


def _backtest(path: str, szz_budget: int, horizon: int, candidates: bool) -> ChangeBacktest:
    ws = open_workspace(path)
    ws.ingest()
    history = ws.history()
    ctx = MiningContext(ws.repo, ws.repo_id, history, ws.store, ws.settings)

    def is_source(p: str) -> bool:
        return p.endswith(".py") and ctx.is_source(p)

    def progress(msg: str) -> None:
        print(f"  [{path}] {msg}", file=sys.stderr, flush=True)

    return run_change_backtest(
        ws.repo,
        ws.store,
        ws.repo_id,
        history,
        is_source,
        szz_budget=szz_budget,
        horizon_days=horizon,
        progress=progress,
        szz_is_source=ctx.is_source,  # blame what the fixes miner blames: the store is shared
        candidates=candidates,
    )


def _fmt(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.3f}"


def _table(title: str, rows: dict[str, dict[str, float]]) -> str:
    lines = [f"**{title}**", "", "| model | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(vals[m]) for m in METRICS) + " |")
    return "\n".join(lines)


def _mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.fmean(vals) if vals else math.nan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+")
    parser.add_argument("--szz-budget", type=int, default=1_000_000, help="most fixes to blame in this run")
    parser.add_argument("--horizon-days", type=int, default=365)
    parser.add_argument("--candidates", action="store_true", help="also score the candidates for 'ours'")
    args = parser.parse_args()
    per_repo: dict[str, dict[str, dict[str, float]]] = {}
    calibration: dict[str, dict[str, float]] = {}
    for path in args.repos:
        started = time.perf_counter()
        bt = _backtest(path, args.szz_budget, args.horizon_days, args.candidates)
        seconds = time.perf_counter() - started
        if not bt.cutoffs:
            print(f"**{path}**: no usable cutoff ({'; '.join(bt.skipped)})\n")
            continue
        rows = {m: {k: bt.mean(m, k) for k in METRICS} for m in bt.models()}
        per_repo[path] = rows
        print(_table(f"{path}: {len(bt.cutoffs)} cutoffs, {seconds:.1f} s", rows))
        print()
        print(
            f"{bt.fixes} fixes, {bt.links} SZZ links"
            + (f", **{bt.szz_pending} fixes not blamed (labels incomplete)**" if bt.szz_pending else "")
            + "; per cutoff (train buggy/all, test buggy/all): "
            + ", ".join(f"{c.train_buggy}/{c.train}, {c.test_buggy}/{c.test}" for c in bt.cutoffs)
        )
        if bt.skipped:
            print("skipped: " + "; ".join(bt.skipped))
        print(
            "per-cutoff AUC of ours: "
            + ", ".join(_fmt(c.scores["ours"]["AUC"]) for c in bt.cutoffs)
            + "; calibration of ours per cutoff: "
            + ", ".join(
                f"Brier skill {_fmt(c.calibration['brier_skill'])} / ECE {_fmt(c.calibration['ece'])}"
                for c in bt.cutoffs
            )
        )
        calibration[path] = {k: bt.mean_calibration(k) for k in ("brier_skill", "ece", "rate_train", "rate_test")}
        print()
    if len(per_repo) > 1:
        names = next(iter(per_repo.values())).keys()
        macro = {n: {m: _mean([r[n][m] for r in per_repo.values()]) for m in METRICS} for n in names}
        print(_table(f"macro average over {len(per_repo)} repositories", macro))
        print()
        keys = ("brier_skill", "ece", "rate_train", "rate_test")
        cal = {k: _mean([c[k] for c in calibration.values()]) for k in keys}
        print(
            f"ours' calibration, macro: Brier skill {_fmt(cal['brier_skill'])}, ECE {_fmt(cal['ece'])} "
            f"(buggy rate: train labels known by T {_fmt(cal['rate_train'])}, test {_fmt(cal['rate_test'])})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
