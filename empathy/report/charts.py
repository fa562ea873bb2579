"""The report's figures, drawn with matplotlib from :mod:`empathy.core.report.data` (no numbers computed here).

Each function returns one inline ``<svg>`` (:func:`empathy.report.svg.svg_of`);
the captions and tables that carry the same numbers are written by
:mod:`empathy.report.page`.
"""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
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
)
from empathy.report.svg import new_figure, svg_of

__all__ = [
    "activity_chart",
    "complexity_chart",
    "coupling_chart",
    "forecast_record_chart",
    "gate_chart",
    "hotspot_treemap",
    "knowledge_chart",
    "partner_record_chart",
]

_BLUE = "#3b6ea8"
_LIGHT_BLUE = "#a9c4e4"
_RED = "#c0392b"
_LIGHT_RED = "#f0b3ab"
_GREY = "#8c8c8c"
_DECISION_COLOURS = {"pass": "#2e8b57", "warn": "#e69f00", "block": _RED, "inconclusive": _GREY}


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _short(path: str, limit: int = 28) -> str:
    name = posixpath.basename(path) or path
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _distinct_names(paths: list[str]) -> dict[str, str]:
    """Each path's shortest label that no other path shares: the file name, else parent/name, and so on.

    Two files called app.py (src/flask/app.py, src/flask/sansio/app.py) must not look like one.
    """
    depth = dict.fromkeys(paths, 1)
    while True:
        labels = {p: "/".join(p.split("/")[-depth[p] :]) for p in paths}
        seen: dict[str, list[str]] = {}
        for p, label in labels.items():
            seen.setdefault(label, []).append(p)
        clashes = [p for group in seen.values() if len(group) > 1 for p in group if depth[p] < p.count("/") + 1]
        if not clashes:
            return labels
        for p in clashes:
            depth[p] += 1


def hotspot_treemap(data: HotspotMap) -> str:
    """Files as rectangles sized by lines, coloured by forecast rank (or recent commits), hotspots outlined."""
    import matplotlib as mpl
    import squarify  # type: ignore[import-untyped]
    from matplotlib.patches import Rectangle

    files = sorted((f for f in data.files if f.loc > 0), key=lambda f: (-f.loc, f.path))
    width, height = 100.0, 60.0
    fig, ax = new_figure(10, 6)
    cmap = mpl.colormaps["YlOrRd"]
    if data.source == "forecast":
        ranked = max((f.forecast_rank or 0) for f in data.files) or 1
        shade = {f.path: 1.0 - ((f.forecast_rank or ranked) - 1) / max(ranked - 1, 1) for f in files}
        legend = "forecast rank (dark: riskiest)"
    else:
        top = max((f.commits_12m for f in files), default=1) or 1
        shade = {f.path: f.commits_12m / top for f in files}
        legend = "commits in the last 12 months (dark: most)"
    rects = squarify.squarify(squarify.normalize_sizes([f.loc for f in files], width, height), 0, 0, width, height)
    names = _distinct_names([f.path for f in files])
    for f, r in zip(files, rects, strict=True):
        ax.add_patch(
            Rectangle(
                (r["x"], r["y"]),
                r["dx"],
                r["dy"],
                facecolor=cmap(0.1 + 0.85 * shade[f.path]),
                edgecolor="#000000" if f.hotspot else "#ffffff",
                linewidth=1.6 if f.hotspot else 0.5,
            )
        )
        name = names[f.path] if len(names[f.path]) <= 40 else names[f.path][:39] + "…"
        # points per data unit: the axes take about 88% of the figure's 720 points of width
        ppu = 0.88 * 720 / width
        size = min(9.0, r["dy"] * ppu * 0.55, r["dx"] * ppu * 0.92 / (0.6 * max(len(name), 1)))
        if size >= 5.0:
            dark = shade[f.path] > 0.55
            ax.text(
                r["x"] + r["dx"] / 2,
                r["y"] + r["dy"] / 2,
                name,
                ha="center",
                va="center",
                fontsize=size,
                color="#ffffff" if dark else "#222222",
                clip_on=True,
            )
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.invert_yaxis()
    ax.set_axis_off()
    scalar = mpl.cm.ScalarMappable(cmap=cmap, norm=mpl.colors.Normalize(0, 1))
    bar = fig.colorbar(scalar, ax=ax, fraction=0.03, pad=0.01, ticks=[0, 1])
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label(legend)
    return svg_of(fig, "hotspots", "Hotspot map: files sized by lines, coloured by " + legend)


