#!/usr/bin/env python3
"""Co-change partners ("you probably also need to change X") from a clone's history, for the eval harness.

Run with the clone as the working directory:

    python bench/partners_dev.py --batch QUERIES.jsonl --top 10 --json
    python bench/partners_dev.py --query src/pkg/mod.py tests/test_mod.py

``--batch`` implements the protocol of ``/work/shared/eval/coupling_eval.py``:
QUERIES has one ``{"id", "at", "files"}`` a line; each answer line is
``{"id", "suggestions": [{"path", "score", "warn", "why"}]}``, computed from
the commits strictly earlier in time than the ``at`` commit (commits with the
same timestamp are not history).  The history is read once
(``git log --reverse --no-merges -M --raw``), fed to one
:class:`~empathy.core.cochange.CochangeIndex` in time order, and each query
is answered when its time comes.  From the start of the replay window (the
first query's time minus ``Settings.train_days``) the index is also given
what Python files and docs pages refer to (imports, dotted names): the tree
as of that start, then every changed file, read with one
``git cat-file --batch``.  Timings go to stderr.

``--query`` builds the index over the whole history (replaying the last
``train_days``), then times one warm query (the second of two identical
calls) and prints its suggestions, as of just after the newest commit.

Bulk sweeps are guessed by :func:`~empathy.core.cochange.looks_like_bulk`
from the subject and size until the commit classifier supplies them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The index's matrices are small: a second BLAS thread buys little alone and
# costs three times the fitting time when the machine is busy (measured on 2 cores).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from empathy.core.cochange import CochangeIndex, Settings, looks_like_bulk  # noqa: E402 (after the thread settings)
from empathy.core.cochange.references import MAX_TEXT, mentioned_names, reads_references  # noqa: E402

DAY = 86400.0


@dataclass
class Commit:
    sha: str
    time: float
    subject: str
    files: list[str]
    renames: dict[str, str]
    deleted: set[str]
    #: new blob of each created or modified file whose text may hold references
    blobs: dict[str, str] = field(default_factory=dict)


def read_history(repo: str) -> list[Commit]:
    """All non-merge commits, oldest first (stable-sorted by commit time), with their raw name-status."""
    raw = subprocess.run(
        [
            "git",
            "-C",
            repo,
            "log",
            "--reverse",
            "--no-merges",
            "-M",
            "--raw",
            "--no-abbrev",
            "--format=%x00%H%x1f%ct%x1f%s",
        ],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", errors="backslashreplace")
    commits: list[Commit] = []
    for chunk in raw.split("\x00")[1:]:
        lines = chunk.strip("\n").split("\n")
        sha, ct, subject = lines[0].split("\x1f", 2)
        files: list[str] = []
        renames: dict[str, str] = {}
        deleted: set[str] = set()
        blobs: dict[str, str] = {}
        for line in lines[1:]:
            if not line.startswith(":"):
                continue
            parts = line.split("\t")
            meta = parts[0].split()
            status = meta[-1][:1]
            if status == "R" and len(parts) == 3:
                renames[parts[1]] = parts[2]
                files.append(parts[2])
            elif len(parts) >= 2:
                files.append(parts[-1])
                if status == "D":
                    deleted.add(parts[-1])
            if status != "D" and len(parts) >= 2 and reads_references(parts[-1]):
                blobs[parts[-1]] = meta[3]
        commits.append(Commit(sha, float(ct), subject, files, renames, deleted, blobs))
    commits.sort(key=lambda c: c.time)
    return commits


def read_references(repo: str, commits: list[Commit], start: int) -> dict[int, dict[str, frozenset[str]]]:
    """What the texts fed from ``commits[start]`` on refer to: {commit position: {path: names}}.

    The first fed commit also carries the whole tree as of the commit before
    it, so the index starts with every file's references; after that each
    commit carries the files it changed.  All blobs come from one
    ``git cat-file --batch``.
    """
    if start >= len(commits):
        return {}
    wanted: dict[int, dict[str, str]] = {}
    if start > 0:
        tree = subprocess.run(
            ["git", "-C", repo, "ls-tree", "-r", "--full-tree", commits[start - 1].sha],
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8", errors="backslashreplace")
        first: dict[str, str] = {}
        for line in tree.splitlines():
            meta, _, path = line.partition("\t")
            kind_sha = meta.split()
            if len(kind_sha) == 3 and kind_sha[1] == "blob" and reads_references(path):
                first[path] = kind_sha[2]
        wanted[start] = first
    for k in range(start, len(commits)):
        wanted.setdefault(k, {}).update(commits[k].blobs)
    paths_of: dict[str, set[str]] = {}
    for files in wanted.values():
        for p, b in files.items():
            paths_of.setdefault(b, set()).add(p)
    names = _read_names(repo, paths_of)
    return {k: {p: names[b, p] for p, b in files.items() if (b, p) in names} for k, files in wanted.items()}


def _read_names(repo: str, paths_of: dict[str, set[str]]) -> dict[tuple[str, str], frozenset[str]]:
    """Stream the blobs through one ``git cat-file --batch``, keeping only the names each text refers to."""
    shas = sorted(paths_of)
    proc = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def write() -> None:
        stdin.write("".join(f"{s}\n" for s in shas).encode())
        stdin.close()

    writer = threading.Thread(target=write)
    writer.start()
    out: dict[tuple[str, str], frozenset[str]] = {}
    for sha in shas:
        header = proc.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        data = proc.stdout.read(size + 1)
        if size <= MAX_TEXT:
            text = data[:size].decode("utf-8", errors="replace")
            for path in paths_of[sha]:
                out[sha, path] = mentioned_names(path, text)
    writer.join()
    proc.wait()
    return out


def feed(index: CochangeIndex, c: Commit, references: dict[str, frozenset[str]] | None = None) -> None:
    index.add(
        c.sha,
        c.time,
        c.files,
        bulk=looks_like_bulk(c.subject, len(c.files)),
        renames=c.renames,
        deleted=c.deleted,
        references=references,
    )


def run_batch(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    commits = read_history(args.repo)
    read_s = time.perf_counter() - started
    time_of = {c.sha: c.time for c in commits}
    queries = [json.loads(line) for line in Path(args.batch).read_text().splitlines() if line.strip()]
    for q in queries:
        q["_t"] = time_of.get(q["at"])
    timed = sorted((q for q in queries if q["_t"] is not None), key=lambda q: q["_t"])
    settings = Settings()
    first = timed[0]["_t"] if timed else float("inf")
    learn_since = first - settings.train_days * DAY
    index = CochangeIndex(settings, learn_since=learn_since)
    start = next((k for k, c in enumerate(commits) if c.time >= learn_since), len(commits))
    refs = read_references(args.repo, commits, start)
    refs_s = time.perf_counter() - started - read_s
    answers: dict[object, list[dict[str, object]]] = {}
    i = 0
    query_s = 0.0
    for q in timed:
        while i < len(commits) and commits[i].time < q["_t"]:
            feed(index, commits[i], refs.get(i))
            i += 1
        t0 = time.perf_counter()
        got = index.suggest(q["files"], q["_t"], top=args.top)
        query_s += time.perf_counter() - t0
        answers[q["id"]] = [{"path": s.path, "score": s.score, "warn": s.warn, "why": s.why} for s in got]
    for q in queries:
        print(json.dumps({"id": q["id"], "suggestions": answers.get(q["id"], [])}))
    total = time.perf_counter() - started
    record = index.track_record(timed[-1]["_t"]) if timed else None
    print(
        f"partners_dev: {len(queries)} queries in {total:.1f} s "
        f"(history read {read_s:.1f} s, texts read {refs_s:.1f} s, "
        f"{index.replayed} commits replayed, {index.fits} fits {index.fit_seconds:.1f} s, queries {query_s:.1f} s); "
        f"warn threshold {record.threshold if record else None}",
        file=sys.stderr,
    )
    return 0


def run_query(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    commits = read_history(args.repo)
    settings = Settings()
    latest = commits[-1].time if commits else 0.0
    learn_since = latest - settings.train_days * DAY
    index = CochangeIndex(settings, learn_since=learn_since)
    start = next((k for k, c in enumerate(commits) if c.time >= learn_since), len(commits))
    refs = read_references(args.repo, commits, start)
    for k, c in enumerate(commits):
        feed(index, c, refs.get(k))
    built = time.perf_counter() - started
    now = latest + 1
    index.suggest(args.query, now, top=args.top)  # warm-up: fits the model, fills caches
    t0 = time.perf_counter()
    got = index.suggest(args.query, now, top=args.top)
    ms = (time.perf_counter() - t0) * 1000
    if args.json:
        for s in got:
            print(json.dumps({"path": s.path, "score": s.score, "warn": s.warn, "why": s.why, "evidence": s.evidence}))
    else:
        for s in got:
            print(f"{s.score:6.3f} {'WARN' if s.warn else '    '} {s.path}\n        {s.why}")
    print(f"partners_dev: index built in {built:.1f} s; one warm query {ms:.1f} ms", file=sys.stderr)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--batch", metavar="FILE", help="JSONL of {id, at, files}")
    mode.add_argument("--query", nargs="+", metavar="FILE", help="files of one change, answered as of HEAD")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--json", action="store_true", help="JSON lines out (batch mode always writes JSON)")
    ap.add_argument("--repo", default=".", help="the clone (default: the working directory)")
    args = ap.parse_args()
    return run_batch(args) if args.batch else run_query(args)


if __name__ == "__main__":
    raise SystemExit(main())
