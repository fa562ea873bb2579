"""Time `empathy report --html` on a warm store, as a team lead or CI runs it, and measure the file.

Usage:
    python bench/bench_report.py REPO [--runs 3] [--out FILE] [--json]

Each run is the real command line in a subprocess (`empathy report REPO --html FILE`,
interpreter start-up and imports included), timed by wall clock:

* **priming** (reported, not held to the target): one run that brings the store up to
  date (ingest, mining, the forecast's training) if it was not already;
* **warm**: ``--runs`` more runs on that store (nothing new to ingest, mine or train):
  the median and the maximum are reported, with the file's size.

Targets (issue 18): warm < 30 s on pytest; the file < 5 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _run(repo: str, out: Path) -> float:
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "empathy", "report", repo, "--html", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"empathy report failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo")
    parser.add_argument("--runs", type=int, default=3, help="warm runs after the priming one")
    parser.add_argument("--out", type=Path, default=None, help="where to write the report (default: a temp file)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="empathy-report-")) / "report.html"
    priming = _run(args.repo, out)
    warm = [_run(args.repo, out) for _ in range(max(1, args.runs))]
    size = out.stat().st_size
    commits = subprocess.run(
        ["git", "-C", args.repo, "rev-list", "--count", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    result: dict[str, Any] = {
        "repo": args.repo,
        "commits": int(commits),
        "priming_seconds": round(priming, 2),
        "warm_seconds": [round(s, 2) for s in warm],
        "warm_median": round(statistics.median(warm), 2),
        "warm_max": round(max(warm), 2),
        "bytes": size,
        "file": str(out),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.repo} ({commits} commits): priming run {priming:.1f} s; warm median {result['warm_median']:.1f} s, "
        f"max {result['warm_max']:.1f} s over {len(warm)} runs (target < 30 s); "
        f"{size / 1_000_000:.2f} MB (target < 5 MB): {out}"
    )


if __name__ == "__main__":
    main()
