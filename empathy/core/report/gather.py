"""Gather the visual report's data from the use-cases the other commands already use.

Every number comes from where ``empathy analyze``, ``forecast``, ``explain``
and ``eval`` take theirs, so the report cannot disagree with them:

* the hotspot map is the file forecast (:meth:`Workspace.forecast`, cached
  per head): each file's lines, commits and fixes in the last 12 months and
  its rank, with the churn miner's hotspot patterns marked;
* the coupling graph is the coupling miner's stored patterns (bulk sweeps and
  commits over ``max_changeset_size`` files are already left out there),
  then the riskiest files' usual companions as ``empathy explain`` lists them
  ("changes with", :class:`HistoryFacts`, bulk sweeps left out too);
* the activity trend counts the ingested history's commits and bug fixes by
  the commit labels (:meth:`History.is_fix`, :meth:`History.is_bulk`);
* the complexity trend measures indentation complexity (the complexity
  miner's measure) at the riskiest files' recent revisions, each read as the
  file stood on HEAD's first-parent line at that time, as the miner does;
* knowledge per directory applies the ownership miner's rules (added lines
  of deliberate commits, authors inactive for ``inactive_days``) to whole
  directories, and lists the miner's knowledge-loss patterns;
* the track records are the stored eval records (:func:`latest_record`), and
  the gate's decisions and outcomes come from the gate domain through the
  ``gate`` callable (core does not import the gate).
"""

from __future__ import annotations

import math
import posixpath
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from empathy import __version__
from empathy.core.cochange.naming import is_test_path
from empathy.core.helpers import module_of
from empathy.core.history.blobs import BlobReader, indentation_complexity
from empathy.core.history.facts import HistoryFacts
from empathy.core.history.mainline import Mainline
from empathy.core.history.view import History
from empathy.core.model import Pattern
from empathy.core.predict.backtest import OURS
from empathy.core.predict.records import latest_record
from empathy.core.report.data import (
    ActivityTrend,
    Area,
    ComplexitySeries,
    ComplexityTrend,
    CouplingGraph,
    CouplingPair,
    ForecastRecord,
    GateRecord,
    HotspotFile,
    HotspotMap,
    Knowledge,
    LossFile,
    Meta,
    PartnerRecord,
    Period,
    ReportData,
)

if TYPE_CHECKING:
    from empathy.core.usecases.forecast import Forecast
    from empathy.core.workspace import Workspace

__all__ = ["MISSING", "build_report"]

#: What an empty section says, and the command that fills it.
MISSING = {
    "hotspots": (
        "No hotspot map: the forecast found no Python source file and no miner reported a hotspot "
        "(check `source_suffixes` and `exclude` with `empathy config show`)."
    ),
    "coupling": (
        "No coupled pair: no two source files changed together often enough for the coupling miner "
        "(its `min_shared_revs` and `min_degree` settings), and the riskiest files have no companion that "
        "changed with them twice (`empathy explain FILE` shows a file's)."
    ),
    "activity": "No activity trend: the history has no commit with a diff.",
    "complexity": (
        "No complexity trend: neither the forecast's riskiest files nor the files the complexity miner reports "
        "as growing have two readable revisions."
    ),
    "knowledge": "No knowledge map: no source file has a deliberate (non-bulk) commit that added lines.",
    "forecast_record": (
        "No forecast track record yet: `empathy eval` backtests the forecast on this repository's past "
        "and stores what it measured; the next report shows it."
    ),
    "partner_record": (
        "No partner track record yet: `empathy eval --partners` replays the last two years of commits "
        "against the partner suggestions and stores their precision."
    ),
    "gate": (
        "No gate decision or deploy outcome recorded yet: `empathy gate --base REF --head REF` decides on "
        "a change and keeps the decision; `empathy gate record --outcome success|failure|rollback --ref SHA` "
        "records what happened after a deploy."
    ),
}


