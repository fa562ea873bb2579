"""Partner suggestions on one clone: the index build, and warm interactive queries.

Usage:
    python bench/bench_partners.py CLONE [--queries 200]

Builds the co-change index over the whole ingested history as the workspace does (one
``git log``, the texts for imports, the replays that train the combination), then asks
QUERIES warm questions taken from the newest commits (each commit's files but one) and
prints the build time and the query latencies (p50, p95, max). The batch figure (800
replayed queries) is measured with ../shared/eval/coupling_eval.py (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

from empathy.core.workspace import open_workspace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clone")
    ap.add_argument("--queries", type=int, default=200)
    a = ap.parse_args()
    ws = open_workspace(a.clone)
    ws.ingest()
    ws.history()
    t0 = time.perf_counter()
    index = ws.partner_index()
    build = time.perf_counter() - t0
    questions = [sorted(set(c.files))[1:] for c in reversed(index.commits) if len(set(c.files)) >= 2][: a.queries]
    latencies = []
    for q in questions:
        index._cache.clear()  # a new question each time: no answer reused
        t = time.perf_counter()
        index.suggest(q, top=10)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"{a.clone}: index over {index.fed} commits built in {build:.1f} s ({index.index.fits} fits)")
    print(
        f"  {len(latencies)} warm queries: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies[-1]:.1f} ms (target: under 50 ms)"
    )


if __name__ == "__main__":
    main()
