"""What one file's history says, in the terms advice and explanations use.

The test module that changes with a file, its most frequent partner, its last
fix, who else works on it: each is a count over the file's recent deliberate
commits (bulk sweeps and merges left out), so a formatter run makes neither a
partner nor a "last fix".  The level plugins name these in their actions and
``explain`` shows them, so the advice a finding gives is one command away
from its evidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from empathy.core.cochange.naming import is_test_path
from empathy.core.history.view import CommitInfo, History

__all__ = ["FileFacts", "HistoryFacts"]

#: Commits considered for partners and tests: the recent past says more about today's coupling.
RECENT_COMMITS = 200


@dataclass(frozen=True)
class FileFacts:
    """What one file's history says, for advice."""

    path: str
    commits: int
    #: (path, commits together) of the non-test files changed with it most often (at least twice), top 3
    partners: list[tuple[str, int]]
    #: (path, commits together) of the test file changed with it most often
    test: tuple[str, int] | None
    last_fix: CommitInfo | None
    last_change: CommitInfo | None
    #: whether the last change also changed a test file
    last_change_tested: bool
    #: (author, commits) of everyone but the main developer, most active first
    other_authors: list[tuple[str, int]]

    @property
    def partner(self) -> tuple[str, int] | None:
        """The non-test file changed with it most often."""
        return self.partners[0] if self.partners else None


class HistoryFacts:
    """Per-file facts computed lazily from one history (one pass per asked file)."""

    def __init__(self, history: History | None) -> None:
        self._history = history
        self._ids: dict[str, int] = {}
        #: alive file id -> its current name (a partner is named as it is called today)
        self._names: dict[int, str] = {}
        if history is not None:
            self._names = {f.id: f.path for f in history.files.values() if f.alive}
            self._ids = {path: fid for fid, path in self._names.items()}
        self._cache: dict[tuple[str, str], FileFacts | None] = {}

    def of(self, path: str, main_developer: str = "") -> FileFacts | None:
        key = (path, main_developer)
        if key not in self._cache:
            self._cache[key] = self._compute(path, main_developer)
        return self._cache[key]

    def _compute(self, path: str, main_developer: str) -> FileFacts | None:
        history = self._history
        fid = self._ids.get(path)
        if history is None or fid is None:
            return None
        pairs = [(c, t) for c, t in history.deliberate_touches_by_file.get(fid, []) if not c.is_merge]
        if not pairs:
            return None
        pairs.sort(key=lambda ct: ct[0].committed_at)
        recent = [c for c, _ in pairs[-RECENT_COMMITS:]]
        partners: Counter[str] = Counter()
        tests: Counter[str] = Counter()
        names = self._names
        for c in recent:
            seen = {names[t.file_id] for t in c.touches if t.file_id != fid and t.file_id in names}
            for other in seen:
                (tests if is_test_path(other) else partners)[other] += 1
        fixes = [c for c, _ in pairs if history.is_fix(c)]
        last = pairs[-1][0]
        authors = Counter(c.author for c, _ in pairs if c.author != main_developer)
        return FileFacts(
            path=path,
            commits=len(recent),
            partners=_top(partners, 3),
            test=_named_test(path, tests) or next(iter(_top(tests, 1)), None),
            last_fix=fixes[-1] if fixes else None,
            last_change=last,
            last_change_tested=any(is_test_path(t.path) for t in last.touches),
            other_authors=authors.most_common(3),
        )


def _top(counts: Counter[str], k: int) -> list[tuple[str, int]]:
    """The ``k`` most frequent companions seen at least twice (once is a coincidence, not a habit)."""
    # Ties go to the shorter path (the module over a deeply nested namesake), then by name: stable output.
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    return [(path, n) for path, n in ranked[:k] if n >= 2]


def _named_test(path: str, tests: Counter[str]) -> tuple[str, int] | None:
    """The test module named after the file (``test_<stem>.py``), when it changed with it at least twice.

    A repository's naming convention is stronger evidence of where a test belongs than a
    slightly higher count for a catch-all module.
    """
    stem = path.rsplit("/", 1)[-1].removesuffix(".py").lstrip("_")
    named = [(t, n) for t, n in tests.items() if t.rsplit("/", 1)[-1] in (f"test_{stem}.py", f"{stem}_test.py")]
    named = [tn for tn in named if tn[1] >= 2]
    return max(named, key=lambda tn: (tn[1], -len(tn[0]))) if named else None
