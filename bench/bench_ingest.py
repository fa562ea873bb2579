"""History-ingest throughput, side by side on one repository.

    python bench/bench_ingest.py REPO_PATH [--runs 3] [--pydriller] [--pydriller-limit N]
                                 [--no-incremental] [--incremental-runs 5]

Measures, on the same repository and in one run:

a. ``git log --numstat --format=%H HEAD``, stdout read to the end in 64 KiB
   chunks (the "bare git log" baseline of the issue);
a2. the exact ``git log`` command ``empathy`` runs (``--reverse --topo-order
   -z --numstat -M`` with its full header format), read the same way: the
   floor for an ingest that uses that command;
b. ``git log --numstat`` read line by line and parsed in Python;
c. a full ``empathy`` ingest into a fresh SQLite database (a new temp dir per
   run), in a fresh interpreter: ``open_repository`` + ``open_store`` +
   ``ingest`` (interpreter start and imports reported separately);
d. with ``--pydriller``: PyDriller ``Repository(path).traverse_commits()``
   reading ``added_lines``/``deleted_lines`` of every modified file; with
   ``--pydriller-limit N`` only the oldest N and the newest N commits are
   traversed (two passes, both ends of the history) and the full-history
   time is *extrapolated* from their combined rate;
e. incremental ingest of one new commit (unless ``--no-incremental``): the
   repository is cloned to a temp dir, fully ingested once, then for each run
   one commit touching one file is made and the rerun is timed in-process
   (open + ingest, what a long-lived process pays) and as ``python -c``
   (interpreter start + imports + open + ingest, what ``empathy`` on the
   command line pays).

``--empathy-rev REV`` benchmarks empathy as committed at REV (extracted with
``git archive``) instead of the work tree, so concurrent edits cannot change
the code under test halfway through a run.

Throughput is commits/s over ``git rev-list --count HEAD`` (merges included)
for every method.  Times are the median of ``--runs`` (git and empathy) after
one untimed warm-up ``git log`` that fills the page cache; each round runs a,
a2, b and c back to back so that load from other processes hits them alike.  A Markdown table
goes to stdout and the raw numbers to ``bench/results/ingest-<name>-<utc>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    commit_count,
    consume,
    empathy_version,
    git,
    machine,
    median,
    pin_empathy,
    run_ingest_child,
    write_json,
)

GITLOG_BARE = ["git", "log", "--numstat", "--format=%H", "HEAD"]


def _empathy_gitlog_cmd() -> list[str]:
    from empathy.core.history.gitlog import LOG_ARGS

    return ["git", "log", *LOG_ARGS, "HEAD", "--"]  # a full ingest: no ^old-head


def bench_gitlog_python(repo: str) -> tuple[float, int, int]:
    """``git log --numstat`` parsed line by line in Python: (seconds, commits, file changes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(GITLOG_BARE, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    commits = changes = 0
    for line in proc.stdout:
        if b"\t" in line:
            added, deleted, _path = line.rstrip(b"\n").split(b"\t", 2)
            if added != b"-":
                int(added), int(deleted)
            changes += 1
        elif len(line) == 41:
            commits += 1
    if proc.wait() != 0:
        raise RuntimeError("git log failed")
    return time.perf_counter() - t0, commits, changes


def _pydriller_pass(repo: str, limit: int | None, newest_first: bool) -> dict[str, Any]:
    from pydriller import Repository

    t0 = time.perf_counter()
    n = files = lines = 0
    for commit in Repository(repo, order="reverse" if newest_first else None).traverse_commits():
        for mf in commit.modified_files:
            lines += mf.added_lines + mf.deleted_lines
            files += 1
        n += 1
        if limit and n >= limit:
            break
    return {"seconds": time.perf_counter() - t0, "commits": n, "files": files, "lines": lines}


def bench_pydriller(repo: str, limit: int | None) -> dict[str, Any]:
    """All commits; or, with ``limit``, the oldest and the newest ``limit`` commits (both ends of the history)."""
    if not limit:
        out = _pydriller_pass(repo, None, newest_first=False)
        out["limited"] = False
        return out
    oldest = _pydriller_pass(repo, limit, newest_first=False)
    newest = _pydriller_pass(repo, limit, newest_first=True)
    return {
        "seconds": oldest["seconds"] + newest["seconds"],
        "commits": oldest["commits"] + newest["commits"],
        "files": oldest["files"] + newest["files"],
        "lines": oldest["lines"] + newest["lines"],
        "limited": True,
        "oldest": oldest,
        "newest": newest,
    }


def bench_full_ingest_once(repo: str, i: int, profile_dir: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="empathy-bench-") as tmp:
        url = f"sqlite:///{tmp}/store.db"
        prof = f"{profile_dir}/ingest-{i}.prof" if profile_dir else ""
        r = run_ingest_child(repo, url, profile=prof)
        r["db_bytes"] = sum(p.stat().st_size for p in Path(tmp).iterdir())
    return r


_INCR_SNIPPET = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    from empathy.core.repo import open_repository
    from empathy.core.store.store import open_store
    from empathy.core.history.ingest import ingest
    t1 = time.perf_counter()
    opened = open_repository(sys.argv[1])
    store = open_store(sys.argv[2], opened.git_dir)
    r = ingest(opened, store)
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "open_ingest_s": t2 - t1, "new": r.new_commits}))
    """
)


def _new_commit(clone: Path, i: int, target: str) -> None:
    with open(clone / target, "a", encoding="utf-8") as fh:
        fh.write(f"# benchmark line {i}\n")
    subprocess.run(
        [
            "git",
            "-C",
            str(clone),
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.org",
            "commit",
            "-q",
            "--no-verify",
            "-am",
            f"bench: incremental commit {i}",
        ],
        check=True,
    )


def bench_incremental(repo: str, runs: int) -> dict[str, Any]:
    from empathy.core.history.ingest import ingest
    from empathy.core.repo import open_repository
    from empathy.core.store.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="empathy-bench-incr-"))
    try:
        clone = tmp / "repo"
        subprocess.run(["git", "clone", "-q", repo, str(clone)], check=True)
        url = f"sqlite:///{tmp}/store.db"
        full = run_ingest_child(clone, url)
        tracked = git(clone, "ls-files", "--", "*.py").splitlines() or git(clone, "ls-files").splitlines()
        target = sorted(tracked)[len(tracked) // 2]
        in_process, subproc, subproc_inner, noop = [], [], [], []
        for i in range(runs):
            _new_commit(clone, 2 * i, target)
            t0 = time.perf_counter()
            opened = open_repository(clone)
            store = open_store(url, opened.git_dir)
            report = ingest(opened, store)
            in_process.append(time.perf_counter() - t0)
            store.engine.dispose()
            assert report.new_commits == 1, report
            # Rerun with nothing new: the cost of "is there anything to do?"
            t0 = time.perf_counter()
            opened = open_repository(clone)
            store = open_store(url, opened.git_dir)
            report = ingest(opened, store)
            noop.append(time.perf_counter() - t0)
            store.engine.dispose()
            assert report.new_commits == 0, report

            _new_commit(clone, 2 * i + 1, target)
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", _INCR_SNIPPET, str(clone), url],
                check=True,
                capture_output=True,
                text=True,
                cwd=tempfile.gettempdir(),
            ).stdout
            subproc.append(time.perf_counter() - t0)
            inner = json.loads(out.strip().splitlines()[-1])
            assert inner["new"] == 1, inner
            subproc_inner.append(inner)
        return {
            "touched_file": target,
            "full_ingest": full,
            "in_process_s": in_process,
            "noop_in_process_s": noop,
            "python_c_s": subproc,
            "python_c_inner": subproc_inner,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fmt_rate(commits: int, seconds: float) -> str:
    return f"{commits / seconds:,.0f}" if seconds > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="empathy history-ingest throughput benchmark")
    ap.add_argument("repo")
    ap.add_argument("--runs", type=int, default=3, help="runs of the git and empathy measurements (median)")
    ap.add_argument("--pydriller", action="store_true", help="also time PyDriller (slow)")
    ap.add_argument(
        "--pydriller-limit",
        type=int,
        default=0,
        help="PyDriller on the oldest N + newest N commits only, full history extrapolated",
    )
    ap.add_argument("--no-incremental", action="store_true")
    ap.add_argument("--incremental-runs", type=int, default=5)
    ap.add_argument("--profile-dir", default="", help="write cProfile stats of each full ingest here")
    ap.add_argument("--name", default="", help="label for the results file (default: repo dir name)")
    ap.add_argument(
        "--empathy-rev",
        default="",
        help="benchmark empathy as committed at this git revision (e.g. HEAD) instead of the work tree",
    )
    args = ap.parse_args(argv)
    if args.empathy_rev:
        pin_empathy(args.empathy_rev)

    repo = str(Path(args.repo).resolve())
    name = args.name or Path(repo).name
    n_commits = commit_count(repo)
    env = machine()
    print(
        f"# {name}: {n_commits} commits (HEAD {git(repo, 'rev-parse', 'HEAD')[:12]}), load {env['loadavg']}",
        file=sys.stderr,
    )

    consume(GITLOG_BARE, cwd=repo)  # warm the page cache
    emp_cmd = _empathy_gitlog_cmd()
    res: dict[str, list[float]] = {"gitlog": [], "gitlog_empathy_args": [], "gitlog_python": []}
    full: list[dict[str, Any]] = []
    gitlog_bytes = 0
    # One round = each method once, back to back, so that load from other
    # processes on a shared machine hits all of them alike.
    for i in range(args.runs):
        dt, gitlog_bytes = consume(GITLOG_BARE, cwd=repo)
        res["gitlog"].append(dt)
        dt2, _ = consume(emp_cmd, cwd=repo)
        res["gitlog_empathy_args"].append(dt2)
        dt3, _c, _ch = bench_gitlog_python(repo)
        res["gitlog_python"].append(dt3)
        r = bench_full_ingest_once(repo, i, args.profile_dir)
        assert r["new_commits"] == n_commits, (r["new_commits"], n_commits)
        full.append(r)
        print(
            f"  round {i + 1}: git log bare {dt:.2f} s, empathy's git log {dt2:.2f} s, python lines {dt3:.2f} s, "
            f"empathy ingest {r['wall_s']:.2f} s (ingest() {r['ingest_s']:.2f} s), load {os.getloadavg()[0]:.2f}",
            file=sys.stderr,
        )

    pyd = None
    if args.pydriller:
        print("  PyDriller ...", file=sys.stderr)
        pyd = bench_pydriller(repo, args.pydriller_limit or None)
        print(f"  PyDriller: {pyd['commits']} commits in {pyd['seconds']:.1f} s", file=sys.stderr)

    incr = None
    if not args.no_incremental:
        print("  incremental ...", file=sys.stderr)
        incr = bench_incremental(repo, args.incremental_runs)

    t_git = median(res["gitlog"])
    t_git_emp = median(res["gitlog_empathy_args"])
    t_git_py = median(res["gitlog_python"])
    t_ing = median([float(r["wall_s"]) for r in full])
    t_ing_only = median([float(r["ingest_s"]) for r in full])
    t_import = median([float(r["import_s"]) for r in full])
    rate_ing = n_commits / t_ing

    lines = [
        f"**{name}**: {n_commits:,} commits; median of {args.runs} run(s); "
        f"{env['cpus']} CPUs, load average at start {tuple(round(x, 2) for x in env['loadavg'])}; "
        f"{env['date_utc']}; empathy {empathy_version()}",
        "",
        "| method | wall time (s) | commits/s | empathy ingest throughput / this |",
        "| --- | ---: | ---: | ---: |",
        f"| (a) `git log --numstat --format=%H HEAD`, stdout drained | {t_git:.2f} | "
        f"{_fmt_rate(n_commits, t_git)} | {t_git / t_ing:.2f}x |",
        f"| (a2) empathy's own `git log` command (`-M --topo-order --reverse -z`, full header), drained | "
        f"{t_git_emp:.2f} | {_fmt_rate(n_commits, t_git_emp)} | {t_git_emp / t_ing:.2f}x |",
        f"| (b) `git log --numstat` parsed line by line in Python | {t_git_py:.2f} | "
        f"{_fmt_rate(n_commits, t_git_py)} | {t_git_py / t_ing:.2f}x |",
        f"| (c) **empathy full ingest into fresh SQLite** (open + ingest) | **{t_ing:.2f}** | "
        f"**{_fmt_rate(n_commits, t_ing)}** | 1.00x |",
    ]
    pyd_ratio = None
    if pyd is not None:
        rate = pyd["commits"] / pyd["seconds"]
        t_full = n_commits / rate
        pyd_ratio = rate_ing / rate
        if pyd["limited"]:
            o, nw = pyd["oldest"], pyd["newest"]
            label = (
                f"(d) PyDriller, modified files + added/deleted lines, **sample only: oldest {o['commits']:,} "
                f"commits ({o['commits'] / o['seconds']:,.0f}/s) + newest {nw['commits']:,} "
                f"({nw['commits'] / nw['seconds']:,.0f}/s), {pyd['seconds']:.0f} s in all; "
                f"full-history time extrapolated from the combined rate**"
            )
            lines.append(f"| {label} | ~{t_full:.0f} (extrapolated) | {rate:,.0f} | {pyd_ratio:.1f}x |")
        else:
            label = "(d) PyDriller, modified files + added/deleted lines, all commits"
            lines.append(f"| {label} | {t_full:.1f} | {rate:,.0f} | {pyd_ratio:.1f}x |")
    lines += [
        "",
        f"empathy ingest detail (median): interpreter start + imports {t_import:.2f} s (not counted above), "
        f"open_repository + open_store {median([float(r['open_s']) for r in full]):.2f} s, "
        f"ingest() {t_ing_only:.2f} s; "
        f"peak RSS of Python {max(int(r['maxrss_self_kb']) for r in full) / 1024:.0f} MiB, "
        f"of git {max(int(r['maxrss_children_kb']) for r in full) / 1024:.0f} MiB; "
        f"database {int(full[0]['db_bytes']) / 2**20:.0f} MiB.",
        "",
        f"- ingest / bare git log throughput: **{t_git / t_ing:.2f}x** (target >= 0.5x: "
        f"{'met' if t_git / t_ing >= 0.5 else 'MISSED'}); per round: "
        + ", ".join(f"{g / float(r['wall_s']):.2f}x" for g, r in zip(res["gitlog"], full, strict=True)),
    ]
    if pyd_ratio is not None:
        extra = ""
        if pyd and pyd["limited"]:
            extra = " (PyDriller rate extrapolated from a sample at both ends of the history)"
        lines.append(
            f"- ingest / PyDriller throughput: **{pyd_ratio:.1f}x**{extra} (target >= 10x: "
            f"{'met' if pyd_ratio >= 10 else 'MISSED'})"
        )
    if incr is not None:
        ip, pc = incr["in_process_s"], incr["python_c_s"]
        inner = [float(x["open_ingest_s"]) for x in incr["python_c_inner"]]
        imp = [float(x["import_s"]) for x in incr["python_c_inner"]]
        lines += [
            "",
            f"Incremental ingest of one new commit (touching `{incr['touched_file']}`), "
            f"{args.incremental_runs} runs, on a clone of the repository that was fully ingested first:",
            "",
            "| measurement | median (s) | min (s) | max (s) |",
            "| --- | ---: | ---: | ---: |",
            f"| in-process: open_repository + open_store + ingest | {median(ip):.3f} | {min(ip):.3f} | {max(ip):.3f} |",
            f"| `python -c`: same, measured inside the child | {median(inner):.3f} | {min(inner):.3f} | "
            f"{max(inner):.3f} |",
            f"| `python -c`: imports only | {median(imp):.3f} | {min(imp):.3f} | {max(imp):.3f} |",
            f"| `python -c`: whole process (interpreter start + imports + open + ingest) | "
            f"{median(pc):.3f} | {min(pc):.3f} | {max(pc):.3f} |",
            f"| in-process rerun with nothing new | {median(incr['noop_in_process_s']):.3f} | "
            f"{min(incr['noop_in_process_s']):.3f} | {max(incr['noop_in_process_s']):.3f} |",
            "",
            f"- incremental, one commit, in-process: **{median(ip):.3f} s** (target < 0.3 s: "
            f"{'met' if median(ip) < 0.3 else 'MISSED'}); "
            f"as a fresh `python -c` process: {median(pc):.3f} s "
            f"({'under' if median(pc) < 0.3 else 'over'} 0.3 s)",
        ]
    table = "\n".join(lines)
    print(table)
    data = {
        "name": name,
        "repo": repo,
        "head": git(repo, "rev-parse", "HEAD"),
        "commits": n_commits,
        "gitlog_bytes": gitlog_bytes,
        "machine": env,
        "empathy": empathy_version(),
        "runs": args.runs,
        "gitlog_s": res["gitlog"],
        "gitlog_empathy_args_s": res["gitlog_empathy_args"],
        "gitlog_python_s": res["gitlog_python"],
        "full_ingest": full,
        "pydriller": pyd,
        "incremental": incr,
        "ratio_ingest_vs_gitlog": t_git / t_ing,
        "ratio_ingest_vs_pydriller": pyd_ratio,
        "markdown": table,
        "loadavg_end": machine()["loadavg"],
    }
    path = write_json(f"ingest-{name}", data)
    print(f"\nraw results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
