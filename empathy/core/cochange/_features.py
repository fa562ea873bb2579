"""Candidates for "what else changes" and the evidence numbers behind each.

Evolutionary evidence first: every earlier commit that shares files with the
query votes for its other files with a weight

    w_T = 0.5 ** (age / half-life) * (overlap(T, Q) / |Q|) ** 3 / |T|

(recent, closely matching, small commits count most), where the overlap is
weighted by how *specific* each query file is (a file that changes in every
commit, such as a changelog, says little about which commit this is).  The
score of a candidate is its share of the total vote, so it reads as "how many
of the commits like this one also changed y".  Several variants of that vote
(other half-lives, other overlap powers), pairwise confidences and lifts, how
often and how lately the file changes at all, and naming-convention links
are returned side by side; a combination learned on this repository's own
past decides how much each is worth (see :mod:`._model`).

Everything is vectorised over the commits that overlap the query, so a query
costs a few milliseconds even on files with thousands of commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from empathy.core.cochange._history import DAY, History
from empathy.core.cochange._settings import Settings
from empathy.core.cochange.naming import is_doc_path, is_test_path, name_template

__all__ = ["FEATURES", "Candidates", "candidates", "path_kind"]

_KINDS = ("test", "source", "doc", "other")
_BASE_FEATURES = (
    "log_overlap",  # the weighted-overlap vote (idf overlap ** 3 / size, 2-year half-life)
    "log_overlap_plain",  # the same with every query file counted alike
    "log_overlap_recent",  # 30-day half-life
    "log_overlap_session",  # 2-day half-life: the change in progress
    "log_overlap_long",  # 8-year half-life
    "log_overlap_activity",  # half-life counted in commits, not days
    "log_overlap_linear",  # overlap ** 1
    "log_overlap_strict",  # overlap ** 5
    "log_confidence",  # max over query files x of P(y | x), decayed
    "confidence_sum",  # mean over query files of P(y | x)
    "partners",  # share of query files y ever changed with
    "log_together",  # commits shared with the query files
    "log_days_since_together",
    "best_overlap",  # largest share of the query one earlier commit with y covered
    "best_jaccard",  # the closest earlier commit's Jaccard similarity to query + y
    "log_near_copies",  # decayed count of earlier commits nearly identical to query + y
    "lift_sum",  # sum over query files of log lift (naive-Bayes style AND)
    "lift_max",
    "reverse_confidence",  # max over x of P(x | y)
    "log_folder_overlap",  # the vote gathered by y's folder
    "last_commit_share",  # share of query files whose latest commit also changed y
    "in_latest_commit",  # y was in the latest commit touching any query file
    "log_rate",  # how often y changes at all, lately (its prior)
    "log_days_since_changed",
    "log_commits_since_changed",
    "test_convention",  # naming-convention strength of a module <-> test link
    "package_init",  # y is the __init__.py of a query module's package
    "doc_named",  # y is a docs page named after a query module
    "refers_to_query",  # y's text imports / names a query module (share of the query files)
    "referred_by_query",  # a query file's text imports / names y
    "name_similarity",  # rare path words shared with a query file
    "log_name_similarity",
    "same_folder",
    "co_changed",  # y changed with some query file at all
    "log_query_size",
    "unseen_share",  # share of the query files the index never saw
    "missing_new_file",  # how often commits add a file of a recurring name template, when the query has none
)
FEATURES: tuple[str, ...] = (
    _BASE_FEATURES
    + tuple(f"kind_{a}_query_has_{b}" for a in _KINDS for b in _KINDS)
    + tuple(f"kind_{a}" for a in _KINDS)
)
_EPS = 1e-3
_OVERLAPS = tuple(f for f in _BASE_FEATURES if f.startswith("log_overlap"))


def path_kind(path: str) -> int:
    """0 test, 1 Python source, 2 documentation, 3 anything else (config, data...)."""
    if is_test_path(path):
        return 0
    if path.endswith(".py"):
        return 1
    if is_doc_path(path):
        return 2
    return 3


@dataclass(slots=True)
class Candidates:
    """The candidates of one query and their feature rows (one row per candidate, columns :data:`FEATURES`)."""

    ids: list[int]
    X: npt.NDArray[np.float64]
    #: the raw weighted-overlap share (0..1) per candidate, the ranking used before a model exists
    overlap: npt.NDArray[np.float64]
    #: per candidate, the query file (entity) it co-changed with most confidently, or -1
    partner: list[int]
    #: per candidate, the naming-convention link that brought it in, if any: (kind, query path)
    structure: list[tuple[str, str] | None]
    query_ids: list[int]


def _idf_weights(hist: History, ids: Sequence[int], t: float) -> npt.NDArray[np.float64]:
    total = hist.commits_total.read(t)
    return np.array([math.log(1.0 + total / (_EPS + hist.rate[x].read(t))) for x in ids], dtype=np.float64)


def _name_similarity(hist: History, a: frozenset[str], b: frozenset[str], n_alive: int) -> float:
    if not a or not b:
        return 0.0
    names = hist.names_alive

    def idf(w: str) -> float:
        return math.log(1.0 + n_alive / (1.0 + names.word_rarity(w)))

    inter = math.fsum(idf(w) for w in a & b)  # fsum: the same bits whatever the set order
    if inter == 0.0:
        return 0.0
    return inter / math.fsum(idf(w) for w in a | b)


@dataclass(slots=True)
class _Query:
    paths: list[str]
    known: list[int]  # entities of the query files the index knows, in query order
    posts: list[npt.NDArray[np.int64]]  # their co-change commits
    templates: list[list[int]]  # commits of the name templates of never-seen query files
    is_query: npt.NDArray[np.bool_]  # per entity
    idf: npt.NDArray[np.float64]  # how specific each known query file is
    weight: float  # the query's total (idf) weight
    n_known: int  # max(1, len(known))


@dataclass(slots=True)
class _Vote:
    """The overlapping commits and what they say about every file they touch (the co-changed set U)."""

    commits: npt.NDArray[np.int64]
    decay: npt.NDArray[np.float64]
    cell_file: npt.NDArray[np.int32]  # (file, commit position) cells, query files left out
    cell_commit: npt.NDArray[np.int64]
    files: npt.NDArray[np.int64]  # U, sorted
    scores: dict[str, npt.NDArray[np.float64]]


_COL = {f: j for j, f in enumerate(FEATURES)}
_LINKS = {"test": 0, "tested": 0, "package": 1, "doc": 2}


def _query(hist: History, query: Sequence[str], t: float, s: Settings) -> _Query:
    paths = list(dict.fromkeys(query))
    known: list[int] = []
    templates: list[list[int]] = []
    for p in paths:
        i = hist.ids.get(p)
        if i is None:
            tpl = hist.templates.get(name_template(p))
            if tpl:
                templates.append(tpl)
        elif i not in known:
            known.append(i)
    is_query = np.zeros(len(hist.names), dtype=bool)
    if known:
        is_query[np.asarray(known)] = True
    idf = _idf_weights(hist, known, t)
    weight = float(idf.sum()) + s.template_weight * len(templates)
    posts = [np.asarray(hist.postings[x], dtype=np.int64) for x in known]
    return _Query(paths, known, posts, templates, is_query, idf, weight, max(1, len(known)))


def _vote(hist: History, q: _Query, t: float, s: Settings) -> _Vote | None:
    """Every earlier commit sharing files with the query votes for its other files (see the module doc)."""
    parts = list(q.posts)
    weights = [np.full(px.shape[0], q.idf[j]) for j, px in enumerate(q.posts)]
    counts = [np.ones(px.shape[0]) for px in q.posts]
    for tpl in q.templates:
        pt = np.unique(np.asarray(tpl, dtype=np.int64))
        parts.append(pt)
        weights.append(np.full(pt.shape[0], s.template_weight))
        counts.append(np.zeros(pt.shape[0]))
    if not parts:
        return None
    uniq, inv = np.unique(np.concatenate(parts), return_inverse=True)
    ov = np.bincount(inv, weights=np.concatenate(weights), minlength=uniq.shape[0])
    ov0 = np.bincount(inv, weights=np.concatenate(counts), minlength=uniq.shape[0])
    age = np.maximum(0.0, t - hist.times_of(uniq)) / DAY
    d = 0.5 ** (age / s.half_life_days)
    size = hist.sizes(uniq).astype(np.float64)
    r = ov / q.weight if q.weight > 0 else np.zeros_like(ov)
    r0 = ov0 / q.n_known
    variants = {
        "log_overlap": d * r**3 / size,
        "log_overlap_plain": d * r0**3 / size,
        "log_overlap_recent": 0.5 ** (age / s.short_half_life_days) * r**3 / size,
        "log_overlap_session": 0.5 ** (age / s.session_half_life_days) * r**3 / size,
        "log_overlap_long": 0.5 ** (age / s.long_half_life_days) * r**3 / size,
        "log_overlap_activity": 0.5 ** ((hist.n_commits - uniq) / s.activity_half_life_commits) * r**3 / size,
        "log_overlap_linear": d * r / size,
        "log_overlap_strict": d * r**5 / size,
    }
    jac = ov0 / np.maximum(1.0, size - 1.0 + q.n_known - ov0)
    files, which = hist.rows(uniq)
    keep = ~q.is_query[files]
    cell_file, cell_commit = files[keep], which[keep]
    U, inv2 = np.unique(cell_file, return_inverse=True)
    m = U.shape[0]
    scores: dict[str, npt.NDArray[np.float64]] = {}
    for name, v in variants.items():
        tot = float(v.sum())
        scores[name] = np.bincount(inv2, weights=v[cell_commit], minlength=m) / tot if tot > 0 else np.zeros(m)
    scores["count"] = np.bincount(inv2, minlength=m).astype(np.float64)
    last = np.full(m, -1, dtype=np.int64)
    np.maximum.at(last, inv2, cell_commit)
    scores["age"] = np.asarray(age[last], dtype=np.float64)
    for name, per_commit in (("best", r), ("jaccard", jac)):
        top = np.zeros(m)
        np.maximum.at(top, inv2, per_commit[cell_commit])
        scores[name] = top
    scores["near"] = np.bincount(inv2, weights=(d * (jac >= 0.75))[cell_commit], minlength=m).astype(np.float64)
    folder = np.asarray(hist.dir_id, dtype=np.int64)[U]
    by_folder = np.bincount(folder, weights=scores["log_overlap"], minlength=1).astype(np.float64)
    scores["folder"] = np.asarray(by_folder[folder], dtype=np.float64)
    return _Vote(uniq, d, cell_file, cell_commit, U.astype(np.int64), scores)


def _structure(hist: History, q: _Query) -> tuple[dict[int, list[float]], dict[int, tuple[str, str, float]]]:
    """Naming-convention links from the query files: strengths per kind, and the strongest link per file."""
    qset = set(q.paths)
    strengths: dict[int, list[float]] = {}
    strongest: dict[int, tuple[str, str, float]] = {}
    for p in q.paths:
        for linked, (kind, strength) in sorted(hist.names_alive.partners(p).items()):
            y = hist.ids.get(linked)
            if linked in qset or y is None or not hist.alive[y]:
                continue
            row = strengths.setdefault(y, [0.0, 0.0, 0.0])
            row[_LINKS[kind]] = max(row[_LINKS[kind]], strength)
            if y not in strongest or strength > strongest[y][2]:
                strongest[y] = (kind, p, strength)
    return strengths, strongest


def _choose(hist: History, q: _Query, vote: _Vote | None, linked: Iterable[int], s: Settings) -> dict[int, int]:
    """The candidates: the best-voted alive files, then naming links, import links and rare shared words.

    Returns {entity: its position in the vote's arrays, or -1 when it got no vote}.
    """
    chosen: dict[int, int] = {}
    if vote is not None and vote.files.shape[0]:
        alive = np.fromiter((hist.alive[int(e)] for e in vote.files), dtype=bool, count=vote.files.shape[0])
        for pos in np.argsort(-vote.scores["log_overlap"], kind="stable"):
            if alive[pos]:
                chosen[int(vote.files[pos])] = int(pos)
                if len(chosen) >= s.candidates:
                    break
    names = hist.names_alive
    qset = set(q.paths)
    rare: dict[str, int] = {}
    for p in q.paths:
        for w in names.words(p):
            if 0 < names.word_rarity(w) <= s.rare_word_max:
                for other in names.with_word(w):
                    if other not in qset:
                        rare[other] = rare.get(other, 0) + 1
    by_text: set[int] = set()
    for x in q.known:
        for group in (hist.refs.get(x, frozenset()), hist.referenced_by.get(x, set())):
            if 0 < len(group) <= s.reference_candidates:
                by_text.update(group)
    by_words = sorted(rare.items(), key=lambda kv: (-kv[1], kv[0]))[: s.name_candidates]
    extra = [*linked, *sorted(by_text), *(hist.ids[p] for p, _ in by_words if p in hist.ids)]
    in_vote = {int(e): i for i, e in enumerate(vote.files)} if vote is not None and extra else {}
    for y in extra:
        if y not in chosen and hist.alive[y] and not q.is_query[y]:
            chosen[y] = in_vote.get(y, -1)
    return chosen


def _pairwise(hist: History, q: _Query, vote: _Vote, ids: list[int], t: float, X: npt.NDArray[np.float64]) -> list[int]:
    """Candidates x query files over the overlapping commits: confidences, lifts, latest commits.

    Returns, per candidate, the query file it co-changed with most confidently (or -1).
    """
    m = len(ids)
    n_commits = vote.commits.shape[0]
    colmap = np.full(len(hist.names), -1, dtype=np.int64)
    colmap[np.asarray(ids, dtype=np.int64)] = np.arange(m)
    sel = colmap[vote.cell_file] >= 0
    Y = np.zeros((n_commits, m))
    Y[vote.cell_commit[sel], colmap[vote.cell_file[sel]]] = 1.0
    Xm = np.zeros((n_commits, len(q.known)))
    for j, px in enumerate(q.posts):
        Xm[np.searchsorted(vote.commits, px), j] = 1.0
    co = (Xm * vote.decay[:, None]).T @ Y  # (query files, candidates): decayed co-change counts
    px_tot = Xm.T @ vote.decay
    conf = co / np.maximum(px_tot[:, None], 1e-12)
    X[:, _COL["log_confidence"]] = np.log(conf.max(axis=0) + _EPS)
    X[:, _COL["confidence_sum"]] = conf.sum(axis=0) / q.n_known
    X[:, _COL["partners"]] = (co > 0).sum(axis=0) / q.n_known
    total = hist.pair_total.read(t)
    py = np.array([hist.pair_count[y].read(t) for y in ids])
    prior = (py + 0.5) / (total + 1.0)
    lift = np.log((co + 2 * prior[None, :]) / (px_tot[:, None] + 2.0) / prior[None, :])
    X[:, _COL["lift_sum"]] = lift.sum(axis=0)
    X[:, _COL["lift_max"]] = np.where(co > 0, lift, -np.inf).max(axis=0).clip(min=0.0)
    X[:, _COL["reverse_confidence"]] = (co / np.maximum(py[None, :], 1e-9)).max(axis=0).clip(max=1.0)
    last_rows = np.searchsorted(vote.commits, np.array([px[-1] for px in q.posts if px.shape[0]], dtype=np.int64))
    if last_rows.shape[0]:
        X[:, _COL["last_commit_share"]] = Y[last_rows].sum(axis=0) / q.n_known
        X[:, _COL["in_latest_commit"]] = Y[int(last_rows.max())]
    best_x = conf.argmax(axis=0)
    return [q.known[int(best_x[c])] if co[best_x[c], c] > 0 else -1 for c in range(m)]


def candidates(hist: History, query: Sequence[str], t: float, settings: Settings) -> Candidates:
    """Candidates for the file missing from ``query`` at time ``t``, with their features.

    Only what ``hist`` holds is used; query files it never saw are matched by
    name template (for their history) and by name (for structure) only.
    """
    s = settings
    q = _query(hist, query, t, s)
    vote = _vote(hist, q, t, s)
    strengths, strongest = _structure(hist, q)
    chosen = _choose(hist, q, vote, sorted(strengths, key=lambda e: hist.names[e]), s)
    ids = list(chosen)
    m = len(ids)
    X = np.zeros((m, len(FEATURES)), dtype=np.float64)
    if m == 0:
        return Candidates(ids, X, np.zeros(0), [], [], q.known)
    pos = np.array([chosen[y] for y in ids], dtype=np.int64)
    voted = pos >= 0

    def from_vote(key: str, default: float) -> npt.NDArray[np.float64]:
        out = np.full(m, default)
        if vote is not None:
            out[voted] = vote.scores[key][pos[voted]]
        return out

    for name in _OVERLAPS:
        X[:, _COL[name]] = np.log(from_vote(name, 0.0) + _EPS)
    overlap = from_vote("log_overlap", 0.0)
    X[:, _COL["log_together"]] = np.log1p(from_vote("count", 0.0))
    X[:, _COL["log_days_since_together"]] = np.log1p(np.minimum(from_vote("age", 3650.0), 3650.0))
    X[:, _COL["best_overlap"]] = from_vote("best", 0.0)
    X[:, _COL["best_jaccard"]] = from_vote("jaccard", 0.0)
    X[:, _COL["log_near_copies"]] = np.log1p(from_vote("near", 0.0))
    X[:, _COL["log_folder_overlap"]] = np.log(from_vote("folder", 0.0) + _EPS)
    X[:, _COL["co_changed"]] = voted.astype(np.float64)
    partner = _pairwise(hist, q, vote, ids, t, X) if vote is not None and q.known else [-1] * m
    _per_file(hist, q, ids, strengths, t, X)
    if not q.templates:
        X[:, _COL["missing_new_file"]] = hist.templated_new.read(t) / (hist.commits_total.read(t) or 1.0)
    for prefix in s.disabled:
        X[:, [j for j, f in enumerate(FEATURES) if f.startswith(prefix)]] = 0.0
    structure = [(got[0], got[1]) if (got := strongest.get(y)) else None for y in ids]
    return Candidates(ids, X, overlap, partner, structure, q.known)


def _per_file(
    hist: History, q: _Query, ids: list[int], strengths: dict[int, list[float]], t: float, X: npt.NDArray[np.float64]
) -> None:
    """What each candidate is on its own (rate, recency, kind) and by structure (names, imports)."""
    names = hist.names_alive
    total_rate = hist.commits_total.read(t) or 1.0
    n_alive = max(1, len(names))
    qwords = [names.words(p) for p in q.paths]
    qdirs = {p.rsplit("/", 1)[0] if "/" in p else "" for p in q.paths}
    qkinds = {path_kind(p) for p in q.paths}
    n_commits = hist.n_commits
    base = len(_BASE_FEATURES)
    for c, y in enumerate(ids):
        path = hist.names[y]
        X[c, _COL["log_rate"]] = math.log(hist.rate[y].read(t) / total_rate + 1e-4)
        last = hist.last_time[y]
        X[c, _COL["log_days_since_changed"]] = math.log1p(min(3650.0, (t - last) / DAY)) if last > -math.inf else 9.0
        post = hist.postings[y]
        X[c, _COL["log_commits_since_changed"]] = math.log1p(n_commits - 1 - post[-1]) if post else 10.0
        if q.known:
            mine = hist.refs.get(y, frozenset())
            X[c, _COL["refers_to_query"]] = sum(1 for x in q.known if x in mine) / q.n_known
            X[c, _COL["referred_by_query"]] = sum(1 for x in q.known if y in hist.refs.get(x, frozenset())) / q.n_known
        st = strengths.get(y)
        if st is not None:
            X[c, _COL["test_convention"]], X[c, _COL["package_init"]], X[c, _COL["doc_named"]] = st
        sim = max((_name_similarity(hist, names.words(path), qw, n_alive) for qw in qwords), default=0.0)
        X[c, _COL["name_similarity"]] = sim
        X[c, _COL["log_name_similarity"]] = math.log(sim + 0.01)
        X[c, _COL["same_folder"]] = float((path.rsplit("/", 1)[0] if "/" in path else "") in qdirs)
        k = path_kind(path)
        for b in qkinds:
            X[c, base + 4 * k + b] = 1.0
        X[c, base + 16 + k] = 1.0
    X[:, _COL["log_query_size"]] = math.log(len(q.paths)) if q.paths else 0.0
    X[:, _COL["unseen_share"]] = 1.0 - len([p for p in q.paths if p in hist.ids]) / max(1, len(q.paths))
