"""Level 5, systemic: the structures that keep producing the problems.

Levels 3 and 4 point at files; this level points at the *relations* between
files that make the same kind of trouble come back, because a refactoring of
one file does not remove a loop that runs through two.  It reports two
structures, each with a structural remedy rather than "be careful":

``fix-begets-fix``
    A bug fix to A is followed, within ``window_days``, by a separate bug fix
    to B, and fixes to B are followed by fixes to A, repeatedly.  The two files
    share an assumption that lives in neither, so fixing one breaks the other.
    Read from the history (no miner needed): only fix commits (the configured
    fix classifier), only source files alive at HEAD (followed across
    renames), and only fixes touching at most ``max_fix_size`` source files
    (a sweeping fix says nothing about one pair).

    A *link* A -> B is a fix touching A but not B followed, at least
    ``min_gap_hours`` and at most ``window_days`` later, by a fix touching B
    but not A.  Files fixed only in the same commits never link (that is
    co-change, which the coupling miner reports); a follow-up within hours is
    the same piece of work split over commits, not a consequence.  A
    direction counts ``min(distinct fixes of A that led to a link, distinct
    fixes of B that followed one)`` links, so one big fix followed by many
    small ones is one link; both directions need ``min_links``.

    Counting alone is not enough: in a busy repository two often-fixed files
    meet within 30 days all the time (on pytest's history, 900 pairs pass the
    counts and none survives the next test).  So each direction must also
    beat chance: keeping A's real fixes and the project's real rhythm of
    fixes, if B's fixes had fallen on random fix commits since both files
    existed, how likely would this many have followed a fix of A?  A binomial
    tail, at most ``max_p`` in both directions (see :meth:`_Timeline.chance`;
    on shuffled histories it flags fewer pairs than ``max_p`` promises).

    Cycles through three or more files are not searched: pairs are cheap,
    exact and what a reviewer can act on.  A cycle whose last link is older
    than ``stale_days`` is reported as info: it may have been designed away.

``cross-module-coupling``
    Coupling patterns (from the ``coupling`` miner) whose files live in
    different top-level modules, at least ``min_degree`` % coupled over at
    least ``min_shared`` shared commits.  File pairs crossing the same module
    boundary are aggregated into one finding per module pair, listing the
    strongest pairs, so it reads as one leaking boundary and not as noise.
    Severity is warning from ``warn_degree`` up, info below.

Both respect the question asked: with ``context.paths`` (an editor asks about
one file) a finding appears when the file is one of the structure's files,
and is placed on that file; with ``context.change`` only structures that
involve a changed file appear.  Fingerprints name the structure (both files,
or both modules), so two cycles through one file stay two findings.
"""

from __future__ import annotations

import bisect
import copy
import math
import statistics
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from empathy.plugin import (
    DAY,
    AnalysisContext,
    Finding,
    History,
    Level,
    Location,
    Pattern,
    Severity,
    date,
    fingerprint,
    hookimpl,
    module_of,
    saturate,
)

__all__ = ["DEFAULTS", "PLUGIN", "level_findings", "settings_defaults"]

PLUGIN = "systemic"

DEFAULTS: dict[str, Any] = {
    "window_days": 30,
    "min_links": 2,
    "min_gap_hours": 24,
    "max_fix_size": 20,
    "max_p": 0.01,
    "stale_days": 730,
    "min_degree": 40,
    "min_shared": 8,
    "warn_degree": 70,
    "top_pairs": 5,
}

_EXAMPLES = 3


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return dict(DEFAULTS)


def _setting(context: AnalysisContext, key: str) -> int:
    # The defaults are read here too: a plugin registered after the workspace
    # opened (tests, inline plugins) has no defaults merged into its section.
    return int(context.settings.get(key, DEFAULTS[key]))


# -- fix-begets-fix cycles ------------------------------------------------------


@dataclass
class _Direction:
    """Fixes of one file followed by fixes of another (one direction of a pair)."""

    #: places in the time-ordered fixes
    triggers: set[int] = field(default_factory=set)
    follow_ups: set[int] = field(default_factory=set)
    #: days from each follow-up back to its nearest trigger
    gaps: list[float] = field(default_factory=list)
    #: (follow-up time, trigger commit index, follow-up commit index), nearest trigger of each follow-up
    examples: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def links(self) -> int:
        return min(len(self.triggers), len(self.follow_ups))


@dataclass(frozen=True)
class _Fix:
    at: int
    index: int
    files: frozenset[int]


