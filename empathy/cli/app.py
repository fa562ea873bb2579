"""The ``empathy`` command line (typer + rich).

Output goes to stdout (a table, or JSON with ``--json``); progress, warnings
and errors go to stderr so ``--json`` output stays parseable.  Exit codes:
0 success, 1 generic failure, 2 not a repository, 3 empty repository,
4 configuration error, 5 store error, 6 bad pattern file, 70 internal error,
130 interrupted.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from empathy import __version__
from empathy.core.errors import ConfigError, EmpathyError
from empathy.core.history.ingest import IngestReport
from empathy.core.model import ChangeSet, Finding
from empathy.core.workspace import MineReport, Workspace, open_workspace, rank_patterns

app = typer.Typer(
    name="empathy",
    help=(
        "Learn from a repository's history what usually goes wrong there.\n\n"
        "Start with `empathy analyze` in a git checkout: it ingests the history "
        "(incrementally after the first run), runs the miners and prints a ranked "
        "report with the evidence behind each line."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# A pipe or a CI log gets a wide table rather than rich's 80-column default.
out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160")))
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

PathArg = Annotated[Path, typer.Argument(help="A path inside the git repository to analyse.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
RepoOpt = Annotated[Path, typer.Option("--repo", "-C", help="A path inside the repository.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Store URL (overrides EMPATHY_DATABASE_URL and config files)."),
]


def handle_errors(func: F) -> F:
    """Turn known errors into one line and an exit code; never show a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EmpathyError as exc:
            err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            if exc.hint:
                err.print(f"[bold]hint:[/] {escape(exc.hint)}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; the store keeps every completed batch, rerun to continue")
            raise typer.Exit(130) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if os.environ.get("EMPATHY_DEBUG"):
                raise
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}", highlight=False)
            err.print("rerun with EMPATHY_DEBUG=1 to see the traceback, and please report it")
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def _overrides(database_url: str | None) -> dict[str, Any]:
    return {"database_url": database_url} if database_url else {}


def _progress_enabled(json_mode: bool) -> bool:
    return err.is_terminal and not json_mode


