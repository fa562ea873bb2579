"""What the visual report shows, as plain typed data: no plotting here.

:func:`empathy.core.report.build_report` fills these from the use-cases the
other commands already use (the forecast, the stored patterns, the history,
the eval records); the HTML surface (:mod:`empathy.report`) only draws them,
and ``empathy report --json`` prints them.  A section whose source does not
exist yet (no ``empathy eval`` run, no gate decision) is None, and
:attr:`ReportData.missing` says in words which command creates it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from empathy.core.helpers import json_safe

__all__ = [
    "ActivityTrend",
    "Area",
    "ComplexitySeries",
    "ComplexityTrend",
    "CouplingGraph",
    "CouplingPair",
    "ForecastRecord",
    "GateEntry",
    "GateRecord",
    "HotspotFile",
    "HotspotMap",
    "Knowledge",
    "LossFile",
    "Meta",
    "PartnerRecord",
    "Period",
    "ReportData",
]


@dataclass
class Meta:
    """Which repository, at which commit, as of when, with which windows."""

    repository: str
    root: str
    head: str
    commits: int
    #: the analysis time (windows end here) and the newest commit's time, unix seconds
    analysed_at: int
    newest_commit: int
    window_days: int
    horizon_days: int
    version: str
    #: said when the repository has been quiet (windows end today, not at its last commit)
    quiet_notice: str | None = None


@dataclass
class HotspotFile:
    """One rectangle of the hotspot map: a file sized by its lines, coloured by its forecast rank."""

    path: str
    loc: int
    commits_12m: int
    fixes_12m: int
    #: 1 = riskiest; None when the file is outside the forecast (hotspot patterns only)
    forecast_rank: int | None
    probability: float | None
    #: the churn miner reported it as a hotspot (top share of files by commits x log size)
    hotspot: bool


@dataclass
class HotspotMap:
    files: list[HotspotFile]
    #: files the source (forecast or hotspot patterns) had, before the cap on rectangles
    total_files: int
    #: "forecast" (every Python source file, coloured by forecast rank) or "hotspots" (the hotspot patterns)
    source: str
    horizon_days: int
    hotspot_patterns: int


@dataclass
class CouplingPair:
    """Two files that change together, from one of two sources (``source``).

    ``coupling``: a pattern of the coupling miner over the whole history
    (``strength`` is its degree: shared commits over the mean of the two
    files' commits).  ``changes with``: what ``empathy explain`` shows for one
    of the riskiest files ``a``: ``b`` changed in ``shared`` of ``a``'s last
    ``of_commits`` deliberate commits (``strength`` is that share).
    """

    a: str
    b: str
    source: str
    shared: int
    of_commits: int
    strength: float
    cross_module: bool
    test: bool
    detail: str


@dataclass
class CouplingGraph:
    """The strongest partners: coupling patterns, then the riskiest files' usual companions (no bulk sweeps)."""

    pairs: list[CouplingPair]
    #: coupling patterns found (before the cap), and the riskiest files asked for their companions
    coupling_patterns: int
    asked: list[str]
    bulk_commits: int
    max_changeset_size: int


@dataclass
class Period:
    #: first day of the month or quarter, ``YYYY-MM-DD``
    start: str
    label: str
    commits: int
    fixes: int
    bulk: int


@dataclass
class ActivityTrend:
    """Commits and bug-fix commits per month (per quarter for long histories); merges left out."""

    unit: str
    periods: list[Period]


@dataclass
class ComplexitySeries:
    path: str
    #: (unix time, indentation complexity) at the file's recent revisions, oldest first
    points: list[tuple[int, int]]
    forecast_rank: int | None
    #: the complexity miner's sentence when it reported a growing trend for this file
    trend: str | None = None


@dataclass
class ComplexityTrend:
    series: list[ComplexitySeries]
    #: how many files the complexity miner reported as growing
    trend_patterns: int
    max_revisions: int


@dataclass
class Area:
    """One directory: who wrote its lines, and how much was written by people who left."""

    area: str
    files: int
    lines_added: int
    main_author: str
    main_share: float
    main_active: bool
    authors: int
    inactive_share: float


@dataclass
class LossFile:
    path: str
    inactive_share: float
    summary: str


@dataclass
class Knowledge:
    areas: list[Area]
    total_areas: int
    inactive_days: int
    loss_files: list[LossFile]
    island_files: int


@dataclass
class ForecastRecord:
    """``empathy eval``'s stored file-level backtest: what the ranking's top 20% held afterwards."""

    horizon_days: int
    cutoffs: int
    #: ranking -> mean share of later bug-fix touches in its top 20% of files
    touch_at_20: dict[str, float]
    #: ranking -> the same share when reading files in its order until 20% of all lines (the effort metric)
    touch_at_20_loc: dict[str, float]
    ours: str
    best_baseline: str
    ece: float | None
    ece_pooled: float | None
    calibration_pairs: int


@dataclass
class PartnerRecord:
    """``empathy eval --partners``' stored replay of recent commits with one file hidden."""

    queries: int
    years: float
    recall_at_1: float | None
    recall_at_3: float | None
    recall_at_5: float | None
    warned: int
    warn_share: float | None
    warn_precision: float | None


@dataclass
class GateEntry:
    """One gate decision and the deploy outcome recorded for its head commit, if any."""

    at: int
    base: str
    head: str
    decision: str
    risk: float | None
    outcome: str | None = None
    outcome_at: int | None = None


@dataclass
class GateRecord:
    decisions: list[GateEntry]
    #: recorded deploy outcomes in all, and those whose commit the gate never decided on
    outcomes: int
    outcomes_without_decision: int
    service: str
    #: decision -> outcome -> count (outcome "none" when nothing was recorded)
    table: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class ReportData:
    meta: Meta
    hotspots: HotspotMap | None
    coupling: CouplingGraph | None
    activity: ActivityTrend | None
    complexity: ComplexityTrend | None
    knowledge: Knowledge | None
    forecast_record: ForecastRecord | None
    partner_record: PartnerRecord | None
    gate: GateRecord | None
    #: section -> why it is empty and the command that fills it
    missing: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything, for ``--json`` (NaN as null)."""
        payload: dict[str, Any] = json_safe(dataclasses.asdict(self))
        return payload