@dataclass
class _Timeline:
    """The fix commits in time order, every link between their files, and chance.

    ``positions[f]`` are the places in ``fixes`` of the fixes touching ``f``;
    ``covered[f]`` the places of the fixes not touching ``f`` that came
    within the window after a fix of ``f``: the chance baseline
    (:meth:`chance`) is built from them.
    """

    fixes: list[_Fix]
    links: dict[tuple[int, int], _Direction]
    positions: dict[int, list[int]]
    covered: dict[int, list[int]]

    def fix_count(self, f: int) -> int:
        return len(self.positions[f])

    def chance(self, a: int, b: int, since: int) -> tuple[float, float]:
        """Follow-ups a -> b expected by chance, and how likely the observed number or more is.

        The baseline keeps ``a``'s real fixes (bursts included) and the
        project's real rhythm of fixes, and asks: had ``b``'s fixes fallen on
        random fix commits since both files existed (``since``, a commit
        time), how many would have come within the window after a fix of
        ``a``?  A binomial over ``b``'s fixes, with the share of the fixes
        that follow a fix of ``a`` as the chance of each.
        """
        lo = bisect.bisect_left(self.fixes, since, key=lambda f: f.at)
        eligible = len(self.fixes) - lo - _count_from(self.positions[a], lo)
        if eligible <= 0:
            return 0.0, 1.0
        share = _count_from(self.covered.get(a, []), lo) / eligible
        trials = sum(1 for j in self.positions[b] if j >= lo and a not in self.fixes[j].files)
        observed = sum(1 for j in self.links[(a, b)].follow_ups if j >= lo)
        return trials * share, _binomial_tail(observed, trials, share)


def _count_from(places: list[int], lo: int) -> int:
    """How many of the sorted ``places`` are at ``lo`` or later."""
    return len(places) - bisect.bisect_left(places, lo)


def _fixes(context: AnalysisContext, history: History, max_size: int) -> list[_Fix]:
    """The fix commits that can take part in a cycle, oldest first."""
    wanted = {fid for fid, f in history.files.items() if f.alive and context.is_source(f.path)}
    out = []
    for c in history.commits:
        if not history.is_fix(c):
            continue
        files = frozenset(t.file_id for t in c.touches if t.file_id in wanted)
        if files and len(files) <= max_size:
            out.append(_Fix(c.committed_at, c.index, files))
    out.sort(key=lambda f: (f.at, f.index))
    return out


def _timeline(fixes: list[_Fix], window: int, min_gap: int) -> _Timeline:
    """Every link A -> B within the window, keyed by (A, B), and the chance ingredients."""
    links: dict[tuple[int, int], _Direction] = defaultdict(_Direction)
    positions: dict[int, list[int]] = defaultdict(list)
    covered: dict[int, list[int]] = defaultdict(list)
    start = 0
    for j, later in enumerate(fixes):
        for fid in later.files:
            positions[fid].append(j)
        while fixes[start].at < later.at - window:
            start += 1
        seen: set[tuple[int, int]] = set()
        covering: set[int] = set()
        for i in range(j - 1, start - 1, -1):  # nearest earlier fix first
            earlier = fixes[i]
            if later.at - earlier.at < min_gap:
                continue  # the same piece of work, split over commits
            only_earlier = earlier.files - later.files
            if not only_earlier:
                continue
            covering |= only_earlier
            only_later = later.files - earlier.files
            for a in only_earlier:
                for b in only_later:
                    d = links[(a, b)]
                    d.triggers.add(i)
                    d.follow_ups.add(j)
                    if (a, b) not in seen:
                        seen.add((a, b))
                        d.gaps.append((later.at - earlier.at) / DAY)
                        d.examples.append((later.at, earlier.index, later.index))
        for a in covering:
            covered[a].append(j)
    return _Timeline(fixes, links, positions, covered)


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how surprising ``k`` links are by chance."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = (
        math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
        for i in range(k, n + 1)
    )
    return min(1.0, sum(terms))


@dataclass
class _Cycle:
    """A pair that passed: A is the file with more fixes."""

    a: int
    b: int
    ab: _Direction
    ba: _Direction
    fixes_a: int
    fixes_b: int
    co_fixed: int
    chance: dict[tuple[int, int], tuple[float, float]]


