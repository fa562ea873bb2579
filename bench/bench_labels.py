"""Commit labels beside ingest, on one clone: is labelling the whole history within 1.5x of its ingest?

Usage:
    python bench/bench_labels.py CLONE [--runs 3]

Each run ingests the whole history into a fresh SQLite store (the denominator), loads it,
then labels every commit as the workspace does (conventions learned from the history, release
tags and .git-blame-ignore-revs read, every commit classified). Prints the medians and their
ratio, measured side by side in one process (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from empathy.core.history.labeling import label_history
from empathy.core.workspace import open_workspace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clone")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ingest_s: list[float] = []
    label_s: list[float] = []
    commits = 0
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as tmp:
            ws = open_workspace(a.clone, {"database_url": f"sqlite:///{Path(tmp) / 's.db'}"})
            t0 = time.perf_counter()
            ws.ingest()
            ingest_s.append(time.perf_counter() - t0)
            history = ws.history()  # loads and labels once; timed again below on its own
            commits = len(history.commits)
            t1 = time.perf_counter()
            labels = label_history(history.commits, ws.repo)
            label_s.append(time.perf_counter() - t1)
            assert len(labels.labels) == commits
            ws.store.engine.dispose()
    ing, lab = statistics.median(ingest_s), statistics.median(label_s)
    print(f"{a.clone}: {commits} commits, {a.runs} runs")
    print(f"  ingest (fresh store), median {ing:.2f} s  {[round(x, 2) for x in ingest_s]}")
    print(f"  label every commit,  median {lab:.2f} s  {[round(x, 2) for x in label_s]}")
    print(f"  labels / ingest = {lab / ing:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
