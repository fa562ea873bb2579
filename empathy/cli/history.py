"""History commands: ``analyze`` (the main job), ``mine`` and ``explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from empathy.cli._common import (
    DbOpt,
    JsonOpt,
    PathArg,
    RepoOpt,
    emit_json,
    evidence_text,
    ingest,
    open_ws,
    out,
    print_plugin_errors,
    refresh,
    status,
)
from empathy.core.errors import ConfigError
from empathy.core.workspace import rank_patterns

__all__ = ["analyze", "explain", "mine"]


def analyze(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    top: Annotated[int | None, typer.Option(help="Rows to show (default: the `top` setting; JSON: all).")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this pattern kind (hotspot, coupling ...).")] = None,
    database_url: DbOpt = None,
) -> None:
    """Ingest the history, run every miner, and print a ranked report with evidence."""
    ws = open_ws(path, database_url)
    refreshed = refresh(ws, json_output)
    ingest_report = refreshed.ingest
    patterns = ws.store.patterns(ws.repo_id)
    ranked = rank_patterns([p for p in patterns if kind is None or p.kind == kind])
    limit = top if top is not None else (0 if json_output else int(ws.settings["top"]))
    shown = ranked[:limit] if limit else ranked
    ws.store.count_usage(ws.repo_id, [p.key for p in shown])
    results = refreshed.mined.results if refreshed.mined else []
    if json_output:
        emit_json(
            {
                "repository": {
                    "key": ws.repo.key,
                    "root": str(ws.repo.root),
                    "head": ws.repo.head,
                    "commits": ingest_report.total_commits,
                    "shallow": ws.repo.shallow,
                },
                "ingest": {
                    "new_commits": ingest_report.new_commits,
                    "seconds": round(ingest_report.seconds, 3),
                    "warnings": ingest_report.warnings,
                },
                "plugins": {r.plugin: {"seconds": round(r.seconds, 3), "error": r.error} for r in results},
                "patterns": [p.to_dict() for p in shown],
            },
            sort_keys=True,
        )
        return
    out.print(
        # the checkout being analysed (its store identity, the origin remote, is in --json as "repository")
        f"[bold]{escape(str(ws.repo.root))}[/] at {ws.repo.head[:12]}: {ingest_report.total_commits} commits "
        f"({ingest_report.new_commits} new, {ingest_report.seconds:.1f} s), "
        f"{len(patterns)} patterns",
        highlight=False,
    )
    table = Table(show_lines=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("kind", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("conf", justify="right")
    table.add_column("why (evidence)", overflow="fold")
    for i, p in enumerate(shown, 1):
        table.add_row(
            str(i),
            p.kind,
            escape("\n".join(p.subjects)),
            f"{p.score:.2f}",
            f"{p.confidence:.2f}",
            f"{escape(p.summary)}\n[dim]{escape(evidence_text(p.evidence))}[/]",
        )
    out.print(table)
    print_plugin_errors(refreshed.errors)


def mine(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    plugin: Annotated[list[str] | None, typer.Option(help="Run only this miner (repeatable).")] = None,
    database_url: DbOpt = None,
) -> None:
    """Ingest new commits and run the miners; print what each miner found."""
    ws = open_ws(path, database_url)
    miners = ws.host.implementations("mine_patterns")
    unknown = sorted(set(plugin or []) - set(miners))
    if unknown:
        raise ConfigError(
            f"no enabled miner named {', '.join(unknown)}", f"enabled miners: {', '.join(sorted(miners)) or 'none'}"
        )
    ingest(ws, json_output)
    with status(json_output, "mining") as spinner:
        report = ws.mine(progress=lambda message: spinner.update(escape(message)), only=plugin)
    rows: list[dict[str, Any]] = report.to_dict()["plugins"]
    if json_output:
        emit_json(rows)
    else:
        table = Table("plugin", "patterns", "seconds", "error", header_style="bold")
        for row in rows:
            table.add_row(row["plugin"], str(row["patterns"]), f"{row['seconds']:.2f}", escape(row["error"] or ""))
        out.print(table)
    if report.errors:
        raise typer.Exit(1)


def explain(
    file: Annotated[str, typer.Argument(help="A file in the repository (as git shows it, or a path on disk).")],
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
    no_forecast: Annotated[bool, typer.Option("--no-forecast", help="Skip the forecast (faster).")] = False,
) -> None:
    """The history behind a file: commits, authors, renames, fixes, patterns, and its forecast."""
    from empathy.core.explain import explain_file, resolve_repo_path

    ws = open_ws(path)
    ingest(ws, json_output)
    history = ws.history()
    rel = resolve_repo_path(ws.repo.root, file)
    info = explain_file(ws.store, ws.repo_id, history, rel)
    days = int(ws.settings["horizon_days"])
    if not no_forecast and info["alive"] and ws.is_python_source(info["path"]):
        forecast = ws.forecast()
        mine_ = forecast.run.find(info["path"])
        if mine_ is not None:
            info["forecast"] = {
                "probability": None if mine_.probability is None else round(mine_.probability, 3),
                "horizon_days": days,
                "rank": mine_.rank,
                "files": forecast.run.files,
                "drivers": mine_.drivers,
                "fallback": forecast.run.fallback or None,
                "track_record": forecast.record,
            }
    if json_output:
        emit_json(info)
        return
    out.print(f"[bold]{escape(info['path'])}[/]" + ("" if info["alive"] else " (no longer in HEAD)"))
    if info["previous_names"]:
        out.print("previously: " + escape(", ".join(info["previous_names"])))
    out.print(
        f"{info['commits']} commits from {info['first_change']} to {info['last_change']}, "
        f"+{info['lines_added']}/-{info['lines_deleted']} lines, {info['fixes']} bug fixes",
        highlight=False,
    )
    out.print("authors: " + escape(", ".join(f"{a['name']} {a['share']:.0%}" for a in info["authors"])))
    for c in info["recent_commits"]:
        out.print(f"  {c['date']} {c['sha'][:8]} {escape(c['author'])}: {escape(c['subject'])}", highlight=False)
    if info["recent_fixes"]:
        out.print("recent fixes (wrong one? `empathy label SHA --not-fix`):")
        for c in info["recent_fixes"]:
            out.print(f"  {c['date']} {c['sha'][:8]} {escape(c['subject'])}", highlight=False)
            out.print(f"      [dim]counted because: {escape(c['why'])}[/]", highlight=False)
    together = info["changes_with"]
    if together["files"] or together["test"]:
        named = [f"{f['path']} ({f['commits']})" for f in together["files"]]
        if together["test"]:
            named.append(f"tests: {together['test']['path']} ({together['test']['commits']})")
        out.print(
            f"changes with, in its last {together['of_commits']} commits: " + escape(", ".join(named)),
            highlight=False,
        )
    for p in info["patterns"]:
        out.print(f"pattern {p['kind']}: {escape(p['summary'])}", highlight=False)
    fc = info.get("forecast")
    if fc:
        record = fc["track_record"]
        track = (
            f"track record: top 20% of files held {record['touch@20%']:.0%} of later fixes over "
            f"{record['cutoffs']} cutoffs (ECE {record['ece']})"
            if record and "touch@20%" in record
            else f"no track record yet (`empathy eval --horizon {days}`)"
        )
        chance = (
            f"p={fc['probability']:.2f} of a bug-fix commit within {days} days, "
            if fc["probability"] is not None
            else "no calibrated probability on this repository, "
        )
        out.print(
            f"forecast: {chance}#{fc['rank']} of {fc['files']} files for bug-fix risk, driven by "
            f"{', '.join(fc['drivers']) or 'nothing above the typical file'}; {track}",
            highlight=False,
        )
