"""Peak memory of a full empathy ingest (fresh SQLite database), run in a subprocess.

    python bench/bench_memory.py REPO_PATH [--runs 1] [--limit-mb 500]

Reports three numbers for the ingest process tree:

* peak RSS of the Python process (its own ``getrusage(RUSAGE_SELF).ru_maxrss``);
* peak RSS of the largest ``git`` child it started (``RUSAGE_CHILDREN``);
* peak of the *summed* RSS of Python + its git children, sampled from /proc
  every 50 ms (what the machine actually has to provide at once; sampling can
  miss a short spike, so it is a lower bound of the true sum, but it is at
  least the larger of the first two by construction below);
* the same sum counting only anonymous memory (``RssAnon``): RSS also counts
  the pages of git's memory-mapped pack files that git has touched, which are
  page cache the kernel can drop, not memory the ingest allocated.

The target (``--limit-mb``, default 500 MB = 500 * 10^6 bytes) is checked
against the summed RSS (the stricter number).  JSON goes to ``bench/results/memory-<name>-<utc>.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    commit_count,
    empathy_version,
    git,
    machine,
    pin_empathy,
    run_ingest_child,
    write_json,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="peak memory of a full empathy ingest")
    ap.add_argument("repo")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--limit-mb", type=float, default=500.0, help="target, in 10^6 bytes")
    ap.add_argument("--name", default="")
    ap.add_argument(
        "--empathy-rev",
        default="",
        help="measure empathy as committed at this git revision (e.g. HEAD) instead of the work tree",
    )
    args = ap.parse_args(argv)
    if args.empathy_rev:
        pin_empathy(args.empathy_rev)
    repo = str(Path(args.repo).resolve())
    name = args.name or Path(repo).name
    n = commit_count(repo)
    env = machine()
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="empathy-bench-mem-") as tmp:
            r = run_ingest_child(repo, f"sqlite:///{tmp}/store.db")
            r["db_bytes"] = sum(p.stat().st_size for p in Path(tmp).iterdir())
        assert r["new_commits"] == n, (r["new_commits"], n)
        py_kb, git_kb = int(r["maxrss_self_kb"]), int(r["maxrss_children_kb"])
        r["tree_peak_rss_kb"] = max(int(r["tree_peak_rss_kb"]), py_kb, git_kb)
        runs.append(r)
        print(
            f"  run {i + 1}: python {py_kb / 1024:.0f} MiB, git {git_kb / 1024:.0f} MiB, "
            f"summed {int(r['tree_peak_rss_kb']) / 1024:.0f} MiB, {r['wall_s']:.1f} s",
            file=sys.stderr,
        )
    worst = max(runs, key=lambda r: int(r["tree_peak_rss_kb"]))
    py_mb = int(worst["maxrss_self_kb"]) * 1024 / 1e6
    git_mb = int(worst["maxrss_children_kb"]) * 1024 / 1e6
    tree_mb = int(worst["tree_peak_rss_kb"]) * 1024 / 1e6
    anon_mb = int(worst["tree_peak_anon_kb"]) * 1024 / 1e6
    detail = ", ".join(
        f"{nm} {kb * 1024 / 1e6:.0f} MB (anonymous {an * 1024 / 1e6:.0f} MB)"
        for nm, kb, an in worst["tree_peak_detail"].values()
    )
    ok = tree_mb < args.limit_mb
    table = "\n".join(
        [
            f"**{name}**: full ingest of {n:,} commits into a fresh SQLite database; "
            f"{env['date_utc']}; empathy {empathy_version()}; worst of {args.runs} run(s)",
            "",
            "| process | peak RSS (MB) |",
            "| --- | ---: |",
            f"| Python (ingest) | {py_mb:.0f} |",
            f"| largest git child | {git_mb:.0f} |",
            f"| Python + git children, summed, sampled | **{tree_mb:.0f}** |",
            f"| Python + git children, summed, anonymous memory only (RssAnon), sampled | {anon_mb:.0f} |",
            "",
            f"At the sampled peak: {detail}.  Wall time {float(worst['wall_s']):.1f} s; "
            f"database {int(worst['db_bytes']) / 1e6:.0f} MB.",
            "",
            f"- peak memory: **{tree_mb:.0f} MB** (target < {args.limit_mb:.0f} MB: "
            f"{'met' if ok else f'MISSED by {tree_mb - args.limit_mb:.0f} MB'})",
        ]
    )
    print(table)
    path = write_json(
        f"memory-{name}",
        {
            "name": name,
            "repo": repo,
            "head": git(repo, "rev-parse", "HEAD"),
            "commits": n,
            "machine": env,
            "empathy": empathy_version(),
            "runs": runs,
            "peak_python_mb": py_mb,
            "peak_git_mb": git_mb,
            "peak_tree_mb": tree_mb,
            "peak_tree_anon_mb": anon_mb,
            "limit_mb": args.limit_mb,
            "met": ok,
            "markdown": table,
        },
    )
    print(f"\nraw results: {path}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