def build_report(
    ws: Workspace,
    *,
    gate: Callable[[Workspace], GateRecord | None] | None = None,
    progress: Callable[[str], None] | None = None,
    max_files: int = 300,
    max_pairs: int = 30,
    partner_files: int = 12,
    complexity_files: int = 5,
    max_revisions: int = 25,
    max_areas: int = 15,
) -> ReportData:
    """Every section of the report, from a store that :meth:`Workspace.refresh` brought up to date.

    ``gate`` (the gate domain's :func:`empathy.gate.report_view.gate_record`)
    gives the gate's decisions and outcomes; without it that section is left
    empty.  The caps keep the figures readable and the file small; each
    section says how many it had before the cap.
    """
    say = progress or (lambda _m: None)
    history = ws.history()
    patterns = ws.store.patterns(ws.repo_id)
    by_kind: dict[str, list[Pattern]] = {}
    for p in patterns:
        by_kind.setdefault(p.kind, []).append(p)
    horizon = int(ws.settings["horizon_days"])
    meta = Meta(
        repository=ws.repo.key,
        root=str(ws.repo.root),
        head=ws.repo.head,
        commits=len(history.commits),
        analysed_at=history.now,
        newest_commit=history.newest,
        window_days=int(ws.settings["window_days"]),
        horizon_days=horizon,
        version=__version__,
        quiet_notice=ws.quiet_notice(),
    )
    say("forecast")
    forecast = ws.forecast()
    data = ReportData(
        meta=meta,
        hotspots=_hotspots(forecast, by_kind.get("hotspot", []), max_files),
        coupling=_coupling(
            ws, history, forecast, by_kind.get("coupling", []), by_kind.get("hotspot", []), max_pairs, partner_files
        ),
        activity=_activity(history),
        complexity=None,
        knowledge=_knowledge(ws, history, by_kind, max_areas),
        forecast_record=_forecast_record(ws, horizon),
        partner_record=_partner_record(ws),
        gate=None,
    )
    say("complexity trend")
    data.complexity = _complexity(ws, history, forecast, by_kind.get("complexity_trend", []),
                                  complexity_files, max_revisions)
    if gate is not None:
        say("gate decisions")
        record = gate(ws)
        data.gate = record if record is not None and (record.decisions or record.outcomes) else None
    for section in MISSING:
        if getattr(data, section) is None:
            data.missing[section] = MISSING[section]
    return data


def _hotspots(forecast: Forecast, hotspots: list[Pattern], cap: int) -> HotspotMap | None:
    """Every forecast file (riskiest first, at most ``cap``); without a forecast, the hotspot patterns."""
    hot = {p.subjects[0] for p in hotspots if p.subjects}
    run = forecast.run
    if run.forecasts:
        files = [
            HotspotFile(
                path=f.path,
                loc=f.snapshot.loc,
                commits_12m=f.snapshot.commits_12m,
                fixes_12m=f.snapshot.fixes_12m,
                forecast_rank=f.rank,
                probability=f.probability,
                hotspot=f.path in hot,
            )
            for f in run.forecasts
        ]
        if any(f.loc > 0 for f in files):  # a treemap of empty files has nothing to size
            return HotspotMap(files[:cap], len(files), "forecast", run.horizon_days, len(hot))
    if not hotspots:
        return None
    ranked = sorted(hotspots, key=lambda p: int(p.evidence.get("rank", 0) or 0))
    files = [
        HotspotFile(
            path=p.subjects[0],
            loc=int(p.evidence.get("loc", 0) or 0),
            commits_12m=int(p.evidence.get("commits_window", 0) or 0),
            fixes_12m=0,
            forecast_rank=None,
            probability=None,
            hotspot=True,
        )
        for p in ranked
        if p.subjects
    ]
    if not any(f.loc > 0 for f in files):
        return None
    return HotspotMap(files[:cap], len(files), "hotspots", run.horizon_days, len(hot))