def _run_ingest(ws: Workspace, show: bool) -> IngestReport:
    if not show:
        return ws.ingest()
    with Progress(
        TextColumn("ingesting history"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("commits"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return ws.ingest(progress=progress)


def _run_mine(ws: Workspace, show: bool, only: list[str] | None = None) -> MineReport:
    if not show:
        return ws.mine(only=only)
    with err.status("mining") as status:
        return ws.mine(progress=lambda message: status.update(escape(message)), only=only)


def _print_warnings(report: IngestReport) -> None:
    for warning in report.warnings[:5]:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if len(report.warnings) > 5:
        err.print(f"[yellow]warning:[/] ... and {len(report.warnings) - 5} more")


def _evidence_text(evidence: dict[str, Any], limit: int = 4) -> str:
    items = [f"{k}={v}" for k, v in evidence.items() if not isinstance(v, list | dict) and v is not None]
    return ", ".join(items[:limit])


@app.command()
@handle_errors
def analyze(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    top: Annotated[int | None, typer.Option(help="Rows to show (default: the `top` setting; JSON: all).")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this pattern kind (hotspot, coupling ...).")] = None,
    database_url: DbOpt = None,
) -> None:
    """Ingest the history, run every miner, and print a ranked report with evidence."""
    ws = open_workspace(path, _overrides(database_url))
    show = _progress_enabled(json_output)
    ingest_report = _run_ingest(ws, show)
    _print_warnings(ingest_report)
    mine_report = _run_mine(ws, show)
    ranked = rank_patterns([p for p in mine_report.patterns if kind is None or p.kind == kind])
    limit = top if top is not None else (0 if json_output else int(ws.settings["top"]))
    shown = ranked[:limit] if limit else ranked
    ws.store.count_usage(ws.repo_id, [p.key for p in shown])
    if json_output:
        payload = {
            "repository": {
                "key": ws.info.key,
                "root": str(ws.info.root),
                "head": ws.info.head,
                "commits": ingest_report.total_commits,
                "shallow": ws.info.shallow,
            },
            "ingest": {
                "new_commits": ingest_report.new_commits,
                "seconds": round(ingest_report.seconds, 3),
                "warnings": ingest_report.warnings,
            },
            "plugins": {r.plugin: {"seconds": round(r.seconds, 3), "error": r.error} for r in mine_report.results},
            "patterns": [p.to_dict() for p in shown],
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
        return
    out.print(
        f"[bold]{ws.info.key}[/] at {ws.info.head[:12]}: {ingest_report.total_commits} commits "
        f"({ingest_report.new_commits} new, {ingest_report.seconds:.1f} s), "
        f"{len(mine_report.patterns)} patterns",
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
            f"{escape(p.summary)}\n[dim]{escape(_evidence_text(p.evidence))}[/]",
        )
    out.print(table)
    for plugin, error in mine_report.errors.items():
        err.print(f"[red]plugin {plugin} failed:[/] {escape(error)}", highlight=False)


@app.command()
@handle_errors
def mine(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    plugin: Annotated[list[str] | None, typer.Option(help="Run only this miner (repeatable).")] = None,
    database_url: DbOpt = None,
) -> None:
    """Ingest new commits and run the miners; print what each miner found."""
    ws = open_workspace(path, _overrides(database_url))
    miners = ws.host.implementations("mine_patterns")
    unknown = sorted(set(plugin or []) - set(miners))
    if unknown:
        raise ConfigError(
            f"no enabled miner named {', '.join(unknown)}", f"enabled miners: {', '.join(sorted(miners)) or 'none'}"
        )
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    report = _run_mine(ws, show, only=plugin)
    counts: dict[str, int] = {}
    for p in report.patterns:
        counts[p.plugin] = counts.get(p.plugin, 0) + 1
    rows: list[dict[str, Any]] = [
        {"plugin": r.plugin, "patterns": counts.get(r.plugin, 0), "seconds": round(r.seconds, 3), "error": r.error}
        for r in report.results
    ]
    if json_output:
        print(json.dumps(rows, indent=2))
    else:
        table = Table("plugin", "patterns", "seconds", "error", header_style="bold")
        for row in rows:
            table.add_row(row["plugin"], str(row["patterns"]), f"{row['seconds']:.2f}", escape(row["error"] or ""))
        out.print(table)
    if report.errors:
        raise typer.Exit(1)


@app.command()
@handle_errors
def init(
    path: PathArg = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing .empathy.toml.")] = False,
) -> None:
    """Create the store and a commented .empathy.toml with every setting."""
    from empathy.core.config import CORE_SETTINGS

    ws = open_workspace(path)
    target = ws.info.root / ".empathy.toml"
    if target.exists() and not force:
        err.print(f"{target} exists; keeping it (use --force to overwrite)")
    else:
        lines = [
            "# empathy settings for this checkout (overrides [tool.empathy] in pyproject.toml).",
            "# Uncomment a line to change it; `empathy config show` prints what is in effect.",
            "",
        ]
        for name, spec in CORE_SETTINGS.items():
            lines.append(f"# {spec.help}")
            value = json.dumps(spec.default) if spec.default is not None else '["churn", "coupling"]'
            lines.append(f"# {name} = {value}")
            lines.append("")
        for plugin in ws.settings.all_plugin_sections():
            lines.append(f"# [plugins.{plugin}]")
            for key, value in ws.settings.plugin(plugin).items():
                lines.append(f"# {key} = {json.dumps(value)}")
            lines.append("")
        target.write_text("\n".join(lines), encoding="utf-8")
        out.print(f"wrote {target}")
    out.print(f"store: {ws.store.url}")
    out.print("next: `empathy analyze` to ingest the history and see the report")


@app.command()
@handle_errors
def plugins(json_output: JsonOpt = False, path: PathArg = Path(".")) -> None:
    """List plugins: name, version, hooks, enabled, load error, last run error."""
    from empathy.core.config import load_settings
    from empathy.core.host import default_host

    last_errors: dict[str, str] = {}
    try:
        ws = open_workspace(path)
        host = ws.host
        for run in ws.store.plugin_runs():
            if run.error:
                last_errors[run.plugin] = f"{run.hook}: {run.error}"
    except EmpathyError:
        settings = load_settings(None)
        host = default_host(load=settings["load_plugins"], disable=settings["disable_plugins"])
    rows = []
    for info in host.listing():
        row = info.to_dict()
        row["last_error"] = last_errors.get(info.name)
        rows.append(row)
    if json_output:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "version", "hooks", "enabled", "load error", "last run error", header_style="bold")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["version"]),
            ", ".join(row["hooks"]),
            "yes" if row["enabled"] else "no",
            escape(row["load_error"] or ""),
            escape(row["last_error"] or ""),
        )
    out.print(table)


def _change_for(ws: Workspace, diff: bool, range_: str | None) -> ChangeSet | None:
    from empathy.core.changes import range_change, working_tree_change

    if diff and range_:
        raise ConfigError("give either --diff or --range, not both")
    if diff:
        return working_tree_change(ws.info)
    if range_:
        return range_change(ws.info, range_)
    return None


def _print_findings(findings: list[Finding], hidden: int) -> None:
    table = Table(header_style="bold")
    table.add_column("sev", no_wrap=True)
    table.add_column("lvl", justify="right")
    table.add_column("code", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("why, evidence and what to do", overflow="fold")
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        where = f.location.path + (f":{f.location.start_line}" if f.location.start_line else "")
        forecast = f" [bold]p={f.probability:.2f} within {f.horizon_days} days[/]" if f.is_forecast else ""
        table.add_row(
            f"[{colours[f.severity.value]}]{f.severity.value}[/]",
            str(int(f.level)),
            f.code,
            escape(where),
            f"{escape(f.reason)}{forecast}\n[dim]{escape(_evidence_text(f.evidence))}[/]\n-> {escape(f.action)}",
        )
    out.print(table)
    if hidden:
        err.print(f"{hidden} more finding(s) held back by trust thresholds (see `empathy trust`)")


@app.command()
@handle_errors
def findings(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    file: Annotated[list[str] | None, typer.Option("--file", help="Only findings on this path (repeatable).")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Findings for the working-tree change against HEAD.")] = False,
    range_: Annotated[
        str | None, typer.Option("--range", help="Findings for a commit range (A..B) or one commit.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include findings that trust would hold back.")] = False,
    database_url: DbOpt = None,
) -> None:
    """What the levels say now: reasons, evidence and actions, most important first."""
    ws = open_workspace(path, _overrides(database_url))
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    if not ws.store.patterns(ws.repo_id):
        _run_mine(ws, show)
    change = _change_for(ws, diff, range_)
    report = ws.findings(change=change, paths=file or None, gated=not all_)
    if json_output:
        payload = {
            "findings": [f.to_dict() for f in report.findings],
            "held_back": len(report.hidden),
            "plugins": {r.plugin: {"seconds": round(r.seconds, 3), "error": r.error} for r in report.results},
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
        return
    limit = int(ws.settings["top"])
    _print_findings(report.findings[:limit], len(report.hidden))
    if len(report.findings) > limit:
        err.print(f"showing {limit} of {len(report.findings)}; --json prints all")
    for plugin, error in report.errors.items():
        err.print(f"[red]plugin {plugin} failed:[/] {escape(error)}", highlight=False)


def _parse_date(value: str | None) -> int | None:
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--as-of {value!r} is not a date", "use YYYY-MM-DD, e.g. --as-of 2024-01-31") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _py_source(ws: Workspace) -> Callable[[str], bool]:
    from empathy.core.context import is_source_path

    return lambda p: p.endswith(".py") and is_source_path(ws.settings, p)


@app.command()
@handle_errors
def forecast(
    path: PathArg = Path("."),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Forecast as of this date (YYYY-MM-DD), from history up to it only.")
    ] = None,
    horizon: Annotated[int | None, typer.Option(help="Horizon in days (default: the horizon_days setting).")] = None,
    json_output: JsonOpt = False,
    top: Annotated[int | None, typer.Option(help="Rows to show (default: all).")] = None,
    database_url: DbOpt = None,
) -> None:
    """Every Python source file ranked by its probability of a bug fix within the horizon."""
    from empathy.core.predict.forecast import forecast_files
    from empathy.core.predict.records import latest_record

    ws = open_workspace(path, _overrides(database_url))
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    history = ws.history()
    at = _parse_date(as_of)
    if at is not None and at < min((c.committed_at for c in history.commits), default=at):
        raise ConfigError(f"--as-of {as_of} is before the first commit; there is no history to learn from")
    days = horizon or int(ws.settings["horizon_days"])
    if days <= 0:
        raise ConfigError("--horizon must be a positive number of days")
    run = forecast_files(ws.info, history, _py_source(ws), as_of=at, horizon_days=days)
    record = latest_record(ws.store, ws.repo_id, "file", days)
    rows = run.forecasts[:top] if top else run.forecasts
    if json_output:
        print(
            json.dumps(
                {
                    "as_of": run.as_of,
                    "horizon_days": run.horizon_days,
                    "files": run.files,
                    "train_rows": run.train_rows,
                    "base_rate": round(run.base_rate, 4),
                    "fallback": run.fallback or None,
                    "track_record": record,
                    "forecasts": [
                        {"rank": f.rank, "path": f.path, "probability": round(f.probability, 4), "drivers": f.drivers}
                        for f in rows
                    ],
                },
                indent=2,
            )
        )
        return
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(run.as_of, tz=UTC).strftime("%Y-%m-%d")
    out.print(
        f"P(bug-fix commit within {run.horizon_days} days) as of {when}: {run.files} files, "
        f"trained on {run.train_rows} file-periods (base rate {run.base_rate:.2f})",
        highlight=False,
    )
    if run.fallback:
        err.print(f"[yellow]note:[/] {escape(run.fallback)}")
    table = Table("#", "file", "p", "driven by", header_style="bold")
    for f in rows:
        table.add_row(str(f.rank), escape(f.path), f"{f.probability:.2f}", escape(", ".join(f.drivers)))
    out.print(table)
    if record:
        out.print(
            f"track record here ({record.get('cutoffs')} cutoffs, {days}-day horizon): top 20% of files held "
            f"{record.get('touch@20%', float('nan')):.0%} of later fixes; "
            f"best baseline {record.get('best_baseline')}; ECE {record.get('ece')}",
            highlight=False,
        )
    else:
        err.print(f"no track record for a {days}-day horizon yet: run `empathy eval --horizon {days}`")


@app.command("eval")
@handle_errors
def eval_(
    path: PathArg = Path("."),
    horizon: Annotated[int, typer.Option(help="Horizon in days (the protocol uses 365).")] = 365,
    cutoffs: Annotated[int, typer.Option(help="Rolling cutoffs, one horizon apart, newest first.")] = 6,
    changes: Annotated[
        bool, typer.Option("--changes/--no-changes", help="Also backtest the change-level (JIT) model.")
    ] = True,
    json_output: JsonOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Time-split backtest: our models side by side with the baselines on the same cutoffs.

    File level: which files get bug fixes after each cutoff. Change level: which changes
    later fixes blame (B-SZZ); the first run blames every fix (minutes on a large
    repository; the links persist).
    """
    from empathy.core.predict.backtest import METRICS, run_file_backtest
    from empathy.core.predict.records import save_record

    ws = open_workspace(path, _overrides(database_url))
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    history = ws.history()
    if show:
        with err.status("backtest") as status:
            bt = run_file_backtest(
                ws.info,
                history,
                _py_source(ws),
                horizon_days=horizon,
                cutoffs=cutoffs,
                progress=lambda m: status.update(escape(m)),
            )
    else:
        bt = run_file_backtest(ws.info, history, _py_source(ws), horizon_days=horizon, cutoffs=cutoffs)
    if not bt.cutoffs:
        raise ConfigError(
            f"not enough history for a {horizon}-day backtest: each cutoff needs {horizon} days before and after it",
            "try a shorter --horizon",
        )
    summary = bt.summary()
    save_record(ws.store, ws.repo_id, "file", horizon, ws.info.head, summary)
    change_summary: dict[str, Any] | None = None
    cbt = None
    if changes:
        from empathy.core.predict.jit import METRICS as CHANGE_METRICS
        from empathy.core.predict.jit import run_change_backtest

        def run_changes(progress: Callable[[str], None]) -> Any:
            return run_change_backtest(
                ws.info,
                ws.store,
                ws.repo_id,
                history,
                _py_source(ws),
                horizon_days=horizon,
                szz_is_source=ws.settings_is_source(),
                progress=progress,
            )

        if show:
            with err.status("change level") as status:
                cbt = run_changes(lambda m: status.update(escape(m)))
        else:
            cbt = run_changes(lambda _m: None)
        change_summary = {
            "horizon_days": horizon,
            "cutoffs": len(cbt.cutoffs),
            "skipped": cbt.skipped,
            "fixes": cbt.fixes,
            "szz_links": cbt.links,
            "models": {m: {k: round(cbt.mean(m, k), 4) for k in CHANGE_METRICS} for m in cbt.models()},
            "ece": round(cbt.mean_calibration("ece"), 4),
            "brier_skill": round(cbt.mean_calibration("brier_skill"), 4),
        }
        save_record(ws.store, ws.repo_id, "change", horizon, ws.info.head, change_summary)
    if json_output:
        payload = {
            "summary": summary,
            "cutoffs": [
                {
                    "at": c.at,
                    "files": c.files,
                    "fix_touches": c.fix_touches,
                    "train_rows": c.train_rows,
                    "scores": c.scores,
                    "calibration": c.calibration,
                }
                for c in bt.cutoffs
            ],
            "change_level": change_summary,
        }
        print(json.dumps(payload, indent=2, default=float))
        return
    out.print(
        f"file level, {len(bt.cutoffs)} cutoffs, {horizon}-day horizon, truth = bug-fix commits after each cutoff",
        highlight=False,
    )
    table = Table("ranking", *METRICS, header_style="bold")
    for name in bt.rankings():
        table.add_row(escape(name), *(f"{bt.mean(name, m):.3f}" for m in METRICS))
    out.print(table)
    out.print(
        f"calibration of our probabilities: ECE {summary['ece']}, Brier skill {summary['brier_skill']} "
        "(mean over cutoffs)",
        highlight=False,
    )
    if cbt is not None and change_summary is not None:
        from empathy.core.predict.jit import METRICS as CHANGE_METRICS

        out.print(
            f"change level, {len(cbt.cutoffs)} cutoffs, truth = B-SZZ links from {cbt.links} blamed lines of "
            f"{cbt.fixes} fixes" + (f" (skipped: {'; '.join(cbt.skipped)})" if cbt.skipped else ""),
            highlight=False,
        )
        ctable = Table("model", *CHANGE_METRICS, header_style="bold")
        for name in cbt.models():
            ctable.add_row(escape(name), *(f"{cbt.mean(name, m):.3f}" for m in CHANGE_METRICS))
        out.print(ctable)
        out.print(
            f"calibration of the change model: ECE {change_summary['ece']}, "
            f"Brier skill {change_summary['brier_skill']}",
            highlight=False,
        )


config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
@handle_errors
def config_show(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """Print every setting, its value and where it came from."""
    ws = open_workspace(path)
    s = ws.settings
    rows: list[dict[str, Any]] = [
        {"name": name, "value": s.values[name], "source": s.sources[name]} for name in s.values
    ]
    for plugin in s.all_plugin_sections():
        for key, (value, source) in s.plugin_with_sources(plugin).items():
            rows.append({"name": f"plugins.{plugin}.{key}", "value": value, "source": source})
    if json_output:
        print(json.dumps({"settings": rows, "unknown": s.unknown}, indent=2, default=str))
        return
    table = Table("setting", "value", "source", header_style="bold")
    for row in rows:
        table.add_row(row["name"], escape(json.dumps(row["value"], default=str)), escape(row["source"]))
    out.print(table)
    for name, source in s.unknown.items():
        err.print(f"[yellow]warning:[/] unknown setting {name!r} in {source} (ignored)", highlight=False)


patterns_app = typer.Typer(
    help="The pattern library: list, export and import persisted patterns.", invoke_without_command=True
)
app.add_typer(patterns_app, name="patterns")


@patterns_app.callback()
def patterns_default(ctx: typer.Context) -> None:
    """List the stored patterns when no subcommand is given."""
    if ctx.invoked_subcommand is None:
        patterns_list(Path("."), False, None, False)


@patterns_app.command("list")
@handle_errors
def patterns_list(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include patterns no longer found.")] = False,
) -> None:
    """List the stored patterns, best supported first, with confidence and usage counts."""
    ws = open_workspace(path)
    ranked = rank_patterns(ws.store.patterns(ws.repo_id, kind=kind, include_inactive=all_))
    if json_output:
        print(json.dumps([p.to_dict() for p in ranked], indent=2, sort_keys=True))
        return
    table = Table("kind", "where", "score", "conf", "used", "summary", header_style="bold")
    for p in ranked:
        table.add_row(
            p.kind,
            escape("\n".join(p.subjects)),
            f"{p.score:.2f}",
            f"{p.confidence:.2f}",
            str(p.usage_count),
            escape(p.summary),
        )
    out.print(table)
    if not ranked:
        err.print("no patterns stored yet: run `empathy analyze` or `empathy mine` first")


@patterns_app.command("export")
@handle_errors
def patterns_export(
    file: Annotated[Path, typer.Argument(help="JSON file to write ('-' for stdout).")], repo: RepoOpt = Path(".")
) -> None:
    """Export every stored pattern (active and inactive) as JSON."""
    from empathy.core.patterns_io import dump_patterns

    ws = open_workspace(repo)
    text = dump_patterns(ws.info.key, ws.store.patterns(ws.repo_id, include_inactive=True), time.time())
    if str(file) == "-":
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        err.print(f"exported to {file}")


@patterns_app.command("import")
@handle_errors
def patterns_import(
    file: Annotated[Path, typer.Argument(help="A file written by `patterns export`.")], repo: RepoOpt = Path(".")
) -> None:
    """Import patterns exported from this or another repository (upsert by key)."""
    from empathy.core.patterns_io import load_patterns

    patterns = load_patterns(file)
    ws = open_workspace(repo)
    count = ws.store.import_patterns(ws.repo_id, patterns)
    out.print(f"imported {count} patterns into {ws.info.key}")


def _version(value: bool) -> None:
    if value:
        print(f"empathy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Learn from a repository's history what usually goes wrong there."""


def main() -> None:
    app()