def _cycle_findings(context: AnalysisContext, history: History) -> list[Finding]:
    window_days = _setting(context, "window_days")
    min_links = max(1, _setting(context, "min_links"))
    max_p = float(context.settings.get("max_p", DEFAULTS["max_p"]))  # a float, unlike the others
    fixes = _fixes(context, history, _setting(context, "max_fix_size"))
    timeline = _timeline(fixes, window_days * DAY, _setting(context, "min_gap_hours") * 3600)
    links = timeline.links
    born = {fid: min(c.committed_at for c, _t in touches) for fid, touches in history.touches_by_file.items()}
    out = []
    for (a, b), ab in links.items():
        if a > b or ab.links < min_links:
            continue  # each unordered pair once, from its smaller id
        ba = links.get((b, a))
        if ba is None or ba.links < min_links:
            continue
        since = max(born[a], born[b])
        chance = {(x, y): timeline.chance(x, y, since) for x, y in ((a, b), (b, a))}
        if max(p for _mean, p in chance.values()) > max_p:
            continue  # both files are simply fixed often: they meet by chance
        # the file with more fixes is "A" (and the location); ties by path
        if (-timeline.fix_count(b), history.files[b].path) < (-timeline.fix_count(a), history.files[a].path):
            a, b, ab, ba = b, a, ba, ab
        co_fixed = sum(1 for f in timeline.fixes if a in f.files and b in f.files)
        out.append(
            _cycle_finding(
                context,
                history,
                _Cycle(a, b, ab, ba, timeline.fix_count(a), timeline.fix_count(b), co_fixed, chance),
                window_days,
            )
        )
    return out


def _short(history: History, index: int) -> str:
    return history.commits[index].sha[:7]  # CommitInfo.index is its position in history.commits


def _cycle_finding(context: AnalysisContext, history: History, cycle: _Cycle, window_days: int) -> Finding:
    a, b, ab, ba = cycle.a, cycle.b, cycle.ab, cycle.ba
    stale_days = _setting(context, "stale_days")
    mean_ab, p_ab = cycle.chance[(a, b)]
    mean_ba, p_ba = cycle.chance[(b, a)]
    pa, pb = history.files[a].path, history.files[b].path
    recent = sorted(
        [(at, t, f, pa, pb) for at, t, f in ab.examples] + [(at, t, f, pb, pa) for at, t, f in ba.examples],
        reverse=True,
    )[:_EXAMPLES]
    last = recent[0][0]
    days = ab.gaps + ba.gaps
    median = round(statistics.median(days), 1)
    age = (history.now - last) // DAY
    stale = age > stale_days
    return Finding(
        code="fix-begets-fix",
        level=Level.SYSTEMIC,
        severity=Severity.INFO if stale else Severity.WARNING,
        location=Location(pa),
        reason=(
            f"{pa} and {pb} keep breaking each other: {ab.links} times a fix to {pa} was followed within "
            f"{window_days} days by a fix to {pb}, and {ba.links} times the other way round "
            f"(median {median:g} days apart, last on {date(last)})"
        ),
        action=(
            f"{pa} and {pb} keep breaking each other: their contract is implicit. Put the shared assumption "
            "in one place (a shared type or function both use) and add a test that exercises both together"
        ),
        source=PLUGIN,
        evidence={
            "files": [pa, pb],
            "file_a": pa,
            "file_b": pb,
            "fixes_a": cycle.fixes_a,
            "fixes_b": cycle.fixes_b,
            "links_a_to_b": ab.links,
            "links_b_to_a": ba.links,
            "follow_ups_a_to_b": len(ab.follow_ups),
            "follow_ups_b_to_a": len(ba.follow_ups),
            "expected_a_to_b": round(mean_ab, 2),
            "expected_b_to_a": round(mean_ba, 2),
            "p_a_to_b": float(f"{p_ab:.3g}"),
            "p_b_to_a": float(f"{p_ba:.3g}"),
            "co_fixed": cycle.co_fixed,
            "median_days": median,
            "median_days_a_to_b": round(statistics.median(ab.gaps), 1),
            "median_days_b_to_a": round(statistics.median(ba.gaps), 1),
            "window_days": window_days,
            "last_link": date(last),
            "days_since_last": int(age),
            "examples": [f"{_short(history, t)} ({x}) -> {_short(history, f)} ({y})" for _at, t, f, x, y in recent],
        },
        score=round(saturate(min(ab.links, ba.links), 3), 4),
        fingerprint=fingerprint(PLUGIN, "fix-begets-fix", *sorted((pa, pb))),
    )


# -- coupling across module boundaries -----------------------------------------