def _coupling(
    ws: Workspace, history: History, forecast: Forecast, pairs: list[Pattern], hotspots: list[Pattern], cap: int,
    asked: int,
) -> CouplingGraph | None:
    """The coupling miner's strongest pairs, then the usual companions of the ``asked`` riskiest files.

    The companions are what ``empathy explain`` lists under "changes with"
    (:class:`HistoryFacts`: the non-test files and the test module changed
    with a file in its recent deliberate commits, at least twice), so files
    the miner's thresholds leave alone still show their partners.
    """
    ordered = sorted(
        (p for p in pairs if len(p.subjects) == 2),
        key=lambda p: (-float(p.evidence.get("degree", 0.0)), -int(p.evidence.get("shared_revs", 0)), p.subjects),
    )
    kept: list[CouplingPair] = []
    seen: set[frozenset[str]] = set()
    for p in ordered[:cap]:
        a, b = p.subjects
        degree = float(p.evidence.get("degree", 0.0))
        kept.append(
            CouplingPair(
                a=a,
                b=b,
                source="coupling",
                shared=int(p.evidence.get("shared_revs", 0)),
                of_commits=max(int(p.evidence.get("revs_a", 0)), int(p.evidence.get("revs_b", 0))),
                strength=round(min(degree, 100.0) / 100.0, 4),
                cross_module=bool(p.evidence.get("cross_module", False)),
                test=is_test_path(a) or is_test_path(b),
                detail=p.summary,
            )
        )
        seen.add(frozenset((a, b)))
    riskiest = [f.path for f in forecast.run.forecasts[:asked]] or [
        p.subjects[0] for p in sorted(hotspots, key=lambda p: -p.score)[:asked] if p.subjects
    ]
    facts = HistoryFacts(history)
    for path in riskiest:
        known = facts.of(path)
        if known is None or not known.commits:
            continue
        for other, n in [*known.partners, *([known.test] if known.test else [])]:
            if frozenset((path, other)) in seen or len(kept) >= 2 * cap:
                continue
            seen.add(frozenset((path, other)))
            kept.append(
                CouplingPair(
                    a=path,
                    b=other,
                    source="changes with",
                    shared=n,
                    of_commits=known.commits,
                    strength=round(n / known.commits, 4),
                    cross_module=module_of(path) != module_of(other),
                    test=is_test_path(other),
                    detail=f"changed with it in {n} of its last {known.commits} commits",
                )
            )
    if not kept:
        return None
    bulk = sum(1 for c in history.non_merge() if history.is_bulk(c))
    size = int(ws.settings.plugin("coupling").get("max_changeset_size", 30))
    return CouplingGraph(kept, len(ordered), riskiest, bulk, size)


def _month_start(ts: int) -> datetime:
    d = datetime.fromtimestamp(ts, tz=UTC)
    return datetime(d.year, d.month, 1, tzinfo=UTC)


def _activity(history: History, max_months: int = 60) -> ActivityTrend | None:
    """Commits, bug fixes and bulk sweeps per month, or per quarter when the history spans over ``max_months``."""
    commits = list(history.non_merge())
    if not commits:
        return None
    first = _month_start(min(c.committed_at for c in commits))
    last = _month_start(history.now)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = 3 if months > max_months else 1

    def key(ts: int) -> tuple[int, int]:
        d = datetime.fromtimestamp(ts, tz=UTC)
        return d.year, (d.month - 1) // step * step + 1

    counts: dict[tuple[int, int], list[int]] = {}
    for c in commits:
        row = counts.setdefault(key(c.committed_at), [0, 0, 0])
        row[0] += 1
        row[1] += history.is_fix(c)
        row[2] += history.is_bulk(c)
    periods: list[Period] = []
    year, month = key(int(first.timestamp()))
    end = key(int(last.timestamp()))
    while (year, month) <= end:
        n, fixes, bulk = counts.get((year, month), [0, 0, 0])
        label = f"{year}-{month:02d}" if step == 1 else f"{year} Q{(month - 1) // 3 + 1}"
        periods.append(Period(f"{year}-{month:02d}-01", label, n, fixes, bulk))
        month += step
        if month > 12:
            year, month = year + 1, month - 12
    return ActivityTrend("month" if step == 1 else "quarter", periods)


def _complexity(
    ws: Workspace,
    history: History,
    forecast: Forecast,
    trends: list[Pattern],
    top: int,
    max_revisions: int,
) -> ComplexityTrend | None:
    """Indentation complexity at the last ``max_revisions`` revisions of the ``top`` riskiest files."""
    said = {p.subjects[0]: p.summary for p in trends if p.subjects}
    picks: list[tuple[int, str, int | None]] = [
        (f.file_id, f.path, f.rank) for f in forecast.run.forecasts[:top]
    ]
    if not picks:  # no forecast: the files the complexity miner reported
        ids = {f.path: f.id for f in history.alive_files()}
        picks = [(ids[path], path, None) for path in list(said)[:top] if path in ids]
    if not picks:
        return None
    mainline = Mainline(ws.repo)
    reader = BlobReader(ws.repo.git_repo)
    by_file = history.deliberate_touches_by_file
    series: list[ComplexitySeries] = []
    for file_id, path, rank in picks:
        points: list[tuple[int, int]] = []
        measured: set[str] = set()
        for c, t in by_file.get(file_id, [])[-max_revisions:]:
            rev = mainline.at(c.committed_at)
            if rev is None or rev in measured:
                continue
            measured.add(rev)
            text = reader.read(rev, t.path) or reader.read(rev, path)
            if text is not None:
                points.append((c.committed_at, indentation_complexity(text)))
        head_text = reader.read(ws.repo.head, path)
        if head_text is not None and ws.repo.head not in measured:
            now = indentation_complexity(head_text)
            if not points or now != points[-1][1]:
                points.append((max(history.newest, points[-1][0] if points else 0), now))
        points.sort()
        if len(points) >= 2:
            series.append(ComplexitySeries(path, points, rank, said.get(path)))
    if not series:
        return None
    return ComplexityTrend(series, len(said), max_revisions)


