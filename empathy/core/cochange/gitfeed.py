"""Feeding a :class:`CochangeIndex` from a git repository: one ``git log``, one ``git cat-file --batch``.

Why git and not the store: the index wants each commit's name-status
(renames, deletions) and, for files whose text may refer to others, the blob
to read imports from; the store keeps numstat only.  Reading them costs one
``git log --raw`` (under a second on pytest's 17,666 commits) and one
``git cat-file --batch`` over the replay window's texts.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field

from empathy.core.cochange.bulk import looks_like_bulk
from empathy.core.cochange.index import CochangeIndex
from empathy.core.cochange.references import MAX_TEXT, mentioned_names, reads_references

__all__ = ["Commit", "feed", "read_history", "read_references"]


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


def _path(raw: bytes) -> str:
    """A path as the store spells it (ingest reads ``-z`` output the same way): never git-quoted."""
    return raw.decode("utf-8", errors="backslashreplace")


def read_history(repo: str) -> list[Commit]:
    """All non-merge commits, oldest first (stable-sorted by commit time), with their raw name-status.

    Read with ``-z``: without it git quotes a path with a space, a quote, a control or a
    non-ASCII character (``"odd dir/\\303\\251.py"``), which then matched no file of the store.
    """
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
            "-z",
            "--format=%x01%H%x1f%ct%x1f%s",
        ],
        capture_output=True,
        check=True,
    ).stdout
    commits: list[Commit] = []
    tokens = raw.split(b"\x00")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        i += 1
        if token.startswith(b"\x01"):
            sha, ct, subject = token[1:].decode("utf-8", errors="backslashreplace").split("\x1f", 2)
            commits.append(Commit(sha, float(ct), subject, [], {}, set(), {}))
            continue
        if not token.startswith(b":") or not commits:
            continue
        meta = token.decode("ascii", errors="replace").split()
        status = meta[-1][:1]
        commit = commits[-1]
        if status in ("R", "C"):
            old, new = _path(tokens[i]), _path(tokens[i + 1])
            i += 2
            if status == "R":
                commit.renames[old] = new
            commit.files.append(new)
            path = new
        else:
            path = _path(tokens[i])
            i += 1
            commit.files.append(path)
            if status == "D":
                commit.deleted.add(path)
        if status != "D" and reads_references(path):
            commit.blobs[path] = meta[3]
    commits.sort(key=lambda c: c.time)
    return commits


def read_references(
    repo: str, commits: list[Commit], start: int, with_tree: bool = True
) -> dict[int, dict[str, frozenset[str]]]:
    """What the texts fed from ``commits[start]`` on refer to: {commit position: {path: names}}.

    The first fed commit also carries the whole tree as of the commit before
    it (unless ``with_tree`` is False: an index restored from a cache has it), so the
    index starts with every file's references; after that each commit carries the
    files it changed.  All blobs come from one ``git cat-file --batch``.
    """
    if start >= len(commits):
        return {}
    wanted: dict[int, dict[str, str]] = {}
    if start > 0 and with_tree:
        tree = subprocess.run(
            ["git", "-C", repo, "ls-tree", "-r", "-z", "--full-tree", commits[start - 1].sha],
            capture_output=True,
            check=True,
        ).stdout
        first: dict[str, str] = {}
        for entry in tree.split(b"\x00"):
            meta_raw, _, path_raw = entry.partition(b"\t")
            path = _path(path_raw)
            kind_sha = meta_raw.decode("ascii", errors="replace").split()
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


def feed(
    index: CochangeIndex, c: Commit, references: dict[str, frozenset[str]] | None = None, bulk: bool | None = None
) -> None:
    """Add one commit; a sweep by the commit labels (``bulk``) or by its subject and size is no co-change evidence."""
    index.add(
        c.sha,
        c.time,
        c.files,
        bulk=bool(bulk) or looks_like_bulk(c.subject, len(c.files)),
        renames=c.renames,
        deleted=c.deleted,
        references=references,
    )
