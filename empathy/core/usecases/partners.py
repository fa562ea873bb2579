"""Partners: "commits that changed these files also changed X", from the co-change index.

One implementation for every surface (``empathy partners``, ``--batch``
replays, the proactive level, the change-risk signal, the gate, the editor):
the index (:mod:`empathy.core.cochange`) is fed the repository's history in
time order, bulk sweeps marked by the commit labels, and answers with a
probability, a calibrated ``warn`` and the evidence in words.  A warning is
raised only where the index's own replayed past says a suggestion that
confident was right at least 70% of the time on this repository.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import git

from empathy.core.changes import BadRevisionError
from empathy.core.cochange import CochangeIndex, Settings, Suggestion, TrackRecord
from empathy.core.cochange.gitfeed import Commit, feed, read_history, read_references

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = [
    "PartnerIndex",
    "PartnerQuery",
    "answer_batch",
    "evaluate_partners",
    "open_partner_index",
    "replay_queries",
    "save_partner_index",
]

DAY = 86_400.0
#: The protocol of the independent harness (../shared/eval/coupling_eval.py), reused by `eval --partners`.
MAX_QUERY_FILES = 30


@dataclass
class PartnerIndex:
    """A co-change index over one repository's history, fed up to a point in time."""

    index: CochangeIndex
    commits: list[Commit]
    references: dict[int, dict[str, frozenset[str]]]
    bulk: Mapping[str, bool]
    fed: int = 0
    #: where the index started learning (the cache must agree on it)
    learn_since: float = -math.inf
    #: answers already computed for the same files since the last feed (the editor asks often)
    _cache: dict[tuple[frozenset[str], int], list[Suggestion]] = field(default_factory=dict, repr=False)

    def feed_until(self, at_time: float) -> None:
        """Add every commit strictly earlier than ``at_time`` (commits at that second are not history)."""
        while self.fed < len(self.commits) and self.commits[self.fed].time < at_time:
            c = self.commits[self.fed]
            feed(self.index, c, self.references.get(self.fed), self.bulk.get(c.sha))
            self.fed += 1
            self._cache.clear()

    def feed_all(self) -> None:
        self.feed_until(math.inf)

    @property
    def latest_time(self) -> float:
        return self.commits[self.fed - 1].time if self.fed else 0.0

    def suggest(self, files: Iterable[str], at_time: float | None = None, top: int = 10) -> list[Suggestion]:
        """Files that probably also need changing with ``files``, best first (they are never among ``files``)."""
        query = frozenset(files)
        when = self.latest_time + 1 if at_time is None else at_time
        key = (query, top)
        if at_time is None and key in self._cache:
            return self._cache[key]
        got = [s for s in self.index.suggest(sorted(query), when, top=top) if s.path not in query]
        if at_time is None:
            self._cache[key] = got
        return got

    def track_record(self) -> TrackRecord:
        return self.index.track_record(self.latest_time + 1)


def _bulk_by_sha(ws: Workspace) -> dict[str, bool]:
    history = ws.history()
    return {c.sha: history.is_bulk(c) for c in history.commits if not c.is_merge}


#: The default learning window starts on this grid, so that it does not move with every new
#: commit and an index fed on from a cache equals a fresh build (:mod:`.partner_cache`).
SINCE_GRID_DAYS = 90


