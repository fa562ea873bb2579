"""The co-change history as the index keeps it: file entities, commits, postings, decayed rates.

Why this shape: a query needs, for each file it names, the commits that
touched that file (postings), and for each of those commits the other files
(a compressed row store that only ever grows at the end).  Both are appended
to in time order, so adding a commit costs O(files in it) and nothing is ever
rebuilt.  Files are *entities* rather than paths so a rename keeps the
history: the entity follows the rename and is known by its newest name.

Per-file rates (how often a file changes at all, lately) are exponentially
decayed counters, kept as (value, time of last update) and decayed on read,
so they cost O(1) per commit and need no window bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from empathy.core.cochange.naming import NameIndex, name_template
from empathy.core.cochange.references import module_name, name_prefixes

__all__ = ["DAY", "Decayed", "History"]

DAY = 86400.0


@dataclass(slots=True)
class Decayed:
    """A count that halves every ``half_life`` seconds: value and the time it was last brought up to date."""

    half_life: float
    value: float = 0.0
    at: float = 0.0

    def read(self, t: float) -> float:
        """The count as of time ``t`` (never in the past of the last update)."""
        if self.value == 0.0:
            return 0.0
        return float(self.value * 0.5 ** (max(0.0, t - self.at) / self.half_life))

    def bump(self, t: float, amount: float = 1.0) -> None:
        """Decay to ``t`` and add ``amount``."""
        self.value = self.read(t) + amount
        self.at = max(self.at, t)


_A = TypeVar("_A", bound=np.generic)


def _grow(arr: npt.NDArray[_A], need: int) -> npt.NDArray[_A]:
    if need <= arr.shape[0]:
        return arr
    out = np.empty(max(need, 2 * arr.shape[0]), dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@dataclass
class History:
    """Entities, commits and postings, appended to in time order.

    ``rate_half_life`` is the half-life (seconds) of the per-file change rate
    and ``pair_half_life`` that of the decayed counts used for pairwise
    confidence; see :class:`~empathy.core.cochange.index.Settings`.
    """

    rate_half_life: float
    pair_half_life: float
    # entities
    ids: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    postings: list[list[int]] = field(default_factory=list)
    rate: list[Decayed] = field(default_factory=list)
    pair_count: list[Decayed] = field(default_factory=list)
    last_time: list[float] = field(default_factory=list)
    dir_id: list[int] = field(default_factory=list)
    _dirs: dict[str, int] = field(default_factory=dict)
    # commits that count for co-change (not bulk, not oversized)
    shas: list[str] = field(default_factory=list)
    _times: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(1024, dtype=np.float64))
    _ptr: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(1024, dtype=np.int32))
    _files: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(4096, dtype=np.int32))
    _n_files: int = 0
    templates: dict[str, list[int]] = field(default_factory=dict)
    commits_total: Decayed = field(init=False)
    pair_total: Decayed = field(init=False)
    #: commits that created a file of a name template seen before (a new changelog fragment...)
    templated_new: Decayed = field(init=False)
    names_alive: NameIndex = field(default_factory=NameIndex)
    #: alive Python modules by dotted name, and what each file's text refers to (entities)
    modules: dict[str, int] = field(default_factory=dict)
    refs: dict[int, frozenset[int]] = field(default_factory=dict)
    referenced_by: dict[int, set[int]] = field(default_factory=dict)
    latest_time: float = float("-inf")

    def __post_init__(self) -> None:
        self.commits_total = Decayed(self.rate_half_life)
        self.pair_total = Decayed(self.pair_half_life)
        self.templated_new = Decayed(self.rate_half_life)

    # -- entities -------------------------------------------------------------------------------

    def entity(self, path: str) -> int:
        """The entity currently named ``path``, created (not yet alive) when new."""
        i = self.ids.get(path)
        if i is None:
            i = len(self.names)
            self.ids[path] = i
            self.names.append(path)
            self.alive.append(False)
            self.postings.append([])
            self.rate.append(Decayed(self.rate_half_life))
            self.pair_count.append(Decayed(self.pair_half_life))
            self.last_time.append(float("-inf"))
            self.dir_id.append(self._dir(path))
        return i

    def _dir(self, path: str) -> int:
        d = path.rsplit("/", 1)[0] if "/" in path else ""
        return self._dirs.setdefault(d, len(self._dirs))

    def _set_alive(self, i: int, alive: bool) -> None:
        path = self.names[i]
        mod = module_name(path)
        if alive:
            self.names_alive.add(path)
            if mod is not None:
                self.modules[mod] = i
        else:
            self.names_alive.discard(path)
            if mod is not None and self.modules.get(mod) == i:
                del self.modules[mod]
        self.alive[i] = alive

    def set_references(self, path: str, names: Iterable[str]) -> None:
        """Record the dotted names a file's current text refers to, resolved to the modules alive now.

        A name resolves to its longest prefix that is an alive module
        (``pkg.http.Request`` -> ``pkg/http/__init__.py``).  Unknown paths are ignored.
        """
        i = self.ids.get(path)
        if i is None:
            return
        resolved: set[int] = set()
        for name in names:
            for prefix in name_prefixes(name):
                j = self.modules.get(prefix)
                if j is not None:
                    if j != i:
                        resolved.add(j)
                    break
        for j in self.refs.get(i, frozenset()):
            self.referenced_by.get(j, set()).discard(i)
        self.refs[i] = frozenset(resolved)
        for j in resolved:
            self.referenced_by.setdefault(j, set()).add(i)

    def rename(self, old: str, new: str) -> None:
        """Move the entity named ``old`` to ``new`` (its history goes with it)."""
        i = self.ids.get(old)
        if i is None or old == new:
            return
        was_alive = self.alive[i]
        self._set_alive(i, False)
        del self.ids[old]
        displaced = self.ids.get(new)
        if displaced is not None and displaced != i:
            self._set_alive(displaced, False)
        self.ids[new] = i
        self.names[i] = new
        self.dir_id[i] = self._dir(new)
        if was_alive:
            self._set_alive(i, True)

    def record(
        self,
        sha: str,
        time: float,
        files: Iterable[str],
        deleted: Iterable[str],
        renames: Mapping[str, str],
        counts: bool,
    ) -> list[int]:
        """Apply one commit: renames, deletions, creations; when ``counts``, add it to the co-change history.

        Returns the commit's entities (sorted, distinct).
        """
        for old, new in renames.items():
            self.rename(old, new)
        files = list(files)
        gone = set(deleted)
        ids: set[int] = set()
        fresh: list[str] = []
        for path in files:
            if path not in self.ids:
                fresh.append(path)
            i = self.entity(path)
            ids.add(i)
            if path in gone:
                if self.alive[i]:
                    self._set_alive(i, False)
            elif not self.alive[i]:
                self._set_alive(i, True)
        for path in gone:
            j = self.ids.get(path)
            if j is not None and self.alive[j]:
                self._set_alive(j, False)
        self.latest_time = max(self.latest_time, time)
        ordered = sorted(ids)
        if counts and ordered:
            if any(name_template(p) in self.templates for p in fresh if name_template(p) != p):
                self.templated_new.bump(time)
            self._append(sha, time, ordered, files)
        return ordered

    def _append(self, sha: str, time: float, ordered: list[int], paths: Iterable[str]) -> None:
        k = len(self.shas)
        self.shas.append(sha)
        self._times = _grow(self._times, k + 1)
        self._times[k] = time
        self._ptr = _grow(self._ptr, k + 2)
        start = int(self._ptr[k])
        self._files = _grow(self._files, start + len(ordered))
        self._files[start : start + len(ordered)] = ordered
        self._ptr[k + 1] = start + len(ordered)
        self._n_files = start + len(ordered)
        self.commits_total.bump(time)
        self.pair_total.bump(time)
        for i in ordered:
            self.postings[i].append(k)
            self.rate[i].bump(time)
            self.pair_count[i].bump(time)
            self.last_time[i] = time
        for path in set(paths):
            tpl = name_template(path)
            if tpl != path:
                self.templates.setdefault(tpl, []).append(k)

    # -- reading ----------------------------------------------------------------------------------

    @property
    def n_commits(self) -> int:
        """Commits in the co-change history."""
        return len(self.shas)

    def commit_files(self, k: int) -> npt.NDArray[np.int32]:
        """The entities of co-change commit ``k``."""
        return self._files[int(self._ptr[k]) : int(self._ptr[k + 1])]

    def rows(self, commits: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """The files of several commits at once: (entity per cell, position in ``commits`` per cell)."""
        starts = self._ptr[commits].astype(np.int64)
        lens = self._ptr[commits + 1].astype(np.int64) - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        which = np.repeat(np.arange(commits.shape[0], dtype=np.int64), lens)
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
        return self._files[starts[which] + offsets], which

    def sizes(self, commits: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Number of files of each commit."""
        return (self._ptr[commits + 1] - self._ptr[commits]).astype(np.int64)

    def times_of(self, commits: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Commit times (unix seconds)."""
        return self._times[commits]

    def time_of(self, k: int) -> float:
        """The time of co-change commit ``k``."""
        return float(self._times[k])
