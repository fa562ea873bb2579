"""Partner suggestions on one clone: the index build, and warm interactive queries.

Usage:
    python bench/bench_partners.py CLONE [--queries 200] [--new-commits 5]

Builds the co-change index over the whole ingested history as the workspace does (one
``git log``, the texts for imports, the replays that train the combination), then asks
QUERIES warm questions taken from the newest commits (each commit's files but one) and
prints the build time and the query latencies (p50, p95, max). The batch figure (800
replayed queries) is measured with ../shared/eval/coupling_eval.py (docs/benchmarks.md).

Then, side by side in the same run, what a new process pays with the index kept between
processes (``.git/empathy/partners.pickle``): a cold build (no cache), a warm start at the
same head, and a warm start whose cache stops ``--new-commits`` commits short of the head
(as after a few commits); each warm answer is checked against the cold one.
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
    ap.add_argument("--new-commits", type=int, default=5)
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
    cache_timings(ws, questions, a.new_commits)


def cache_timings(ws: object, questions: list[list[str]], new_commits: int) -> None:
    """Cold build, warm start at the head, warm start N commits behind: seconds, and equal answers."""
    from empathy.core.usecases.partner_cache import cache_path
    from empathy.core.usecases.partners import open_partner_index, save_partner_index

    def answers(index: object) -> list[object]:
        return [[(s.path, s.score, s.warn) for s in index.suggest(q, top=10)] for q in questions[:50]]  # type: ignore[attr-defined]

    path = cache_path(ws.repo.git_dir)  # type: ignore[attr-defined]
    path.unlink(missing_ok=True)
    t = time.perf_counter()
    cold = open_partner_index(ws, cached=True)  # type: ignore[arg-type]
    cold.feed_all()
    cold_s = time.perf_counter() - t
    save_partner_index(ws, cold)  # type: ignore[arg-type]
    t = time.perf_counter()
    warm = open_partner_index(ws, cached=True)  # type: ignore[arg-type]
    warm.feed_all()
    warm_s = time.perf_counter() - t
    behind = open_partner_index(ws, cached=False)  # type: ignore[arg-type]
    behind.feed_until(behind.commits[-new_commits].time)
    save_partner_index(ws, behind)  # type: ignore[arg-type]
    t = time.perf_counter()
    fed_on = open_partner_index(ws, cached=True)  # type: ignore[arg-type]
    start = fed_on.fed
    fed_on.feed_all()
    fed_on_s = time.perf_counter() - t
    same = answers(cold) == answers(warm) == answers(fed_on)
    print(
        f"  new process, cold build {cold_s:.1f} s; from the cache at the head {warm_s:.1f} s "
        f"({cold_s / warm_s:.1f}x); cache {len(fed_on.commits) - start} commits behind {fed_on_s:.1f} s "
        f"({cold_s / fed_on_s:.1f}x); answers identical to the cold build: {same}; "
        f"cache file {path.stat().st_size / 1e6:.0f} MB"
    )
    save_partner_index(ws, cold)  # leave the clone's cache at its head


if __name__ == "__main__":
    main()