def open_partner_index(ws: Workspace, learn_from: float | None = None, cached: bool = False) -> PartnerIndex:
    """Read the history (not fed yet); the index replays commits from ``learn_from`` on to learn.

    Default: the last ``train_days`` (five years) before the newest commit, rounded down to a
    90-day grid, as the learned combination uses no older replays anyway. ``cached``: start
    from the index kept by an earlier process when it fits (then ``fed`` is where it stopped).
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: a second thread costs more than it buys
    commits = read_history(str(ws.repo.root))
    settings = Settings()
    latest = commits[-1].time if commits else 0.0
    if learn_from is None:
        grid = SINCE_GRID_DAYS * DAY
        since = math.floor((latest - settings.train_days * DAY) / grid) * grid
    else:
        since = learn_from - settings.train_days * DAY
    bulk = _bulk_by_sha(ws)
    if cached and learn_from is None:
        from empathy.core.usecases.partner_cache import load_fed_index

        hit = load_fed_index(ws.repo.git_dir, commits, bulk, settings, since)
        if hit is not None:
            index, fed = hit
            # the texts of the commits still to feed (the tree before them is in the index already)
            references = read_references(str(ws.repo.root), commits, fed, with_tree=False)
            return PartnerIndex(index, commits, references, bulk, fed=fed, learn_since=since)
    start = next((k for k, c in enumerate(commits) if c.time >= since), len(commits))
    references = read_references(str(ws.repo.root), commits, start)
    return PartnerIndex(CochangeIndex(settings, learn_since=since), commits, references, bulk, learn_since=since)


def save_partner_index(ws: Workspace, index: PartnerIndex) -> None:
    """Keep a fully fed default index for the next process (see :mod:`.partner_cache`)."""
    from empathy.core.usecases.partner_cache import save_fed_index

    save_fed_index(
        ws.repo.git_dir, index.index, index.commits, index.bulk, index.fed, index.index.settings, index.learn_since
    )


@dataclass(frozen=True)
class PartnerQuery:
    """One question of a replay: the files of commit ``at`` but one, as ``files``."""

    id: Any
    at: str
    files: list[str]
    hidden: str | None = None


def _commit_time(ws: Workspace, rev: str) -> tuple[str, float]:
    try:
        sha = str(ws.repo.git.rev_parse("--verify", "-q", f"{rev}^{{commit}}")).strip()
        ct = int(str(ws.repo.git.log("-1", "--format=%ct", sha)).strip())
    except (git.GitCommandError, ValueError):
        raise BadRevisionError(f"{rev!r} is not a commit in {ws.repo.root}", "give a sha, a branch or a tag") from None
    return sha, float(ct)


def answer_batch(
    ws: Workspace, queries: Sequence[PartnerQuery], top: int = 10
) -> Iterator[tuple[Any, list[Suggestion]]]:
    """Answer replay queries in one pass over the history, each from the commits strictly before its ``at``.

    Queries come back in the order given; one whose ``at`` is not a commit
    gets no suggestions (the harness counts it as unanswered).
    """
    times: dict[str, float] = {}
    for q in queries:
        if q.at not in times:
            try:
                times[q.at] = _commit_time(ws, q.at)[1]
            except BadRevisionError:
                times[q.at] = math.nan
    timed = sorted((q for q in queries if not math.isnan(times[q.at])), key=lambda q: times[q.at])
    answers: dict[int, list[Suggestion]] = {}
    if timed:
        index = open_partner_index(ws, learn_from=times[timed[0].at])
        for q in timed:
            index.feed_until(times[q.at])
            answers[id(q)] = index.suggest(q.files, times[q.at], top=top)
    for q in queries:
        yield q.id, answers.get(id(q), [])


def replay_queries(ws: Workspace, years: float = 2.0, max_queries: int = 800) -> list[PartnerQuery]:
    """The harness's protocol on this repository: each recent commit touching 2-30 files, one file hidden.

    Every non-merge commit of the last ``years`` years with 2 to 30 files
    (at most ``max_queries``, evenly spread); the hidden file is chosen by a
    hash of the sha, so the replay is reproducible.
    """
    commits = read_history(str(ws.repo.root))
    if not commits:
        return []
    start = commits[-1].time - years * 365 * DAY
    picked = [c for c in commits if c.time >= start and 2 <= len(set(c.files)) <= MAX_QUERY_FILES]
    if len(picked) > max_queries:
        step = len(picked) / max_queries
        picked = [picked[int(i * step)] for i in range(max_queries)]
    out = []
    for n, c in enumerate(picked):
        paths = sorted(set(c.files))
        hidden = paths[int(hashlib.md5(c.sha.encode()).hexdigest()[:8], 16) % len(paths)]
        out.append(PartnerQuery(n, c.sha, [p for p in paths if p != hidden], hidden))
    return out


def evaluate_partners(ws: Workspace, years: float = 2.0, max_queries: int = 800) -> dict[str, Any]:
    """Replay the last ``years`` years and measure the suggestions: recall@1/3/5, and the warnings' precision.

    The summary is stored as the repository's partner track record (kind
    ``partners``), which the hover and the gate quote.
    """
    from empathy.core.predict.records import save_record

    started = time.monotonic()
    queries = replay_queries(ws, years, max_queries)
    ranks: list[int | None] = []
    warned = warned_right = 0
    for (qid, got), q in zip(answer_batch(ws, queries), queries, strict=True):
        assert qid == q.id
        paths = [s.path for s in got]
        ranks.append(paths.index(q.hidden) if q.hidden in paths else None)
        if got and got[0].warn:
            warned += 1
            warned_right += got[0].path == q.hidden
    n = len(queries)

    def recall(k: int) -> float | None:
        return round(sum(1 for r in ranks if r is not None and r < k) / n, 4) if n else None

    summary: dict[str, Any] = {
        "queries": n,
        "years": years,
        "recall@1": recall(1),
        "recall@3": recall(3),
        "recall@5": recall(5),
        "mrr": round(sum(1 / (r + 1) for r in ranks if r is not None) / n, 4) if n else None,
        "warned": warned,
        "warn_share": round(warned / n, 4) if n else None,
        "warn_precision": round(warned_right / warned, 4) if warned else None,
        "seconds": round(time.monotonic() - started, 2),
    }
    save_record(ws.store, ws.repo_id, "partners", int(years * 365), ws.repo.head, summary)
    return summary


def index_as_of(ws: Workspace, rev: str | None) -> tuple[PartnerIndex, float | None]:
    """An index fed with the history strictly before ``rev`` (or all of it), and the time to ask at."""
    if rev is None:
        return ws.partner_index(), None  # the whole history: the one kept between processes
    _sha, at = _commit_time(ws, rev)
    index = open_partner_index(ws, learn_from=at)
    index.feed_until(at)
    return index, at
