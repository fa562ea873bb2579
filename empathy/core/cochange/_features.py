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
from collections.abc import Sequence
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

    inter = sum(idf(w) for w in a & b)
    if inter == 0.0:
        return 0.0
    return inter / sum(idf(w) for w in a | b)


def candidates(hist: History, query: Sequence[str], t: float, settings: Settings) -> Candidates:
    """Candidates for the file missing from ``query`` at time ``t``, with their features.

    Only what ``hist`` holds is used; query files it never saw are matched by
    name template (for their history) and by name (for structure) only.
    """
    s = settings
    qpaths = list(dict.fromkeys(query))
    qset = set(qpaths)
    known: list[int] = []
    for p in qpaths:
        i = hist.ids.get(p)
        if i is not None and i not in known:
            known.append(i)
    templates: list[list[int]] = []
    for p in qpaths:
        if p not in hist.ids:
            tpl = hist.templates.get(name_template(p))
            if tpl:
                templates.append(tpl)
    nq0 = max(1, len(known))
    idf = _idf_weights(hist, known, t)
    nq = float(idf.sum()) + s.template_weight * len(templates)

    parts: list[npt.NDArray[np.int64]] = []
    wparts: list[npt.NDArray[np.float64]] = []
    cparts: list[npt.NDArray[np.float64]] = []
    posts: list[npt.NDArray[np.int64]] = []
    for j, x in enumerate(known):
        px = np.asarray(hist.postings[x], dtype=np.int64)
        posts.append(px)
        parts.append(px)
        wparts.append(np.full(px.shape[0], idf[j]))
        cparts.append(np.ones(px.shape[0]))
    for tpl in templates:
        pt = np.unique(np.asarray(tpl, dtype=np.int64))
        parts.append(pt)
        wparts.append(np.full(pt.shape[0], s.template_weight))
        cparts.append(np.zeros(pt.shape[0]))

    n_ent = len(hist.names)
    alive = np.fromiter(hist.alive, dtype=bool, count=n_ent) if n_ent else np.zeros(0, dtype=bool)
    is_query = np.zeros(n_ent, dtype=bool)
    if known:
        is_query[np.asarray(known)] = True
    for p in qpaths:
        i = hist.ids.get(p)
        if i is not None:
            is_query[i] = True

    scores: dict[str, npt.NDArray[np.float64]] = {}
    cand_U = np.zeros(0, dtype=np.int64)
    uniq = np.zeros(0, dtype=np.int64)
    d = np.zeros(0)
    cells_f = np.zeros(0, dtype=np.int32)
    cells_w = np.zeros(0, dtype=np.int64)
    if parts:
        cat = np.concatenate(parts)
        uniq, inv = np.unique(cat, return_inverse=True)
        ov = np.bincount(inv, weights=np.concatenate(wparts), minlength=uniq.shape[0])
        ov0 = np.bincount(inv, weights=np.concatenate(cparts), minlength=uniq.shape[0])
        age = np.maximum(0.0, t - hist.times_of(uniq)) / DAY
        d = 0.5 ** (age / s.half_life_days)
        ds = 0.5 ** (age / s.short_half_life_days)
        d_session = 0.5 ** (age / s.session_half_life_days)
        d_long = 0.5 ** (age / s.long_half_life_days)
        d_act = 0.5 ** ((hist.n_commits - uniq) / s.activity_half_life_commits)
        size = hist.sizes(uniq).astype(np.float64)
        r = ov / nq if nq > 0 else np.zeros_like(ov)
        r0 = ov0 / nq0
        variants = {
            "log_overlap": d * r**3 / size,
            "log_overlap_plain": d * r0**3 / size,
            "log_overlap_recent": ds * r**3 / size,
            "log_overlap_session": d_session * r**3 / size,
            "log_overlap_long": d_long * r**3 / size,
            "log_overlap_activity": d_act * r**3 / size,
            "log_overlap_linear": d * r / size,
            "log_overlap_strict": d * r**5 / size,
        }
        jac = ov0 / np.maximum(1.0, size - 1.0 + nq0 - ov0)
        files, which = hist.rows(uniq)
        keep = ~is_query[files]
        cells_f, cells_w = files[keep], which[keep]
        cand_U, inv2 = np.unique(cells_f, return_inverse=True)
        cand_U = cand_U.astype(np.int64)
        m_u = cand_U.shape[0]
        for name, v in variants.items():
            tot = float(v.sum())
            scores[name] = np.bincount(inv2, weights=v[cells_w], minlength=m_u) / tot if tot > 0 else np.zeros(m_u)
        scores["count"] = np.bincount(inv2, minlength=m_u).astype(np.float64)
        lastpos = np.full(m_u, -1, dtype=np.int64)
        np.maximum.at(lastpos, inv2, cells_w)
        scores["age"] = np.asarray(age[lastpos], dtype=np.float64)
        best = np.zeros(m_u)
        np.maximum.at(best, inv2, r[cells_w])
        scores["best"] = best
        bestj = np.zeros(m_u)
        np.maximum.at(bestj, inv2, jac[cells_w])
        scores["jaccard"] = bestj
        scores["near"] = np.bincount(inv2, weights=(d * (jac >= 0.75))[cells_w], minlength=m_u).astype(np.float64)
        folder = np.asarray(hist.dir_id, dtype=np.int64)[cand_U]
        fsum = np.bincount(folder, weights=scores["log_overlap"], minlength=1).astype(np.float64)
        scores["folder"] = np.asarray(fsum[folder], dtype=np.float64)

    # -- which candidates -------------------------------------------------------------------------
    chosen: dict[int, int] = {}  # entity -> row in the U arrays (or -1)
    if cand_U.shape[0]:
        ok = alive[cand_U]
        order = np.argsort(-scores["log_overlap"], kind="stable")
        for pos in order:
            if ok[pos]:
                chosen[int(cand_U[pos])] = int(pos)
                if len(chosen) >= s.candidates:
                    break
    structure: dict[int, tuple[str, str, float]] = {}
    links = {"test": 0, "tested": 0, "package": 1, "doc": 2}
    strengths: dict[int, list[float]] = {}
    names = hist.names_alive
    for p in qpaths:
        for linked, (kind, strength) in names.partners(p).items():
            if linked in qset:
                continue
            y = hist.ids.get(linked)
            if y is None or not hist.alive[y]:
                continue
            row = strengths.setdefault(y, [0.0, 0.0, 0.0])
            row[links[kind]] = max(row[links[kind]], strength)
            if y not in structure or strength > structure[y][2]:
                structure[y] = (kind, p, strength)
    rare: dict[str, int] = {}
    for p in qpaths:
        for w in names.words(p):
            n = names.word_rarity(w)
            if 0 < n <= s.rare_word_max:
                for other in names.with_word(w):
                    if other not in qset:
                        rare[other] = rare.get(other, 0) + 1
    by_text: set[int] = set()
    for x in known:
        for group in (hist.refs.get(x, frozenset()), hist.referenced_by.get(x, set())):
            if 0 < len(group) <= s.reference_candidates:
                by_text.update(group)
    extra = (
        sorted(strengths, key=lambda e: hist.names[e])
        + sorted(by_text)
        + [
            hist.ids[p]
            for p, _ in sorted(rare.items(), key=lambda kv: (-kv[1], kv[0]))[: s.name_candidates]
            if p in hist.ids
        ]
    )
    u_pos = {int(e): i for i, e in enumerate(cand_U)} if extra else {}
    for y in extra:
        if y not in chosen and hist.alive[y] and not is_query[y]:
            chosen[y] = u_pos.get(y, -1)

    ids = list(chosen)
    m = len(ids)
    X = np.zeros((m, len(FEATURES)), dtype=np.float64)
    overlap = np.zeros(m)
    partner = [-1] * m
    if m == 0:
        return Candidates(ids, X, overlap, partner, [], known)
    upos = np.array([chosen[y] for y in ids], dtype=np.int64)
    inU = upos >= 0

    def col(name: str) -> int:
        return FEATURES.index(name)

    def from_u(key: str, default: float) -> npt.NDArray[np.float64]:
        out = np.full(m, default)
        if key in scores:
            out[inU] = scores[key][upos[inU]]
        return out

    for name in _OVERLAPS:
        v = from_u(name, 0.0)
        X[:, col(name)] = np.log(v + _EPS)
        if name == "log_overlap":
            overlap = v
    X[:, col("log_together")] = np.log1p(from_u("count", 0.0))
    X[:, col("log_days_since_together")] = np.log1p(np.minimum(from_u("age", 3650.0), 3650.0))
    X[:, col("best_overlap")] = from_u("best", 0.0)
    X[:, col("best_jaccard")] = from_u("jaccard", 0.0)
    X[:, col("log_near_copies")] = np.log1p(from_u("near", 0.0))
    X[:, col("log_folder_overlap")] = np.log(from_u("folder", 0.0) + _EPS)
    X[:, col("co_changed")] = inU.astype(np.float64)

    # -- pairwise: candidates x query files over the overlapping commits ----------------------------
    if known and uniq.shape[0]:
        colmap = np.full(n_ent, -1, dtype=np.int64)
        colmap[np.asarray(ids, dtype=np.int64)] = np.arange(m)
        sel = colmap[cells_f] >= 0
        Y = np.zeros((uniq.shape[0], m))
        Y[cells_w[sel], colmap[cells_f[sel]]] = 1.0
        Xm = np.zeros((uniq.shape[0], len(known)))
        for j, px in enumerate(posts):
            Xm[np.searchsorted(uniq, px), j] = 1.0
        co = (Xm * d[:, None]).T @ Y  # (q, m) decayed co-change counts
        px_tot = Xm.T @ d  # (q,)
        conf = co / np.maximum(px_tot[:, None], 1e-12)
        X[:, col("log_confidence")] = np.log(conf.max(axis=0) + _EPS)
        X[:, col("confidence_sum")] = conf.sum(axis=0) / nq0
        X[:, col("partners")] = (co > 0).sum(axis=0) / nq0
        total = hist.pair_total.read(t)
        py = np.array([hist.pair_count[y].read(t) for y in ids])
        prior = (py + 0.5) / (total + 1.0)
        lift = np.log((co + 2 * prior[None, :]) / (px_tot[:, None] + 2.0) / prior[None, :])
        X[:, col("lift_sum")] = lift.sum(axis=0)
        X[:, col("lift_max")] = np.where(co > 0, lift, -np.inf).max(axis=0).clip(min=0.0)
        X[:, col("reverse_confidence")] = (co / np.maximum(py[None, :], 1e-9)).max(axis=0).clip(max=1.0)
        best_x = conf.argmax(axis=0)
        for c in range(m):
            if co[best_x[c], c] > 0:
                partner[c] = known[int(best_x[c])]
        last_rows = np.searchsorted(uniq, np.array([px[-1] for px in posts if px.shape[0]], dtype=np.int64))
        if last_rows.shape[0]:
            X[:, col("last_commit_share")] = Y[last_rows].sum(axis=0) / nq0
            X[:, col("in_latest_commit")] = Y[int(last_rows.max())]

    # -- per file and structure --------------------------------------------------------------------
    total_rate = hist.commits_total.read(t) or 1.0
    n_alive = max(1, len(names))
    qwords = [names.words(p) for p in qpaths]
    qdirs = {p.rsplit("/", 1)[0] if "/" in p else "" for p in qpaths}
    qkinds = {path_kind(p) for p in qpaths}
    n_commits = hist.n_commits
    unseen = 1.0 - len([p for p in qpaths if p in hist.ids]) / max(1, len(qpaths))
    base = len(_BASE_FEATURES)
    struct_out: list[tuple[str, str] | None] = []
    for c, y in enumerate(ids):
        path = hist.names[y]
        X[c, col("log_rate")] = math.log(hist.rate[y].read(t) / total_rate + 1e-4)
        last = hist.last_time[y]
        X[c, col("log_days_since_changed")] = math.log1p(min(3650.0, (t - last) / DAY)) if last > -math.inf else 9.0
        post = hist.postings[y]
        X[c, col("log_commits_since_changed")] = math.log1p(n_commits - 1 - post[-1]) if post else 10.0
        if known:
            mine = hist.refs.get(y, frozenset())
            X[c, col("refers_to_query")] = sum(1 for x in known if x in mine) / nq0
            X[c, col("referred_by_query")] = sum(1 for x in known if y in hist.refs.get(x, frozenset())) / nq0
        st = strengths.get(y)
        if st is not None:
            X[c, col("test_convention")] = st[0]
            X[c, col("package_init")] = st[1]
            X[c, col("doc_named")] = st[2]
        got = structure.get(y)
        struct_out.append((got[0], got[1]) if got else None)
        yw = names.words(path)
        sim = max((_name_similarity(hist, yw, qw, n_alive) for qw in qwords), default=0.0)
        X[c, col("name_similarity")] = sim
        X[c, col("log_name_similarity")] = math.log(sim + 0.01)
        X[c, col("same_folder")] = float((path.rsplit("/", 1)[0] if "/" in path else "") in qdirs)
        k = path_kind(path)
        for b in qkinds:
            X[c, base + 4 * k + b] = 1.0
        X[c, base + 16 + k] = 1.0
    X[:, col("log_query_size")] = math.log(len(qpaths)) if qpaths else 0.0
    X[:, col("unseen_share")] = unseen
    if not templates:
        X[:, col("missing_new_file")] = hist.templated_new.read(t) / total_rate
    for prefix in s.disabled:
        X[:, [j for j, f in enumerate(FEATURES) if f.startswith(prefix)]] = 0.0
    return Candidates(ids, X, overlap, partner, struct_out, known)
