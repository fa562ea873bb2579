"""Warm orchestrated analysis of one file: every agent, no LLM endpoint (issue 4's 200 ms target).

    python bench/bench_agents.py /tmp/pytest [--files 100] [--store sqlite:///...]

Opens the repository once (as the language server or a long-lived CLI would),
ingests and mines it, runs one request to warm the caches (history, forecast,
per-process plugin state), then times ``Workspace.orchestrate`` for one
``Request(kind="file")`` per source file (the first N, sorted, or all with
``--files 0``) and prints p50 / p95 / max with the slowest agents.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from empathy.core.agents.orchestrator import Request
from empathy.core.workspace import open_workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", type=Path)
    parser.add_argument("--files", type=int, default=100, help="how many source files to ask about (0: all)")
    parser.add_argument("--store", default="", help="database URL (default: the repository's SQLite store)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    overrides = {"database_url": args.store} if args.store else None
    ws = open_workspace(args.repo, overrides)
    t0 = time.perf_counter()
    ws.ingest()
    if not ws.store.patterns(ws.repo_id):
        ws.mine()
    history = ws.history()
    prepare = time.perf_counter() - t0
    is_source = ws.is_source
    root = ws.repo.root
    files = sorted(f.path for f in history.alive_files() if is_source(f.path) and (root / f.path).is_file())
    if args.files:
        files = files[: args.files]
    if not files:
        sys.exit("no source files to ask about")
    t1 = time.perf_counter()
    ws.orchestrate(Request(kind="file", paths=[files[0]]))
    warmup = time.perf_counter() - t1
    times: list[float] = []
    per_agent: dict[str, list[float]] = {}
    partial = 0
    for path in files:
        start = time.perf_counter()
        answer = ws.orchestrate(Request(kind="file", paths=[path]))
        times.append(time.perf_counter() - start)
        partial += answer.partial
        for name, outcome in answer.outcomes.items():
            per_agent.setdefault(name, []).append(outcome.seconds)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    result = {
        "repo": str(root),
        "head": ws.repo.head[:12],
        "files": len(times),
        "prepare_s": round(prepare, 2),
        "first_request_s": round(warmup, 3),
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "partial_answers": partial,
        "agents_p95_ms": {
            name: round(sorted(v)[min(len(v) - 1, int(0.95 * len(v)))] * 1000, 1) for name, v in per_agent.items()
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
