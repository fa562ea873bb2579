"""The facts a commit label is judged from.

Why these and no more: they are exactly what the store keeps for every commit
(sha, parents, author, message; per file the path, the rename source and the
numstat counts) plus one bit the ingest can derive while it follows renames,
whether a file appears for the first time.  Labels that need nothing else can
be recomputed from the store at any time, without touching git again.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommitFacts", "FileChange"]


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file a commit touches.

    ``added``/``deleted`` are numstat line counts, None for binary files.
    ``new`` is true when the file appears for the first time in this commit
    (a created file, not one renamed from ``old_path``).
    """

    path: str
    added: int | None = 0
    deleted: int | None = 0
    new: bool = False
    old_path: str | None = None

    @property
    def churn(self) -> int:
        """Changed lines (binary files count as one, so they are not invisible)."""
        if self.added is None or self.deleted is None:
            return 1
        return self.added + self.deleted


@dataclass(frozen=True, slots=True)
class CommitFacts:
    """A commit as the store knows it; a merge has several parents and no files."""

    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    message: str
    files: tuple[FileChange, ...] = ()

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        """The first line of the message, stripped."""
        return self.message.split("\n", 1)[0].strip()
