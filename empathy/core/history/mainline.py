"""HEAD's first-parent commits by commit time: which commit was "the code" at a given time.

The complexity miner reads each file's state at points in time, and the visual report draws
the same trend; both ask this one question the same way.
"""

from __future__ import annotations

import bisect

from empathy.core.repo import RepoInfo

__all__ = ["Mainline"]


class Mainline:
    """The first-parent history of HEAD, searchable by time."""

    def __init__(self, repo: RepoInfo) -> None:
        listing = str(repo.git.log("--first-parent", "--format=%ct %H", repo.head))
        pairs = sorted((int(ct), sha) for ct, sha in (line.split() for line in listing.splitlines() if line.strip()))
        self.times = [t for t, _ in pairs]
        self.shas = [sha for _, sha in pairs]

    def at(self, when: int) -> str | None:
        """The newest mainline commit at or before ``when`` (None before the first)."""
        i = bisect.bisect_right(self.times, when)
        return self.shas[i - 1] if i else None
