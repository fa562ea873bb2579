"""Read file contents from git in bulk (one ``git cat-file --batch`` process).

Used for LOC at HEAD, complexity at HEAD and complexity across revisions;
works in bare repositories and never touches the work tree.
"""

from __future__ import annotations

import git

__all__ = ["BlobReader", "count_loc", "indentation_complexity", "looks_binary"]

MAX_BLOB_BYTES = 2_000_000  # larger files are generated or vendored; skip them


def looks_binary(data: bytes) -> bool:
    return b"\0" in data[:8000]


def count_loc(text: str) -> int:
    """Non-blank lines."""
    return sum(1 for line in text.splitlines() if line.strip())


def indentation_complexity(text: str, tab_width: int = 4) -> int:
    """Sum of indentation levels of non-blank lines (Hindle et al. 2008).

    A language-neutral proxy for nesting that costs a single pass; the
    indentation unit is the smallest non-zero indent in the file.
    """
    indents: list[int] = []
    for line in text.splitlines():
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        prefix = line[: len(line) - len(stripped)]
        indents.append(len(prefix.expandtabs(tab_width)))
    unit = min((i for i in indents if i > 0), default=tab_width) or tab_width
    return sum(i // unit for i in indents)


class BlobReader:
    """``read(rev, path)`` returns text or None (missing, binary or too large)."""

    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo

    def read_bytes(self, rev: str, path: str) -> bytes | None:
        try:
            _sha, kind, size, data = self.repo.git.get_object_data(f"{rev}:{path}")
        except (ValueError, git.GitCommandError, OSError):
            return None
        if kind not in (b"blob", "blob"):
            return None
        if size > MAX_BLOB_BYTES:
            return None
        raw: bytes = data
        return raw

    def read(self, rev: str, path: str) -> str | None:
        raw = self.read_bytes(rev, path)
        if raw is None or looks_binary(raw):
            return None
        return raw.decode("utf-8", errors="replace")
