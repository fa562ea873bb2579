"""The incremental co-change index: "you changed these files; you probably also need to change X".

Feed it commits in time order with :meth:`CochangeIndex.add`; ask it with
:meth:`CochangeIndex.suggest`.  It answers from what was added so far and
nothing else, so replaying a history and asking at each commit is an honest
measurement of what it would have said then.

The evidence: earlier commits that overlap the query (recent, closely
matching, small ones weigh most; bulk sweeps are left out), how often each
file changes at all, naming conventions among the alive paths
(:mod:`.naming`), and, when the caller passes what file texts refer to,
imports and docs references (:mod:`.references`).

How it learns, per repository, from strictly earlier data only: every commit
it is given (2 or more files, not a bulk sweep) is first *replayed* as a
query, with one of its files hidden, against the history before it; the
features of the candidates and which one was the hidden file are kept.  A
small conditional logit (:mod:`._model`) fitted on those replayed queries
combines the evidence; before enough of them exist, the weighted overlap
alone ranks.  The same replay records, for each replayed query, the
probability the current model gave its top suggestion and whether it was
right, *before* that commit was learned from; the warning threshold is the
lowest probability at which those out-of-sample top suggestions were right
at least ``Settings.warn_precision`` of the time.  So a threshold means the
same thing on every repository: "on this repository's recent past, a
suggestion this confident was right about 70% of the time".
"""

from __future__ import annotations

import bisect
import hashlib
import math
import time as _time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from empathy.core.cochange._features import FEATURES, Candidates, candidates
from empathy.core.cochange._history import DAY, History
from empathy.core.cochange._model import ChoiceModel, fit_choice_model
from empathy.core.cochange._settings import Settings

__all__ = ["CochangeIndex", "Suggestion", "TrackRecord", "hidden_file"]

