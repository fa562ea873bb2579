"""The report as one self-contained HTML page: inline SVG figures, captions with the numbers, tables.

Nothing on the page is fetched: no script, no stylesheet or font link, no
image URL (the favicon is an empty ``data:`` URL so a browser does not ask
for one).  Every name from the repository (paths, authors, tags) is escaped.
Each figure is a ``<figure>`` holding the SVG, a ``<figcaption>`` saying what
it shows with its key numbers, and the same data as a ``<table>`` for screen
readers and for copying.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from empathy.core.report.data import (
    ActivityTrend,
    ComplexityTrend,
    CouplingGraph,
    ForecastRecord,
    GateRecord,
    HotspotMap,
    Knowledge,
    PartnerRecord,
    ReportData,
)
from empathy.report import charts

__all__ = ["render_page"]



def _checkout_name(root: str) -> str:
    """The checkout's folder name (``/work/repos/flask`` -> ``flask``)."""
    return root.rstrip("/").rsplit("/", 1)[-1] or root

def _day(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _text(words: str) -> str:
    """Escaped text with `backticks` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(words))


@dataclass
class _Table:
    caption: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    #: columns (by index) right-aligned as numbers
    numeric: frozenset[int] = frozenset()

    def html(self) -> str:
        head = "".join(f'<th scope="col">{escape(h)}</th>' for h in self.headers)
        body = []
        for row in self.rows:
            cells = []
            for i, value in enumerate(row):
                cls = ' class="num"' if i in self.numeric else ""
                tag = "th" if i == 0 else "td"
                scope = ' scope="row"' if i == 0 else ""
                cells.append(f"<{tag}{scope}{cls}>{escape(str(value))}</{tag}>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return (
            f"<table><caption>{escape(self.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )


def _figure(svg: str, caption: str, tables: Sequence[_Table]) -> str:
    details = "".join(
        f"<details><summary>{escape(t.caption)} ({_n(len(t.rows), 'row')})</summary>{t.html()}</details>"
        for t in tables
    )
    return f"<figure>{svg}<figcaption>{_text(caption)}</figcaption>{details}</figure>"


# -- the sections -----------------------------------------------------------------


def _hotspots(data: HotspotMap) -> str:
    drawn = [f for f in data.files if f.loc > 0]
    top = sorted(data.files, key=lambda f: (f.forecast_rank or 10**9, -f.commits_12m, f.path))[:3]
    examples = "; ".join(
        f"{f.path} (#{f.forecast_rank}: {f.loc} lines, {f.commits_12m} commits and {f.fixes_12m} bug fixes "
        "in 12 months)"
        if f.forecast_rank
        else f"{f.path} ({f.loc} lines, {f.commits_12m} commits in 12 months)"
        for f in top
    )
    if data.source == "forecast":
        what = (
            f"{len(drawn)} of the {data.total_files} Python source files the forecast ranks, each sized by its "
            f"non-blank lines at HEAD and coloured by its forecast rank for a bug-fix commit within "
            f"{data.horizon_days} days (darkest: riskiest)"
        )
    else:
        what = (
            f"the {_n(len(drawn), 'hotspot')} the churn miner reports (no file is in the forecast), each sized by its "
            "lines and coloured by its commits in the window"
        )
    left = len(data.files) - len(drawn)
    caption = (
        f"Hotspot map: {what}; {_n(data.hotspot_patterns, 'file')} outlined in black: the churn miner's hotspots "
        f"(many commits on many lines)."
        + (f" The riskiest {len(data.files)} are shown." if data.total_files > len(data.files) else "")
        + (f" {_n(left, 'empty file')} not drawn." if left else "")
        + f" Riskiest: {examples}."
    )
    table = _Table(
        "Files of the hotspot map",
        ["file", "forecast rank", "lines", "commits (12 months)", "bug fixes (12 months)",
         f"P(bug fix within {data.horizon_days} days)", "hotspot"],
        [
            [f.path, f.forecast_rank or "-", f.loc, f.commits_12m, f.fixes_12m,
             "-" if f.probability is None else f"{f.probability:.2f}", "yes" if f.hotspot else "no"]
            for f in data.files
        ],
        frozenset({1, 2, 3, 4, 5}),
    )
    return _figure(charts.hotspot_treemap(data), caption, [table])


def _coupling(data: CouplingGraph) -> str:
    patterns = [p for p in data.pairs if p.source == "coupling"]
    companions = [p for p in data.pairs if p.source == "changes with"]
    strongest = max(data.pairs, key=lambda p: (p.strength, p.shared))
    cross = sum(1 for p in data.pairs if p.cross_module)
    caption = (
        f"Change coupling: {len(data.pairs)} pairs of files that change together. Dark blue lines: the "
        f"{len(patterns)} strongest of the {data.coupling_patterns} coupled pairs the coupling miner found over the "
        "whole history, thicker the higher their degree (shared commits over the mean of the two files' commits). "
        f"Light blue lines: {_n(len(companions), 'usual companion')} of the {_n(len(data.asked), 'riskiest file')} "
        "(red dots), "
        "as `empathy explain` lists them: files changed with them in at least two of their recent commits, thicker "
        f"the larger that share; green dots are tests. Dashed lines cross module boundaries ({cross}). Left out "
        f"everywhere: {_n(data.bulk_commits, 'bulk sweep')} (formatters, mass renames); the miner also leaves "
        f"out commits touching over {data.max_changeset_size} files. Strongest: {strongest.a} with {strongest.b} "
        f"({strongest.detail}, {strongest.strength:.0%})."
    )
    table = _Table(
        "Pairs that change together",
        ["file", "partner", "source", "shared commits", "of commits", "strength", "across modules", "evidence"],
        [
            [p.a, p.b, p.source, p.shared, p.of_commits, _pct(p.strength), "yes" if p.cross_module else "no",
             p.detail]
            for p in data.pairs
        ],
        frozenset({3, 4, 5}),
    )
    return _figure(charts.coupling_chart(data), caption, [table])


def _activity(data: ActivityTrend) -> str:
    periods = data.periods
    commits = sum(p.commits for p in periods)
    fixes = sum(p.fixes for p in periods)
    bulk = sum(p.bulk for p in periods)
    recent = periods[-12:]
    busiest = max(periods, key=lambda p: (p.commits, p.start))
    caption = (
        f"Activity per {data.unit} from {periods[0].label} to {periods[-1].label}: {commits} commits, {fixes} of "
        f"them bug fixes and {_n(bulk, 'bulk sweep')} (merges left out). Bars are commits (grey on top: bulk sweeps), "
        "the red line bug-fix commits as the repository's own conventions mark them. "
        f"The last {len(recent)} {data.unit}s: {sum(p.commits for p in recent)} commits, "
        f"{sum(p.fixes for p in recent)} bug fixes; the busiest {data.unit}: {busiest.label} "
        f"({busiest.commits} commits)."
    )
    table = _Table(
        f"Commits per {data.unit}",
        [data.unit, "commits", "bug-fix commits", "bulk sweeps"],
        [[p.label, p.commits, p.fixes, p.bulk] for p in periods],
        frozenset({1, 2, 3}),
    )
    return _figure(charts.activity_chart(data), caption, [table])


def _complexity(data: ComplexityTrend) -> str:
    changes = "; ".join(
        f"{s.path}: {s.points[0][1]} to {s.points[-1][1]}"
        + (f" ({(s.points[-1][1] - s.points[0][1]) / max(s.points[0][1], 1):+.0%})")
        for s in data.series
    )
    caption = (
        "Complexity trend: indentation complexity (the sum of the indentation levels of the code lines, the "
        f"complexity miner's measure) at each of the last {data.max_revisions} revisions of the "
        f"{len(data.series)} riskiest files in the forecast, read as the file stood on the main line then. Solid "
        f"lines are files the complexity miner reports as growing ({data.trend_patterns} files in all), dashed "
        f"lines the others. {changes}."
    )
    table = _Table(
        "Complexity at each revision",
        ["file", "forecast rank", "date", "indentation complexity"],
        [[s.path, s.forecast_rank or "-", _day(t), v] for s in data.series for t, v in s.points],
        frozenset({1, 3}),
    )
    return _figure(charts.complexity_chart(data), caption, [table])


def _knowledge(data: Knowledge) -> str:
    worst = max(data.areas, key=lambda a: (a.inactive_share, a.lines_added))
    caption = (
        f"Knowledge distribution: the {len(data.areas)} directories with the most lines added (of "
        f"{data.total_areas}), each bar split into the main author's share of the added lines (red when that "
        f"author has made no commit for {data.inactive_days} days), other active authors, and authors inactive "
        f"for {data.inactive_days} days (light red: knowledge loss). Most written by inactive authors: "
        f"{worst.area} ({worst.inactive_share:.0%}). The ownership miner reports knowledge loss on "
        f"{_n(len(data.loss_files), 'file')} and {_n(data.island_files, 'knowledge island')} (one author wrote "
        "most of a file)."
    )
    tables = [
        _Table(
            "Authors per directory",
            ["directory", "files", "lines added", "main author", "main author's share", "main author active",
             "authors", "share by inactive authors"],
            [
                [a.area, a.files, a.lines_added, a.main_author, _pct(a.main_share), "yes" if a.main_active else "no",
                 a.authors, _pct(a.inactive_share)]
                for a in data.areas
            ],
            frozenset({1, 2, 4, 6, 7}),
        )
    ]
    if data.loss_files:
        tables.append(
            _Table(
                "Files with knowledge loss",
                ["file", "share by inactive authors", "why"],
                [[f.path, _pct(f.inactive_share), f.summary] for f in data.loss_files],
                frozenset({1}),
            )
        )
    return _figure(charts.knowledge_chart(data), caption, tables)


def _forecast_record(data: ForecastRecord) -> str:
    ours = data.touch_at_20.get(data.ours)
    best = data.touch_at_20.get(data.best_baseline)
    rand = data.touch_at_20.get("random")
    calibration = (
        f" Calibration: the probabilities were off by {data.ece_pooled:.1%} on average over "
        f"{data.calibration_pairs} file-cutoff pairs (pooled ECE)"
        + ("; they are shown only at 5% or less." if data.ece_pooled > 0.05 else ", so they are shown.")
        if data.ece_pooled is not None
        else " The probabilities could not be calibrated here, so forecasts show the rank."
    )
    caption = (
        f"Forecast against what happened (`empathy eval`, {data.cutoffs} past cutoffs, {data.horizon_days}-day "
        f"horizon): the 20% of files the forecast ranked riskiest held {_pct(ours)} of the next "
        f"{data.horizon_days} days' bug-fix touches"
        + (f"; the best simple rule ({data.best_baseline}) held {_pct(best)}" if best is not None else "")
        + (f"; a random order {_pct(rand)}" if rand is not None else "")
        + ". Red: the forecast; blue: the baselines; grey: random and the oracle. The per-line orders are made "
        "for the lines-read measure (the share held when reading files in that order until 20% of all lines), "
        f"which the table gives too.{calibration}"
    )
    table = _Table(
        "Share of later bug-fix touches in each ranking's first files",
        ["ranking", "top 20% of files (touch@20%)", "first 20% of lines (touch@20%LOC)"],
        [
            [name, _pct(v), _pct(data.touch_at_20_loc.get(name))]
            for name, v in sorted(data.touch_at_20.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        frozenset({1, 2}),
    )
    return _figure(charts.forecast_record_chart(data), caption, [table])


def _partner_record(data: PartnerRecord) -> str:
    warned = (
        f"a warning was raised on {_pct(data.warn_share)} of them ({data.warned}) and was right "
        f"{_pct(data.warn_precision)} of the time"
        if data.warned
        else "no warning was raised"
    )
    caption = (
        f"Partner predictions (`empathy eval --partners`): {data.queries} commits of the last {data.years:g} years, "
        f"each replayed with one file hidden and asked from the history before it. The hidden file was the first "
        f"suggestion {_pct(data.recall_at_1)} of the time, among the first three {_pct(data.recall_at_3)}, among "
        f"the first five {_pct(data.recall_at_5)}; {warned}."
    )
    table = _Table(
        "Partner track record",
        ["measure", "value"],
        [
            ["replayed commits", data.queries],
            ["recall@1", _pct(data.recall_at_1)],
            ["recall@3", _pct(data.recall_at_3)],
            ["recall@5", _pct(data.recall_at_5)],
            ["commits warned on", data.warned],
            ["share warned on", _pct(data.warn_share)],
            ["warnings right (precision)", _pct(data.warn_precision)],
        ],
        frozenset({1}),
    )
    return _figure(charts.partner_record_chart(data), caption, [table])


def _gate(data: GateRecord) -> str:
    counts = ", ".join(f"{sum(v.values())} {k}" for k, v in sorted(data.table.items()))
    with_outcome = [e for e in data.decisions if e.outcome]
    failed = [e for e in with_outcome if e.outcome in ("failure", "rollback")]
    failed_after = ", ".join(sorted({e.decision for e in failed}))
    caption = (
        f"Gate decisions and what happened: {_n(len(data.decisions), 'commit')} decided on for service "
        f"{data.service} ({counts or 'none'}), each at its latest decision; {len(with_outcome)} of them "
        "with a recorded deploy outcome"
        + (f", {len(failed)} a failure or rollback (after a decision of: {failed_after}). " if failed else ". ")
        + "Filled markers have an outcome (circle: success, cross: failure, square: rollback); hollow ones none yet."
        + (
            f" {data.outcomes_without_decision} of the {data.outcomes} recorded outcomes are for commits the gate "
            "never decided on."
            if data.outcomes_without_decision
            else ""
        )
        + ("" if data.decisions else " No decision to draw: the gate has not decided on a commit here yet.")
    )
    outcomes = sorted({o for row in data.table.values() for o in row})
    tables = [
        _Table(
            "Decisions",
            ["decided", "head", "base", "decision", "risk", "outcome", "outcome recorded"],
            [
                [_day(e.at), e.head[:12], e.base[:12], e.decision, "-" if e.risk is None else f"{e.risk:.2f}",
                 e.outcome or "-", _day(e.outcome_at)]
                for e in data.decisions
            ],
            frozenset({4}),
        ),
        _Table(
            "Decisions by outcome",
            ["decision", *outcomes],
            [[d, *(row.get(o, 0) for o in outcomes)] for d, row in sorted(data.table.items())],
            frozenset(range(1, len(outcomes) + 1)),
        ),
    ]
    if not data.decisions:
        details = "".join(f"<details><summary>{escape(t.caption)}</summary>{t.html()}</details>" for t in tables)
        return f"<p>{_text(caption)}</p>{details}"
    return _figure(charts.gate_chart(data), caption, tables)


_STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 72rem;
       padding: 1rem 1.5rem 3rem; color: #1f2328; line-height: 1.45; }
header p { margin: .2rem 0; color: #444; }
nav ul { display: flex; flex-wrap: wrap; gap: .4rem 1rem; list-style: none; padding: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
figure { margin: 1rem 0; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { margin: .4rem 0; }
details { margin: .4rem 0; }
summary { cursor: pointer; color: #3b6ea8; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border: 1px solid #ddd; padding: .15rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #f4f6f8; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.missing { background: #fff8e5; border-left: 4px solid #e69f00; padding: .5rem .8rem; }
code { background: #f4f6f8; padding: 0 .25rem; border-radius: 3px; }
"""

#: (anchor, heading, attribute of ReportData, renderer)
_SECTIONS: list[tuple[str, str, str, Callable[[Any], str]]] = [
    ("hotspots", "Hotspot map", "hotspots", _hotspots),
    ("coupling", "Change coupling", "coupling", _coupling),
    ("activity", "Fixes and changes over time", "activity", _activity),
    ("complexity", "Complexity trend of the riskiest files", "complexity", _complexity),
    ("knowledge", "Knowledge distribution", "knowledge", _knowledge),
    ("forecast-record", "Track record: the forecast against what happened", "forecast_record", _forecast_record),
    ("partner-record", "Track record: partner predictions", "partner_record", _partner_record),
    ("gate", "Track record: the gate's decisions and their outcomes", "gate", _gate),
]


def render_page(data: ReportData) -> str:
    """The whole HTML document."""
    meta = data.meta
    made = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<li><a href="#{anchor}">{escape(title)}</a></li>' for anchor, title, _a, _r in _SECTIONS)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        # the checkout analysed, as every header names it (the repository key, often the origin, follows)
        f"<title>empathy report: {escape(_checkout_name(meta.root))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<header><h1>empathy report: {escape(_checkout_name(meta.root))}</h1>",
        f"<p>{escape(meta.root)} (repository {escape(meta.repository)}) at <code>{escape(meta.head[:12])}</code>: "
        f"{meta.commits} commits, the newest on "
        f"{_day(meta.newest_commit)}; analysed as of {_day(meta.analysed_at)} (window {meta.window_days} days, "
        f"forecast horizon {meta.horizon_days} days).</p>",
    ]
    if meta.quiet_notice:
        parts.append(f'<p class="missing">Note: {_text(meta.quiet_notice)}</p>')
    parts.append(
        f"<p>Made by empathy {escape(meta.version)} on {made} with <code>empathy report --html</code>; every "
        "number below is computed from this repository's history and stored records. Each figure's data is in "
        "the table below it.</p>"
    )
    parts.append(f'<nav aria-label="sections"><ul>{nav}</ul></nav></header><main>')
    for anchor, title, attribute, render in _SECTIONS:
        parts.append(f'<section id="{anchor}" aria-labelledby="{anchor}-title">')
        parts.append(f'<h2 id="{anchor}-title">{escape(title)}</h2>')
        value = getattr(data, attribute)
        if value is None:
            parts.append(f'<p class="missing">{_text(data.missing.get(attribute, "No data."))}</p>')
        else:
            parts.append(render(value))
        parts.append("</section>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)
