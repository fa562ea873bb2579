"""Which merge brought each commit in: the commits of a pull request.

Why: a pull request records its changelog fragment once, usually in one of
its commits; the other commits of the same request share its purpose.  The
commits of a merge M's request are those reachable from M's second parent but
not from its first.  Walking first-parent chains from the tip, oldest first,
and claiming every commit as it is reached gives each commit its innermost
merge in one pass over the history (no per-merge ancestry walk), because
when a chain reaches M everything reachable from M's first parent is already
claimed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from empathy.core.labels._facts import CommitFacts

__all__ = ["merge_sides"]


def merge_sides(commits: Sequence[CommitFacts], known: Iterable[str] = ()) -> dict[str, str]:
    """Map each commit brought in by a merge to that merge's sha (the innermost one).

    Commits on the main first-parent line of a tip are not in the map.
    ``known`` are shas already processed earlier (incremental use): they count
    as reachable from every first parent, so they are never claimed again.
    """
    by_sha = {c.sha: c for c in commits}
    referenced: set[str] = set()
    for c in commits:
        referenced.update(c.parents)
    tips = [c.sha for c in commits if c.sha not in referenced]
    claimed: set[str] = set(known)
    owner: dict[str, str] = {}

    def chain(start: str) -> list[str]:
        """The first-parent line from ``start`` down to the first claimed or unknown commit, oldest first."""
        line: list[str] = []
        sha: str | None = start
        while sha is not None and sha in by_sha and sha not in claimed:
            line.append(sha)
            parents = by_sha[sha].parents
            sha = parents[0] if parents else None
        line.reverse()
        return line

    for tip in reversed(tips):  # the last commit given is the newest tip (HEAD): its line is the main line
        stack: list[tuple[list[str], int, str | None]] = [(chain(tip), 0, None)]
        while stack:
            line, i, merge = stack.pop()
            if i >= len(line):
                continue
            sha = line[i]
            stack.append((line, i + 1, merge))
            if sha in claimed:
                continue
            claimed.add(sha)
            if merge is not None:
                owner[sha] = merge
            for parent in reversed(by_sha[sha].parents[1:]):
                if parent in by_sha and parent not in claimed:
                    stack.append((chain(parent), 0, sha))
    return owner
