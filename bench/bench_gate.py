"""Time `empathy gate` on a pull-request-sized range, cold and warm, as CI runs it.

Usage:
    python bench/bench_gate.py REPO [--base REF --head REF] [--warm-runs 5] [--workdir DIR]

Each run is the real command line in a subprocess (`empathy gate --json`,
interpreter start-up and imports included), timed by wall clock:

* **cold**: a fresh SQLite store: ingest the whole history, link fixes to
  their causes for at most the gate's ``szz_seconds`` (20 s by default), mine
  the patterns, score and decide;
* **priming** (not timed against a target): one more run with an unbounded
  ``szz_seconds``, so every fix is linked, as a store kept by a team server or
  a CI cache is after a few runs;
* **warm**: ``--warm-runs`` runs on that store (nothing new to ingest, link or
  mine): the median and the maximum are reported.

The default range is the newest merge commit on HEAD's first-parent line
(``M^1..M``: one merged pull request).  Targets (issue 6): warm <= 3 s,
cold <= 60 s.
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


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout.strip()


def _default_range(repo: str) -> tuple[str, str]:
    merge = _git(repo, "log", "--merges", "--first-parent", "-1", "--format=%H", "HEAD")
    return _git(repo, "rev-parse", f"{merge}^1"), merge


def _run(repo: str, base: str, head: str, url: str, env_extra: dict[str, str] | None = None) -> tuple[float, Any]:
    env = {**os.environ, "COLUMNS": "400", **(env_extra or {})}
    cmd = [sys.executable, "-m", "empathy", "gate", "--base", base, "--head", head, "-C", repo,
           "--database-url", url, "--json", "--fail-on", "never", "--no-github"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"gate failed ({proc.returncode}): {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    report["_phases"] = " ".join(proc.stderr.split())  # the gate's own "decided in ..." line
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo")
    parser.add_argument("--base")
    parser.add_argument("--head")
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--workdir", help="Where the fresh store goes (default: a temporary directory).")
    parser.add_argument("--store", help="Time only warm runs on this store URL (already primed).")
    args = parser.parse_args()
    repo = str(Path(args.repo).resolve())
    base, head = (args.base, args.head) if args.base and args.head else _default_range(repo)
    stat = _git(repo, "diff", "--shortstat", base, head)
    commits = len(_git(repo, "rev-list", f"{base}..{head}").split())
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        url = args.store or f"sqlite:///{Path(tmp) / 'store.db'}"
        cold = prime = float("nan")
        left_after_cold, cold_phases = -1, "(skipped: --store)"
        if not args.store:
            cold, report = _run(repo, base, head, url)
            left_after_cold = report["data_quality"]["fixes_not_linked"]
            cold_phases = report["_phases"]
            prime, report = _run(repo, base, head, url, {"EMPATHY_PLUGIN_GATE_SZZ_SECONDS": "100000"})
        warm: list[float] = []
        texts: set[str] = set()
        for _ in range(args.warm_runs):
            seconds, report = _run(repo, base, head, url)
            warm.append(seconds)
            warm_phases = report.pop("_phases")
            texts.add(json.dumps(report, sort_keys=True))
        same = len(texts) == 1
    print(f"repository: {repo} at {_git(repo, 'rev-parse', '--short=12', 'HEAD')}, "
          f"{_git(repo, 'rev-list', '--count', 'HEAD')} commits")
    print(f"range: {base[:12]}..{head[:12]} ({commits} commits; {stat})")
    print(f"decision (warm): {report['decision']['decision']}, risk {report['decision']['risk']}, "
          f"track record {report['track_record']['source']} N={(report['track_record']['used'] or {}).get('n', 0)}")
    print(f"cold (fresh store, ingest + SZZ budget + mine + decide): {cold:.1f} s "
          f"(fixes not yet linked after it: {left_after_cold})")
    print(f"  {cold_phases}")
    print(f"priming run (links the rest): {prime:.1f} s")
    print(f"warm x{len(warm)}: median {statistics.median(warm):.2f} s, max {max(warm):.2f} s "
          f"(runs: {', '.join(f'{w:.2f}' for w in warm)})")
    print(f"  last warm run: {warm_phases}")
    print(f"the warm runs' reports are identical: {same}")
    print(f"targets: warm <= 3 s {'met' if statistics.median(warm) <= 3 else 'MISSED'}, "
          f"cold <= 60 s {'met' if cold <= 60 else ('not measured' if args.store else 'MISSED')}")


if __name__ == "__main__":
    main()