def coupling_chart(data: CouplingGraph) -> str:
    """Files joined by how often they change together: width by strength, colour by where the pair comes from."""
    import networkx as nx  # type: ignore[import-untyped]
    from matplotlib.lines import Line2D

    graph = nx.Graph()
    for p in data.pairs:
        graph.add_edge(p.a, p.b, weight=p.strength, source=p.source, cross=p.cross_module)
    # components side by side, each laid out alone: one spring layout pushes small components to the corners
    pos: dict[str, Any] = {}
    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c))
    offset = 0.0
    for nodes_ in components:
        sub = graph.subgraph(nodes_)
        width = max(1.0, 2.2 * (len(nodes_) / len(graph)) ** 0.5 * 2)
        laid = nx.spring_layout(sub, seed=7, weight="weight", k=3.0 / max(len(sub) ** 0.5, 1), iterations=300,
                                scale=width / 2, center=(offset + width / 2, 0.0))
        pos.update(laid)
        offset += width + 0.4
    fig, ax = new_figure(10, 7)
    colour = {"coupling": _BLUE, "changes with": _LIGHT_BLUE}
    for a, b, d in sorted(graph.edges(data=True), key=lambda e: e[2]["weight"]):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        ax.plot(
            [x1, x2],
            [y1, y2],
            color=colour.get(d["source"], _GREY),
            linewidth=0.8 + 5.0 * d["weight"],
            linestyle="--" if d["cross"] else "-",
            solid_capstyle="round",
            zorder=1,
        )
    asked = set(data.asked)
    tests = {p.b for p in data.pairs if p.test}
    nodes = sorted(graph.nodes)
    ax.scatter(
        [pos[n][0] for n in nodes],
        [pos[n][1] for n in nodes],
        s=[40 + 30 * graph.degree[n] for n in nodes],
        c=[_RED if n in asked else ("#2e8b57" if n in tests else _GREY) for n in nodes],
        zorder=2,
    )
    for n in nodes:
        x, y = pos[n]
        ax.annotate(_short(n), (x, y), xytext=(0, 6), textcoords="offset points", ha="center", va="bottom",
                    fontsize=7, color="#222222", zorder=3)
    handles = [
        Line2D([], [], color=_BLUE, linewidth=3, label="coupling pattern (whole history)"),
        Line2D([], [], color=_LIGHT_BLUE, linewidth=3, label="changes with a risky file (its recent commits)"),
        Line2D([], [], color=_GREY, linewidth=1.5, linestyle="--", label="across modules"),
        Line2D([], [], marker="o", linestyle="", color=_RED, label="one of the riskiest files"),
        Line2D([], [], marker="o", linestyle="", color="#2e8b57", label="test file"),
    ]
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_axis_off()
    ax.margins(0.08)
    return svg_of(fig, "coupling", "Change-coupling graph of the strongest partners")


def activity_chart(data: ActivityTrend) -> str:
    """Commits and bug-fix commits per period, bulk sweeps shown apart."""
    fig, ax = new_figure(10, 3.6)
    xs = list(range(len(data.periods)))
    commits = [p.commits - p.bulk for p in data.periods]
    ax.bar(xs, commits, color=_LIGHT_BLUE, width=0.9, label="commits (not bulk)")
    ax.bar(xs, [p.bulk for p in data.periods], bottom=commits, color="#d9d9d9", width=0.9, label="bulk sweeps")
    ax.plot(xs, [p.fixes for p in data.periods], color=_RED, linewidth=1.6, marker=".", label="bug-fix commits")
    step = max(1, len(xs) // 12)
    ax.set_xticks(xs[::step], [p.label for p in data.periods][::step], rotation=45, ha="right")
    ax.set_ylabel(f"per {data.unit}")
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3)
    return svg_of(fig, "activity", f"Commits and bug-fix commits per {data.unit}")


def complexity_chart(data: ComplexityTrend) -> str:
    """Indentation complexity at each recent revision of the riskiest files."""
    fig, ax = new_figure(10, 3.8)
    for s in data.series:
        # the path, not the bare name: several files are called __init__.py (and a legend hides "_" labels)
        path = s.path if len(s.path) <= 40 else "…" + s.path[-39:]
        label = path + (f" (#{s.forecast_rank})" if s.forecast_rank else "")
        ax.plot(
            [_when(t) for t, _v in s.points],
            [v for _t, v in s.points],
            marker="o",
            markersize=3,
            linewidth=1.4,
            linestyle="-" if s.trend else "--",
            label=label,
        )
    ax.set_ylabel("indentation complexity")
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.autofmt_xdate()
    return svg_of(fig, "complexity", "Complexity trend of the riskiest files")