Evidence = dict[str, float | int | str | bool | None]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One file that probably also needs changing.

    ``score`` is the probability (0..1) that this is a file the change is
    missing, comparable across queries; ``warn`` is true when it clears the
    repository's calibrated threshold; ``why`` says in plain words what the
    evidence is, and ``evidence`` holds the numbers behind it.
    """

    path: str
    score: float
    warn: bool
    why: str
    evidence: Evidence = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """How the warning threshold was chosen: on which replayed queries, with what precision and share."""

    threshold: float | None
    replayed: int
    precision: float | None
    share: float | None
    target: float


def hidden_file(sha: str, paths: Sequence[str]) -> str:
    """The file a replay hides from a commit: a pseudo-random but reproducible pick from its sorted paths."""
    ordered = sorted(set(paths))
    digest = hashlib.blake2b(sha.encode(), digest_size=8).digest()
    return ordered[int.from_bytes(digest, "big") % len(ordered)]


def _date(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d")


@dataclass
class _Replay:
    time: float
    X: npt.NDArray[np.float32]  # single precision: replays are the index's largest memory
    label: int


class CochangeIndex:
    """Co-change history, learned combination and calibrated warnings, updated one commit at a time.

    ``learn_since`` (unix seconds) skips replaying commits older than that:
    replay costs about one query per commit, and replayed queries older than
    ``Settings.train_days`` before a query are not used anyway.  ``learn``
    false turns replay off altogether (suggestions are then ranked by the
    weighted overlap and never warn).
    """

    def __init__(self, settings: Settings | None = None, *, learn: bool = True, learn_since: float | None = None):
        self.settings = settings or Settings()
        s = self.settings
        self._hist = History(s.rate_half_life_days * DAY, s.half_life_days * DAY)
        self._learn = learn
        self._learn_since = learn_since if learn_since is not None else -math.inf
        self._replays: list[_Replay] = []
        self._replay_times: list[float] = []
        self._model: ChoiceModel | None = None
        self._fitted_total = 0  # replays (ever) strictly before the last fit's time
        self._fitted_window = 0  # replays the last fit was trained on
        self._dropped = 0  # replays dropped as too old to train on again
        # prequential record: (time, top probability, top was right)
        self._outcomes: list[tuple[float, float, bool]] = []
        self._threshold_cache: tuple[int, float, TrackRecord] | None = None
        #: time spent fitting the combination (seconds), for benchmarks
        self.fit_seconds = 0.0
        #: how many times the combination was fitted
        self.fits = 0

    # -- feeding ------------------------------------------------------------------------------------

    def add(
        self,
        sha: str,
        time: float,
        files: Iterable[str],
        bulk: bool = False,
        renames: Mapping[str, str] | None = None,
        deleted: Iterable[str] = (),
        references: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """Add one commit, no earlier than the ones before it.

        ``files`` are the commit's paths as named *in* the commit (new names
        of renamed files, deleted files included); ``renames`` maps old to new
        names; ``deleted`` lists the paths it removed.  A ``bulk`` commit (a
        formatting sweep, a dependency-bot update...) still moves, creates and
        deletes files but is kept out of co-change evidence, and is not
        replayed.  ``references`` optionally gives, for files whose text
        this commit changed (or for any alive file, e.g. a whole tree when
        feeding starts mid-history), the dotted names the text refers to (see
        :func:`~empathy.core.cochange.references.mentioned_names`); they are
        applied after the commit's renames, creations and deletions.
        """
        if time < self._hist.latest_time:
            raise ValueError(f"commits must be added in time order: {sha} at {time} < {self._hist.latest_time}")
        paths = list(dict.fromkeys(files))
        moved = dict(renames or {})
        s = self.settings
        counts = not bulk and 0 < len(paths) <= s.max_files
        if self._learn and counts and len(paths) >= 2 and time >= self._learn_since:
            self._replay(sha, time, paths, moved)
        self._hist.record(sha, time, paths, deleted, moved, counts)
        for path, names in (references or {}).items():
            self._hist.set_references(path, names)

    def _replay(self, sha: str, time: float, paths: list[str], renames: Mapping[str, str]) -> None:
        self._maybe_refit(time)
        first = hidden_file(sha, paths)
        others = sorted(
            (p for p in set(paths) if p != first), key=lambda p: hashlib.blake2b((sha + p).encode()).digest()
        )
        for n, hidden in enumerate([first, *others][: self.settings.replays_per_commit]):
            query = [p for p in paths if p != hidden]
            before = {new: old for old, new in renames.items()}.get(hidden, hidden)
            target = self._hist.ids.get(before)
            cands = candidates(self._hist, query, time, self.settings)
            label = cands.ids.index(target) if target is not None and target in cands.ids else -1
            if n == 0 and self._model is not None and cands.ids:
                p = self._model.probabilities(cands.X)
                best = int(np.argmax(p))
                self._outcomes.append((time, float(p[best]), best == label))
            self._replays.append(_Replay(time, cands.X.astype(np.float32), label))
            self._replay_times.append(time)

    def _maybe_refit(self, now: float) -> None:
        """Refit on the replays strictly before ``now`` (within ``train_days``) once they grew enough.

        Replays too old to be trained on again are dropped (time only moves
        forward), which bounds the memory to ``train_days`` of replays.
        """
        s = self.settings
        usable = bisect.bisect_left(self._replay_times, now)
        lo = bisect.bisect_left(self._replay_times, now - s.train_days * DAY)
        window = usable - lo
        if window < s.min_train_queries:
            return
        total = self._dropped + usable
        if self._model is not None and total - self._fitted_total < s.refit_growth * self._fitted_window:
            return
        data = [(r.X, r.label) for r in self._replays[lo:usable]]
        if sum(1 for _, y in data if y >= 0) < s.min_train_queries // 2:
            return
        started = _time.perf_counter()
        self._model = fit_choice_model(data, l2=s.l2, start=self._model)
        self.fit_seconds += _time.perf_counter() - started
        self.fits += 1
        self._fitted_total, self._fitted_window = total, window
        del self._replays[:lo], self._replay_times[:lo]
        self._dropped += lo

    # -- asking -------------------------------------------------------------------------------------

    @property
    def commits(self) -> int:
        """Commits holding co-change evidence (bulk and oversized ones excluded)."""
        return self._hist.n_commits

    @property
    def replayed(self) -> int:
        """Commits replayed as queries so far (the learning set)."""
        return self._dropped + len(self._replays)

    def alive(self, path: str) -> bool:
        """True when ``path`` names a file that exists as of the latest added commit."""
        i = self._hist.ids.get(path)
        return i is not None and self._hist.alive[i]

    def track_record(self, at_time: float | None = None) -> TrackRecord:
        """The warning threshold as of ``at_time`` and the replayed evidence it rests on."""
        now = self._hist.latest_time + 1 if at_time is None else at_time
        s = self.settings
        key = (len(self._outcomes), now)
        if self._threshold_cache is not None and self._threshold_cache[:2] == key:
            return self._threshold_cache[2]
        lo = now - s.calibration_days * DAY
        recent = [(p, ok) for t, p, ok in self._outcomes if lo <= t < now]
        record = TrackRecord(None, len(recent), None, None, s.warn_precision)
        if recent:
            recent.sort(key=lambda x: -x[0])
            hits = np.cumsum([ok for _, ok in recent])
            n = np.arange(1, len(recent) + 1)
            prec = hits / n
            z = s.warn_confidence
            # Wilson lower bound of the precision above each threshold (z = 0: the precision itself)
            spread = z * np.sqrt(prec * (1 - prec) / n + z * z / (4 * n * n))
            lower = (prec + z * z / (2 * n) - spread) / (1 + z * z / n)
            good = np.nonzero((lower >= s.warn_precision) & (n >= s.warn_min_support))[0]
            if good.shape[0]:
                k = int(good[-1])
                record = TrackRecord(recent[k][0], len(recent), float(prec[k]), (k + 1) / len(recent), s.warn_precision)
        self._threshold_cache = (key[0], key[1], record)
        return record

    def suggest(self, query_files: Iterable[str], at_time: float, top: int = 10) -> list[Suggestion]:
        """The files most likely missing from a change to ``query_files`` at ``at_time``, best first.

        Uses only what was added so far.  Query files the index never saw are
        fine (they contribute by name and name template only); an empty or
        entirely unknown query can return an empty list.
        """
        query = list(dict.fromkeys(query_files))
        if not query or top <= 0:
            return []
        cands = candidates(self._hist, query, at_time, self.settings)
        if not cands.ids:
            return []
        if self._learn:
            self._maybe_refit(at_time)
        model = self._model
        learned = model is not None
        scores = model.probabilities(cands.X) if model is not None else cands.overlap
        order = np.lexsort((np.array([self._hist.names[y] for y in cands.ids]), -scores))
        if model is None:
            # without a learned combination only direct evidence ranks: a co-change or a naming link
            order = np.array([c for c in order if scores[c] > 0 or cands.structure[c] is not None], dtype=np.int64)
        order = order[:top]
        record = self.track_record(at_time) if learned else None
        threshold = record.threshold if record is not None else None
        out: list[Suggestion] = []
        for c in order:
            c = int(c)
            score = float(min(1.0, max(0.0, scores[c])))
            warn = threshold is not None and score >= threshold
            why, evidence = self._explain(cands, c, at_time, score, learned)
            evidence["warn_threshold"] = threshold
            out.append(Suggestion(self._hist.names[cands.ids[c]], round(score, 4), warn, why, evidence))
        return out

    # -- explaining ---------------------------------------------------------------------------------

    def _explain(self, cands: Candidates, c: int, t: float, score: float, learned: bool) -> tuple[str, Evidence]:
        hist = self._hist
        y = cands.ids[c]
        row = dict(zip(FEATURES, cands.X[c].tolist(), strict=True))
        evidence: Evidence = {
            "score": round(score, 4),
            "ranked_by": "learned combination" if learned else "weighted overlap",
            "overlap_share": round(float(cands.overlap[c]), 4),
        }
        reasons: list[str] = []
        x = cands.partner[c]
        if x >= 0:
            px, py = hist.postings[x], set(hist.postings[y])
            shared = [k for k in px if k in py]
            recent = px[-10:]
            in_recent = sum(1 for k in recent if k in py)
            last = shared[-1] if shared else None
            evidence.update(
                partner=hist.names[x],
                together=len(shared),
                partner_commits=len(px),
                together_in_partner_last=in_recent,
                partner_last=len(recent),
            )
            if last is not None:
                evidence.update(last_together_sha=hist.shas[last], last_together_date=_date(hist.time_of(last)))
                reasons.append(
                    f"changed together in {in_recent} of the last {len(recent)} commits that changed "
                    f"{hist.names[x]} ({len(shared)} of {len(px)} overall), last {_date(hist.time_of(last))} "
                    f"in {hist.shas[last][:7]}"
                )
        struct = cands.structure[c]
        if struct is not None:
            kind, qpath = struct
            evidence.update(structure=kind, structure_of=qpath)
            reasons.append(
                {
                    "test": f"test module of {qpath} by naming convention",
                    "tested": f"the module {qpath} tests, by naming convention",
                    "package": f"the package __init__.py of {qpath}",
                    "doc": f"docs page named after {qpath}",
                }[kind]
            )
        mine = hist.refs.get(y, frozenset())
        uses = [hist.names[x] for x in cands.query_ids if x in mine]
        used_by = [hist.names[x] for x in cands.query_ids if y in hist.refs.get(x, frozenset())]
        if uses:
            evidence["refers_to"] = uses[0]
            reasons.append(f"imports or names {uses[0]}" + (f" and {len(uses) - 1} more" if len(uses) > 1 else ""))
        if used_by:
            evidence["referred_by"] = used_by[0]
            reasons.append(
                f"imported or named by {used_by[0]}" + (f" and {len(used_by) - 1} more" if len(used_by) > 1 else "")
            )
        rate = math.exp(row["log_rate"]) - 1e-4
        evidence["recent_change_rate"] = round(max(0.0, rate), 4)
        if rate >= 0.05:
            reasons.append(f"changes in {rate:.0%} of recent commits")
        if not reasons and row["name_similarity"] > 0:
            evidence["name_similarity"] = round(row["name_similarity"], 3)
            reasons.append("shares rare path words with the changed files")
        if not reasons:
            reasons.append("weak evidence only")
        what = f"p={score:.2f}: " + "; ".join(reasons)
        return what, evidence