def _boundary_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    min_degree = _setting(context, "min_degree")
    min_shared = _setting(context, "min_shared")
    warn_degree = _setting(context, "warn_degree")
    top = max(1, _setting(context, "top_pairs"))
    groups: dict[tuple[str, str], list[tuple[str, str, Pattern]]] = defaultdict(list)
    for p in patterns:
        ev = p.evidence
        if p.kind != "coupling" or len(p.subjects) != 2 or ev.get("cross_module") is not True:
            continue
        if float(ev.get("degree", 0)) < min_degree or int(ev.get("shared_revs", 0)) < min_shared:
            continue
        x, y = p.subjects
        mx, my = module_of(x), module_of(y)
        if mx == my:
            continue
        if my < mx:
            x, y, mx, my = y, x, my, mx
        groups[(mx, my)].append((x, y, p))
    out = []
    for (mx, my), pairs in groups.items():
        pairs.sort(
            key=lambda t: (
                -float(t[2].evidence.get("degree", 0)),
                -int(t[2].evidence.get("shared_revs", 0)),
                t[0],
                t[1],
            )
        )
        hub: dict[str, int] = defaultdict(int)
        for x, y, _p in pairs:
            hub[x] += 1
            hub[y] += 1
        order = [f for x, y, _p in pairs for f in (x, y)]
        location = max(order, key=lambda f: (hub[f], -order.index(f)))  # most pairs; ties: strongest pair first
        x0, y0, p0 = pairs[0]
        degree = float(p0.evidence["degree"])
        files = sorted(hub)
        out.append(
            Finding(
                code="cross-module-coupling",
                level=Level.SYSTEMIC,
                severity=Severity.WARNING if degree >= warn_degree else Severity.INFO,
                location=Location(location),
                reason=(
                    f"the boundary between {mx} and {my} leaks: "
                    f"{'1 file pair changes' if len(pairs) == 1 else f'{len(pairs)} file pairs change'} together "
                    f"across it (strongest: {x0} and {y0}, {degree:.0f}% coupled over "
                    f"{p0.evidence['shared_revs']} shared commits)"
                ),
                action=(
                    f"The boundary between {mx} and {my} leaks: move the shared concept into one module or "
                    f"introduce an interface both sides depend on (start with {x0} and {y0})"
                ),
                source=PLUGIN,
                evidence={
                    "modules": [mx, my],
                    "module_a": mx,
                    "module_b": my,
                    "pairs": len(pairs),
                    "files": files,
                    "max_degree": degree,
                    "shared_revs": sum(int(p.evidence["shared_revs"]) for _x, _y, p in pairs),
                    "last_shared": max(str(p.evidence.get("last_shared", "")) for _x, _y, p in pairs),
                    "top_pairs": [
                        {
                            "a": x,
                            "b": y,
                            "degree": p.evidence["degree"],
                            "shared_revs": p.evidence["shared_revs"],
                            "pattern": p.key,
                        }
                        for x, y, p in pairs[:top]
                    ],
                },
                score=round(max(p.score * p.confidence for _x, _y, p in pairs), 4),
                fingerprint=fingerprint(PLUGIN, "cross-module-coupling", mx, my),
            )
        )
    return out


# -- the hook ------------------------------------------------------------------


def _scoped(context: AnalysisContext, findings: list[Finding]) -> list[Finding]:
    """Keep what answers the question; in an editor, place it on the file asked about."""
    changed = set(context.change.paths) if context.change is not None else None
    out = []
    for f in findings:
        files: list[str] = list(f.evidence["files"])
        asked = [p for p in files if context.concerns(p)]
        if not asked or (changed is not None and changed.isdisjoint(files)):
            continue
        if context.paths is not None and f.location.path not in asked:
            f.location = Location(asked[0])  # the fingerprint names the structure, so it is unchanged
        out.append(f)
    return out


# The cycle search reads every fix in the history (0.1-0.3 s on pytest) while its
# answer depends only on the history and the settings; an editor asks once per
# file, so the whole-repository answer is kept per loaded history (a workspace
# keeps one History until an ingest adds commits) and scoped per question.
_CYCLES: weakref.WeakKeyDictionary[History, tuple[str, list[Finding]]] = weakref.WeakKeyDictionary()
_CYCLES_LOCK = threading.Lock()


def _cached_cycles(context: AnalysisContext, history: History) -> list[Finding]:
    key = repr(sorted(context.settings.items())) + repr(
        [context.core_settings[k] for k in ("fix_pattern", "fix_exclude_pattern", "exclude", "source_suffixes")]
    )
    with _CYCLES_LOCK:
        cached = _CYCLES.get(history)
    if cached is None or cached[0] != key:
        cached = (key, _cycle_findings(context, history))
        with _CYCLES_LOCK:
            _CYCLES[history] = cached
    return [copy.copy(f) for f in cached[1]]  # _scoped moves a copy's location, never the cached one


@hookimpl
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    findings = _boundary_findings(context, patterns)
    if context.history is not None:
        findings.extend(_cached_cycles(context, context.history))
    return _scoped(context, findings)


@hookimpl
def finding_codes() -> list[str]:
    """The codes this level reports (what `empathy feedback` accepts)."""
    return ["cross-module-coupling", "fix-begets-fix"]