def knowledge_chart(data: Knowledge) -> str:
    """Per directory: the main author's share, other active authors, authors inactive for a year."""
    areas = list(reversed(data.areas))
    fig, ax = new_figure(10, 0.9 + 0.32 * len(areas))
    ys = list(range(len(areas)))
    main = [a.main_share for a in areas]
    other_inactive = [max(0.0, a.inactive_share - (0.0 if a.main_active else a.main_share)) for a in areas]
    other_active = [max(0.0, 1.0 - m - i) for m, i in zip(main, other_inactive, strict=True)]
    ax.barh(ys, main, color=[_BLUE if a.main_active else _RED for a in areas])
    ax.barh(ys, other_active, left=main, color=_LIGHT_BLUE)
    lefts = [m + o for m, o in zip(main, other_active, strict=True)]
    ax.barh(ys, other_inactive, left=lefts, color=_LIGHT_RED)
    for y, a in zip(ys, areas, strict=True):
        who = a.main_author if len(a.main_author) <= 24 else a.main_author[:23] + "…"
        ax.text(1.01, y, f"{who} {a.main_share:.0%}", va="center", fontsize=7)
    ax.set_yticks(ys, [a.area if len(a.area) <= 36 else "…" + a.area[-35:] for a in areas], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the lines added")
    from matplotlib.patches import Patch

    handles = [
        Patch(color=_BLUE, label="main author, active"),
        Patch(color=_RED, label=f"main author, inactive for {data.inactive_days} days"),
        Patch(color=_LIGHT_BLUE, label="other authors, active"),
        Patch(color=_LIGHT_RED, label="other authors, inactive"),
    ]
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4)
    return svg_of(fig, "knowledge", "Knowledge distribution: main author per directory and knowledge loss")


def forecast_record_chart(data: ForecastRecord) -> str:
    """Each ranking's mean share of later bug-fix touches held by its top 20% of files, ours highlighted."""
    items = sorted(data.touch_at_20.items(), key=lambda kv: (kv[1], kv[0]))
    fig, ax = new_figure(8, 0.8 + 0.3 * len(items))
    ys = list(range(len(items)))
    colours = [_RED if name == data.ours else (_GREY if "oracle" in name or name == "random" else _BLUE)
               for name, _v in items]
    ax.barh(ys, [v for _n, v in items], color=colours)
    for y, (_n, v) in zip(ys, items, strict=True):
        ax.text(v + 0.01, y, f"{v:.0%}", va="center", fontsize=7)
    ax.set_yticks(ys, [n for n, _v in items], fontsize=7)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"share of the next {data.horizon_days} days' bug-fix touches in the top 20% of files")
    return svg_of(fig, "forecast-record", "Forecast track record against the baselines")


def partner_record_chart(data: PartnerRecord) -> str:
    """Recall of the hidden file among the first 1, 3 and 5 suggestions, and the warnings' precision."""
    items: list[tuple[str, Any]] = [
        ("first suggestion (recall@1)", data.recall_at_1),
        ("among the first 3 (recall@3)", data.recall_at_3),
        ("among the first 5 (recall@5)", data.recall_at_5),
        ("share of commits warned on", data.warn_share),
        ("warnings right (precision)", data.warn_precision),
    ]
    shown = [(n, float(v)) for n, v in items if v is not None]
    fig, ax = new_figure(8, 0.8 + 0.32 * len(shown))
    ys = list(range(len(shown)))
    ax.barh(ys, [v for _n, v in shown], color=[_RED if "precision" in n else _BLUE for n, _v in shown])
    for y, (_n, v) in zip(ys, shown, strict=True):
        ax.text(v + 0.01, y, f"{v:.0%}", va="center", fontsize=7)
    ax.set_yticks(ys, [n for n, _v in shown], fontsize=7)
    ax.set_xlim(0, 1.1)
    ax.invert_yaxis()
    ax.set_xlabel(f"share of {data.queries} replayed commits")
    return svg_of(fig, "partner-record", "Partner predictions' track record")


def gate_chart(data: GateRecord) -> str:
    """Each decided commit's risk, in the order decided, coloured by decision; the marker says what happened."""
    fig, ax = new_figure(10, 3.6)
    markers = {"success": "o", "failure": "X", "rollback": "s"}
    seen: set[tuple[str, str | None]] = set()
    for x, e in enumerate(data.decisions):
        key = (e.decision, e.outcome)
        colour = _DECISION_COLOURS.get(e.decision, _GREY)
        ax.scatter(
            [x],
            [e.risk if e.risk is not None else 0.0],
            marker=markers.get(e.outcome or "", "o"),
            s=70,
            facecolors=colour if e.outcome else "none",
            edgecolors=colour,
            linewidths=1.4,
            label=None if key in seen else f"{e.decision}, {e.outcome or 'no outcome recorded'}",
        )
        seen.add(key)
    xs = list(range(len(data.decisions)))
    step = max(1, len(xs) // 12)
    ax.set_xticks(
        xs[::step],
        [f"{e.head[:7]}\n{_when(e.at):%Y-%m-%d}" for e in data.decisions][::step],
        fontsize=7,
    )
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("decided commits, oldest first")
    ax.set_ylabel("risk (0 when inconclusive)")
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return svg_of(fig, "gate", "Gate decisions and their deploy outcomes")
