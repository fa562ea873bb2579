"""Helpers shared by the ingest benchmarks (not a public API)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CHILD = BENCH_DIR / "_ingest_child.py"


def git(repo: str | Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "mem_total": mem_total,
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "git": git(".", "--version") if Path(".").exists() else "",
        "platform": platform.platform(),
    }


_PINNED: str | None = None


def pin_empathy(rev: str) -> str:
    """Benchmark empathy as committed at ``rev``, not the (possibly half-edited) work tree.

    Extracts ``empathy/`` at that commit with ``git archive`` into a temp dir and
    puts it first on ``sys.path`` and ``PYTHONPATH``, so this process and every
    child imports it from there.  Call before importing empathy.  Returns the sha.
    """
    global _PINNED
    root = BENCH_DIR.parent
    sha = git(root, "rev-parse", "--verify", f"{rev}^{{commit}}")
    dest = Path(tempfile.gettempdir()) / f"empathy-bench-src-{sha[:12]}"
    if not (dest / "empathy").is_dir():
        tmp = Path(tempfile.mkdtemp(prefix="empathy-bench-src-"))
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", sha, "empathy"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(dest), os.environ.get("PYTHONPATH", "")) if p)
    sys.path.insert(0, str(dest))
    _PINNED = sha
    return sha


def empathy_version() -> str:
    """The empathy code the benchmark ran against: a pinned commit, or HEAD (+dirty) of the work tree."""
    if _PINNED:
        return f"{_PINNED[:12]} (pinned with --empathy-rev)"
    root = BENCH_DIR.parent
    try:
        sha = git(root, "rev-parse", "--short=12", "HEAD")
        dirty = git(root, "status", "--porcelain", "--untracked-files=no", "--", "empathy")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def commit_count(repo: str | Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def consume(cmd: list[str], cwd: str | Path | None = None) -> tuple[float, int]:
    """Run ``cmd`` and read its stdout to the end in 64 KiB chunks; return (seconds, bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    n = 0
    while True:
        chunk = proc.stdout.read(1 << 16)
        if not chunk:
            break
        n += len(chunk)
    if proc.wait() != 0:
        raise RuntimeError(f"{cmd} failed with exit code {proc.returncode}")
    return time.perf_counter() - t0, n


class TreeRssSampler:
    """Polls /proc for the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.peak_detail: dict[int, tuple[str, int, int]] = {}
        self.peak_anon_kb = 0
        self.peak_anon_detail: dict[int, tuple[str, int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    out.extend(int(x) for x in fh.read().split())
        except OSError:
            pass
        return out

    @staticmethod
    def _rss(pid: int) -> tuple[str, int, int]:
        """(name, VmRSS kB, RssAnon kB); RSS also counts mapped files such as git's pack files."""
        name, rss, anon = "?", 0, 0
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("Name:"):
                        name = line.split()[1]
                    elif line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon = int(line.split()[1])
        except OSError:
            pass
        return name, rss, anon

    def _run(self) -> None:
        while not self._stop.is_set():
            todo, detail = [self.pid], {}
            while todo:
                p = todo.pop()
                detail[p] = self._rss(p)
                todo.extend(self._children(p))
            total = sum(r for _, r, _ in detail.values())
            anon = sum(a for _, _, a in detail.values())
            if total > self.peak_kb:
                self.peak_kb, self.peak_detail = total, detail
            if anon > self.peak_anon_kb:
                self.peak_anon_kb, self.peak_anon_detail = anon, detail
            self._stop.wait(self.interval)


def run_ingest_child(repo: str | Path, db_url: str, profile: str = "") -> dict[str, Any]:
    """One full/incremental ingest in a fresh interpreter; timings, plus peak RSS of the tree."""
    cmd = [sys.executable, str(CHILD), str(repo), db_url]
    if profile:
        cmd += ["--profile", profile]
    t0 = time.perf_counter()
    # cwd outside the project, so that only an explicit pin decides where empathy comes from
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
    with TreeRssSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"ingest child failed ({proc.returncode}):\n{err}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["process_wall_s"] = total
    result["tree_peak_rss_kb"] = sampler.peak_kb
    result["tree_peak_detail"] = {str(k): v for k, v in sampler.peak_detail.items()}
    result["tree_peak_anon_kb"] = sampler.peak_anon_kb
    result["tree_peak_anon_detail"] = {str(k): v for k, v in sampler.peak_anon_detail.items()}
    return result


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def write_json(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def keyword_labeler(commits: list[Any]) -> Any:
    """The keyword rule empathy used before commit labels, as a labeller for ``load_history``.

    A baseline for the benches only: a fix word anywhere in the message unless the subject
    is typo/docs/lint/CI work (``KEYWORD_FIX_PATTERN``), never a bulk sweep.
    """
    import re

    from empathy.core.config import KEYWORD_FIX_EXCLUDE, KEYWORD_FIX_PATTERN
    from empathy.core.history.labeling import CommitLabels
    from empathy.core.labels import Kind, Label, learn_conventions

    include = re.compile(KEYWORD_FIX_PATTERN, re.IGNORECASE)
    exclude = re.compile(KEYWORD_FIX_EXCLUDE, re.IGNORECASE)
    labels = {}
    for c in commits:
        fix = not c.is_merge and not exclude.search(c.subject) and bool(include.search(c.message))
        labels[c.sha] = Label(Kind.FIX if fix else Kind.REFACTOR, fix, False, True, ("keyword rule",), "keyword")
    return CommitLabels(conventions=learn_conventions([]), labels=labels)