def _area(path: str) -> str:
    return posixpath.dirname(path) or "."


def _knowledge(ws: Workspace, history: History, by_kind: dict[str, list[Pattern]], cap: int) -> Knowledge | None:
    """Per directory: its main author by added lines and the share written by authors inactive for a year."""
    section: dict[str, Any] = ws.settings.plugin("ownership")
    inactive_days = int(section.get("inactive_days", 365))
    names = history.author_names
    inactive = history.inactive_authors(inactive_days)  # as the ownership miner counts them
    added: dict[str, Counter[str]] = {}
    files: Counter[str] = Counter()
    by_file = history.deliberate_touches_by_file
    for f in history.alive_files():
        if not ws.is_source(f.path):
            continue
        area = _area(f.path)
        counter = added.setdefault(area, Counter())
        before = sum(counter.values())
        for c, t in by_file.get(f.id, []):
            counter[c.email] += t.added or 0
        if sum(counter.values()) > before:
            files[area] += 1
    areas: list[Area] = []
    for area, counter in added.items():
        total = sum(counter.values())
        if total <= 0:
            continue
        main, main_added = max(counter.items(), key=lambda kv: (kv[1], kv[0]))
        areas.append(
            Area(
                area=area,
                files=files[area],
                lines_added=total,
                main_author=names.get(main, main),
                main_share=round(main_added / total, 4),
                main_active=main not in inactive,
                authors=sum(1 for v in counter.values() if v > 0),
                inactive_share=round(sum(v for e, v in counter.items() if e in inactive) / total, 4),
            )
        )
    if not areas:
        return None
    areas.sort(key=lambda a: (-a.lines_added, a.area))
    loss = sorted(
        (
            LossFile(p.subjects[0], round(float(p.score), 4), p.summary)
            for p in by_kind.get("knowledge_loss", [])
            if p.subjects
        ),
        key=lambda x: (-x.inactive_share, x.path),
    )
    return Knowledge(areas[:cap], len(areas), inactive_days, loss, len(by_kind.get("knowledge_island", [])))


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _forecast_record(ws: Workspace, horizon: int) -> ForecastRecord | None:
    """The file backtest ``empathy eval`` stored for the forecast's horizon (else for any horizon)."""
    summary = latest_record(ws.store, ws.repo_id, "file", horizon) or latest_record(ws.store, ws.repo_id, "file", None)
    if not summary or not summary.get("rankings"):
        return None
    touch = {
        name: value
        for name, metrics in summary["rankings"].items()
        if (value := _finite((metrics or {}).get("touch@20%"))) is not None
    }
    if not touch:
        return None
    by_lines = {
        name: value
        for name, metrics in summary["rankings"].items()
        if (value := _finite((metrics or {}).get("touch@20%LOC"))) is not None
    }
    return ForecastRecord(
        horizon_days=int(summary.get("horizon_days", horizon)),
        cutoffs=int(summary.get("cutoffs", 0)),
        touch_at_20=touch,
        touch_at_20_loc=by_lines,
        ours=OURS,
        best_baseline=str(summary.get("best_baseline", "")),
        ece=_finite(summary.get("ece")),
        ece_pooled=_finite(summary.get("ece_pooled")),
        calibration_pairs=int(summary.get("calibration_pairs", 0) or 0),
    )


def _partner_record(ws: Workspace) -> PartnerRecord | None:
    """The replay ``empathy eval --partners`` stored (the record the hover and the gate quote)."""
    summary = latest_record(ws.store, ws.repo_id, "partners", None)
    if not summary or not summary.get("queries"):
        return None
    return PartnerRecord(
        queries=int(summary["queries"]),
        years=float(summary.get("years", 2.0)),
        recall_at_1=_finite(summary.get("recall@1")),
        recall_at_3=_finite(summary.get("recall@3")),
        recall_at_5=_finite(summary.get("recall@5")),
        warned=int(summary.get("warned", 0) or 0),
        warn_share=_finite(summary.get("warn_share")),
        warn_precision=_finite(summary.get("warn_precision")),
    )
