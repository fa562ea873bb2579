"""The ``empathy`` command line (typer + rich).

Output goes to stdout (a table, or JSON with ``--json``); progress, warnings
and errors go to stderr so ``--json`` output stays parseable.  Exit codes:
0 success, 1 generic failure, 2 not a repository, 3 empty repository,
4 configuration error, 5 store error, 6 bad pattern file, 7 unreadable history,
8 unknown revision, 9 unknown file, 10 the gate's decision reached ``--fail-on``,
11 bad gate state file, 12 the webhook service cannot start as configured,
70 internal error, 130 interrupted, 141 broken pipe.
"""

from __future__ import annotations

import functools
import json
import math
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
from empathy.core.model import ChangeSet, Event, Finding
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
# Messages on stderr are never hard-wrapped: a CI log or a script reading them must see one
# line per message (a long path once split "no commits" across two lines).
err = Console(stderr=True, soft_wrap=True)

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
        except BrokenPipeError:
            # The reader went away (`empathy ... | head`): not an error worth a message.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(141) from None
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
            "plugins": {r.plugin: {"seconds": round(r.seconds, 3), "error": r.error} for r in mine_report.results},
            "patterns": [p.to_dict() for p in shown],
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
        return
    out.print(
        f"[bold]{ws.repo.key}[/] at {ws.repo.head[:12]}: {ingest_report.total_commits} commits "
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
    target = ws.repo.root / ".empathy.toml"
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
        return working_tree_change(ws.repo)
    if range_:
        return range_change(ws.repo, range_)
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
    ingested = _run_ingest(ws, show)
    _print_warnings(ingested)
    if ingested.new_commits or not ws.store.patterns(ws.repo_id):
        _run_mine(ws, show)  # patterns must describe the same history as the findings
    change = _change_for(ws, diff, range_)
    report = ws.findings(change=change, paths=file or None, gated=not all_)
    ws.store.count_usage(ws.repo_id, [str(f.evidence["pattern"]) for f in report.findings if "pattern" in f.evidence])
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
    days = horizon if horizon is not None else int(ws.settings["horizon_days"])
    if days <= 0:
        raise ConfigError("--horizon must be a positive number of days")
    run = forecast_files(ws.repo, history, _py_source(ws), as_of=at, horizon_days=days)
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
                        {
                            "rank": f.rank,
                            "path": f.path,
                            "probability": round(f.probability, 4),
                            "fixes_per_kloc": round(f.per_line * 1000, 4),
                            "drivers": f.drivers,
                        }
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


def _metrics_table(label: str, names: list[str], metrics: tuple[str, ...], mean: Callable[[str, str], float]) -> Table:
    """One row per model or ranking, one column per metric (means over the cutoffs)."""
    table = Table(label, *metrics, header_style="bold")
    for name in names:
        table.add_row(escape(name), *(f"{mean(name, m):.3f}" for m in metrics))
    return table


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

    if horizon <= 0 or cutoffs <= 0:
        raise ConfigError("--horizon and --cutoffs must be positive")
    ws = open_workspace(path, _overrides(database_url))
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    history = ws.history()
    if show:
        with err.status("backtest") as status:
            bt = run_file_backtest(
                ws.repo,
                history,
                _py_source(ws),
                horizon_days=horizon,
                cutoffs=cutoffs,
                progress=lambda m: status.update(escape(m)),
            )
    else:
        bt = run_file_backtest(ws.repo, history, _py_source(ws), horizon_days=horizon, cutoffs=cutoffs)
    if not bt.cutoffs:
        raise ConfigError(
            f"not enough history for a {horizon}-day backtest: each cutoff needs {horizon} days before and after it",
            "try a shorter --horizon",
        )
    summary = bt.summary()
    save_record(ws.store, ws.repo_id, "file", horizon, ws.repo.head, summary)
    change_summary: dict[str, Any] | None = None
    cbt = None
    if changes:
        from empathy.core.predict.jit import METRICS as CHANGE_METRICS
        from empathy.core.predict.jit import run_change_backtest

        def run_changes(progress: Callable[[str], None]) -> Any:
            return run_change_backtest(
                ws.repo,
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
        save_record(ws.store, ws.repo_id, "change", horizon, ws.repo.head, change_summary)
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
    out.print(_metrics_table("ranking", bt.rankings(), METRICS, bt.mean))
    out.print(
        f"calibration of our probabilities: ECE {summary['ece']}, Brier skill {summary['brier_skill']} "
        f"(mean over cutoffs); ECE over all cutoffs pooled {summary['ece_pooled']}",
        highlight=False,
    )
    if cbt is not None and change_summary is not None:
        from empathy.core.predict.jit import METRICS as CHANGE_METRICS

        out.print(
            f"change level, {len(cbt.cutoffs)} cutoffs, truth = B-SZZ links from {cbt.links} blamed lines of "
            f"{cbt.fixes} fixes" + (f" (skipped: {'; '.join(cbt.skipped)})" if cbt.skipped else ""),
            highlight=False,
        )
        out.print(_metrics_table("model", cbt.models(), CHANGE_METRICS, cbt.mean))
        out.print(
            f"calibration of the change model: ECE {change_summary['ece']}, "
            f"Brier skill {change_summary['brier_skill']}",
            highlight=False,
        )


@app.command()
@handle_errors
def risk(
    rev: Annotated[str | None, typer.Argument(help="A commit or a range (A..B); omit with --diff.")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Score the working-tree change against HEAD.")] = False,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
    szz_budget: Annotated[
        int, typer.Option(help="Most fixes to blame now for labels (blames persist; later runs continue).")
    ] = 5000,
) -> None:
    """Change risk: P(the change introduces a bug), its contributing factors, and what the levels say."""
    from empathy.core.predict.jit import ensure_szz
    from empathy.core.predict.risk import score_change

    if (rev is None) == (not diff):
        raise ConfigError("give a revision or range, or --diff (not both)", "e.g. `empathy risk HEAD~3..HEAD`")
    ws = open_workspace(path)
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    change = _change_for(ws, diff, rev)
    assert change is not None
    history = ws.history()
    exclude: set[str] = set()
    message = ""
    if rev is not None:
        from empathy.core.changes import EMPTY_TREE

        spec = change.head if change.base == EMPTY_TREE else f"{change.base}..{change.head}"
        listing: str = ws.repo.git.rev_list(spec)
        exclude = {s for s in listing.split() if s}
        message = ws.repo.git.log("-1", "--format=%B", change.head)
    if show:
        with err.status("linking fixes to the changes that caused them (SZZ)") as status:
            left = ensure_szz(
                ws.repo,
                ws.store,
                ws.repo_id,
                history,
                ws.settings_is_source(),
                szz_budget,
                progress=lambda m: status.update(escape(m)),
            )
    else:
        left = ensure_szz(ws.repo, ws.store, ws.repo_id, history, ws.settings_is_source(), szz_budget)
    result = score_change(ws.repo, ws.store, ws.repo_id, history, change, _py_source(ws), exclude, message)
    if not ws.store.patterns(ws.repo_id):
        _run_mine(ws, show)
    signals, signal_errors = ws.change_signals(change)
    report = ws.findings(change=change)
    if json_output:
        payload: dict[str, Any] = {
            "base": change.base,
            "head": change.head,
            "files": change.paths,
            "added": change.added,
            "deleted": change.deleted,
            "fixes_not_yet_linked": left,
            "signals": [
                {
                    "name": f.name,
                    "score": f.score,
                    "reason": f.reason,
                    "source": f.source,
                    "evidence": f.evidence,
                    "paths": f.paths,
                }
                for f in signals
            ],
            "findings": [f.to_dict() for f in report.findings],
            "probability": None,
        }
        if result is not None:
            payload.update(
                probability=round(result.probability, 4),
                base_rate=round(result.base_rate, 4),
                percentile=None if math.isnan(result.percentile) else round(result.percentile, 3),
                train_rows=result.train_rows,
                fallback=result.fallback or None,
                factors=[{"factor": n, "value": v, "contribution": c} for n, v, c in result.factors],
                kamei={
                    k: getattr(result.features, k)
                    for k in (
                        "ns",
                        "nd",
                        "nf",
                        "entropy",
                        "la",
                        "ld",
                        "lt",
                        "fix",
                        "ndev",
                        "age",
                        "nuc",
                        "exp",
                        "rexp",
                        "sexp",
                    )
                },
            )
        print(json.dumps(payload, indent=2, default=str))
        return
    if result is None:
        out.print("the change touches no Python source file: no change-risk score")
    else:
        pct = "" if math.isnan(result.percentile) else f", riskier than {result.percentile:.0%} of past changes"
        out.print(
            f"[bold]risk p={result.probability:.2f}[/] that this change introduces a bug a later fix repairs "
            f"(base rate {result.base_rate:.2f}{pct}; trained on {result.train_rows} changes)",
            highlight=False,
        )
        if result.fallback:
            err.print(f"[yellow]note:[/] {escape(result.fallback)}")
        for name, value, contribution in result.factors:
            arrow = "raises" if contribution > 0 else "lowers"
            out.print(
                f"  {name} = {value} {arrow} the risk vs. an average change ({contribution:+.2f})", highlight=False
            )
    if signals:
        out.print("history signals:")
        for factor in signals:
            out.print(f"  {factor.name} ({factor.score:.2f}): {escape(factor.reason)}", highlight=False)
    for plugin, error in signal_errors.items():
        err.print(f"[red]plugin {plugin} failed:[/] {escape(error)}", highlight=False)
    if left:
        err.print(f"{left} fixes are not linked yet (rerun to continue); labels are incomplete until then")
    _print_findings(report.findings, len(report.hidden))


@app.command()
@handle_errors
def explain(
    file: Annotated[str, typer.Argument(help="A file in the repository (as git shows it, or a path on disk).")],
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
    no_forecast: Annotated[bool, typer.Option("--no-forecast", help="Skip the forecast (faster).")] = False,
) -> None:
    """The history behind a file: commits, authors, renames, fixes, patterns, and its forecast."""
    from empathy.core.explain import explain_file, resolve_repo_path
    from empathy.core.predict.forecast import forecast_files
    from empathy.core.predict.records import latest_record

    ws = open_workspace(path)
    _print_warnings(_run_ingest(ws, _progress_enabled(json_output)))
    history = ws.history()
    rel = resolve_repo_path(ws.repo.root, file)
    info = explain_file(ws.store, ws.repo_id, history, rel)
    days = int(ws.settings["horizon_days"])
    if not no_forecast and info["alive"]:
        run = forecast_files(ws.repo, history, _py_source(ws), horizon_days=days)
        mine_ = next((f for f in run.forecasts if f.path == info["path"]), None)
        if mine_ is not None:
            info["forecast"] = {
                "probability": round(mine_.probability, 3),
                "horizon_days": days,
                "rank": mine_.rank,
                "files": run.files,
                "drivers": mine_.drivers,
                "fallback": run.fallback or None,
                "track_record": latest_record(ws.store, ws.repo_id, "file", days),
            }
    if json_output:
        print(json.dumps(info, indent=2))
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
        out.print("recent fixes:")
        for c in info["recent_fixes"]:
            out.print(f"  {c['date']} {c['sha'][:8]} {escape(c['subject'])}", highlight=False)
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
        out.print(
            f"forecast: p={fc['probability']:.2f} of a bug-fix commit within {days} days, #{fc['rank']} of "
            f"{fc['files']} files, driven by {', '.join(fc['drivers']) or 'size and activity'}; {track}",
            highlight=False,
        )


@app.command()
@handle_errors
def answer(
    question: Annotated[str, typer.Argument(help="The question id from a level-2 finding (e.g. fix-pattern).")],
    value: Annotated[str, typer.Argument(help="Your answer (yes/no, or a regular expression for fix-pattern).")],
    path: RepoOpt = Path("."),
) -> None:
    """Answer a level-2 question; the answer is stored and used from the next run on."""
    from empathy.core.guided import save_answer

    ws = open_workspace(path)
    stored = save_answer(ws.store, ws.repo_id, question, value)
    out.print(f"{question} = {stored!r} stored; it applies from the next run (`empathy config show` lists it)")


@app.command()
@handle_errors
def feedback(
    rule: Annotated[str, typer.Argument(help="The finding's code (e.g. hotspot, missing-partner, fix-forecast).")],
    useful: Annotated[bool, typer.Option("--useful/--not-useful", help="Was the warning worth showing?")] = True,
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
) -> None:
    """Tell empathy whether a kind of warning helped: it moves that rule's threshold and the repo's trust."""
    if not rule.strip():
        raise ConfigError(
            "give the code of the finding the feedback is about", "e.g. `empathy feedback hotspot --useful`"
        )
    ws = open_workspace(path)
    change, estimate, experiment, arm = ws.record_feedback(rule, useful, detail={"surface": "cli"})
    if json_output:
        print(
            json.dumps(
                {
                    "rule": rule,
                    "threshold_old": change.old,
                    "threshold_new": change.new,
                    "crossed": list(change.crossed),
                    "repo_trust": estimate.to_dict(),
                    "experiment": experiment,
                    "arm": arm,
                },
                indent=2,
            )
        )
        return
    out.print(
        f"{rule}: threshold {change.old:.2f} -> {change.new:.2f}"
        + (f" (crossed {', '.join(f'{m:.2f}' for m in change.crossed)})" if change.crossed else "")
        + f"; repository trust {estimate.mean:.2f} (lower bound {estimate.lower:.2f}, n={estimate.effective_n:.1f})",
        highlight=False,
    )


def _ab_experiment(ws: Workspace) -> Any:
    """The adaptation plugin's experiment, with its arms checked against the known strategies."""
    experiment = ws.experiment()
    if experiment is not None:
        from empathy.plugins.agents.adaptation import check_strategies

        try:
            check_strategies(experiment)
        except ValueError as exc:
            raise ConfigError(f"[tool.empathy.plugins.adaptation]: {exc}") from exc
    return experiment


@app.command()
@handle_errors
def ab(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """The A/B test of two ranking strategies: useful feedback per arm, n, and which arm wins (if any yet)."""
    from empathy.core.agents.adaptation import ABReport

    ws = open_workspace(path)
    experiment = _ab_experiment(ws)
    if experiment is None:
        raise ConfigError(
            "no experiment is running: the adaptation plugin is disabled",
            "enable it with `enabled = true` under [tool.empathy.plugins.adaptation]",
        )
    report = ABReport.from_ledger(ws.trust(), experiment)
    if json_output:
        print(json.dumps(report.to_dict(), indent=2))
        return
    table = Table("arm", "n", "useful", "rate", header_style="bold", title=f"experiment {experiment.name}")
    for arm in report.arms:
        table.add_row(arm.arm, str(arm.n), str(arm.useful), "" if arm.rate is None else f"{arm.rate:.2f}")
    out.print(table)
    verdict = f"winner: {report.winner}" if report.winner else "no winner yet"
    out.print(f"{verdict} ({escape(report.reason)})", highlight=False)


@app.command()
@handle_errors
def trust(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """The track record: trust per subject (decayed Beta, with sample size) and each rule's threshold."""
    ws = open_workspace(path)
    ledger = ws.trust()
    estimates = ledger.estimates()
    thresholds = ledger.thresholds()
    levels = {level: ledger.level_allowed(level) for level in range(1, 6)}
    if json_output:
        print(
            json.dumps(
                {
                    "estimates": [e.to_dict() for e in estimates],
                    "thresholds": thresholds,
                    "default_threshold": ledger.default_threshold,
                    "levels_allowed": levels,
                },
                indent=2,
            )
        )
        return
    table = Table("kind", "subject", "mean", "lower (5%)", "n (decayed)", "n (raw)", header_style="bold")
    for e in estimates:
        table.add_row(
            e.subject_kind, escape(e.subject), f"{e.mean:.2f}", f"{e.lower:.2f}", f"{e.effective_n:.1f}", str(e.raw_n)
        )
    out.print(table if estimates else "no outcomes recorded yet: `empathy feedback RULE --useful/--not-useful`")
    out.print(
        f"rule thresholds (default {ledger.default_threshold:.2f}): "
        + (", ".join(f"{r}={t:.2f}" for r, t in sorted(thresholds.items())) or "none moved yet"),
        highlight=False,
    )
    out.print("levels shown: " + ", ".join(f"{lv} {'yes' if ok else 'no'}" for lv, ok in levels.items()))


@app.command()
@handle_errors
def stats(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    weeks: Annotated[int, typer.Option(help="Weeks of trust trend to show.")] = 8,
) -> None:
    """Usage and outcomes: patterns shown per kind, success rate per rule, the trust trend."""
    ws = open_workspace(path)
    ledger = ws.trust()
    usage: dict[str, int] = {}
    for p in ws.store.patterns(ws.repo_id, include_inactive=True):
        usage[p.kind] = usage.get(p.kind, 0) + p.usage_count
    rules = [
        {
            "rule": e.subject,
            "success_rate": round(e.mean, 3),
            "lower": round(e.lower, 3),
            "n": e.raw_n,
            "threshold": ledger.threshold(e.subject),
        }
        for e in ledger.estimates("rule")
    ]
    trend = [
        {"as_of": int(e.as_of), "mean": round(e.mean, 3), "n": round(e.effective_n, 2)}
        for e in ledger.history("repo", ledger.repo_subject, weeks, period="week")
    ]
    if json_output:
        print(json.dumps({"pattern_usage": usage, "rules": rules, "trust_trend": trend}, indent=2))
        return
    out.print("patterns shown, by kind: " + (", ".join(f"{k}={v}" for k, v in sorted(usage.items())) or "none"))
    table = Table("rule", "success rate", "lower", "n", "threshold", header_style="bold")
    for r in rules:
        table.add_row(
            escape(str(r["rule"])),
            f"{r['success_rate']:.2f}",
            f"{r['lower']:.2f}",
            str(r["n"]),
            f"{r['threshold']:.2f}",
        )
    out.print(table if rules else "no feedback on rules yet")
    out.print("repository trust, weekly: " + " ".join(f"{t['mean']:.2f}" for t in trend))


@app.command()
@handle_errors
def agents(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """The agents the plugins register, what they need, and their last run (time and error)."""
    ws = open_workspace(path)
    runs = {r.plugin: r for r in ws.store.plugin_runs() if r.hook == "agent"}
    rows = []
    for agent in ws.agents():
        run = runs.get(agent.name)
        rows.append(
            {
                "name": agent.name,
                "plugin": getattr(agent, "plugin", ""),
                "requires": list(agent.requires),
                "timeout": getattr(agent, "timeout", None),
                "last_run": run.ran_at if run else None,
                "seconds": round(run.seconds, 4) if run else None,
                "error": run.error if run else None,
            }
        )
    if json_output:
        print(json.dumps(rows, indent=2))
        return
    table = Table("agent", "plugin", "requires", "timeout", "last run", "seconds", "error", header_style="bold")
    from datetime import UTC, datetime

    for row in rows:
        when = datetime.fromtimestamp(row["last_run"], tz=UTC).strftime("%Y-%m-%d %H:%M") if row["last_run"] else ""
        table.add_row(
            row["name"],
            row["plugin"],
            ", ".join(row["requires"]),
            str(row["timeout"] or ""),
            when,
            "" if row["seconds"] is None else f"{row['seconds']:.3f}",
            escape(row["error"] or ""),
        )
    out.print(table)


@app.command()
@handle_errors
def brief(
    files: Annotated[
        list[str] | None, typer.Argument(help="Files to ask about (default: the whole repository).")
    ] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Ask about the working-tree change.")] = False,
    range_: Annotated[
        str | None, typer.Option("--range", help="Ask about a commit range (A..B) or one commit.")
    ] = None,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
) -> None:
    """Run the agents for a question and print their answer: a short brief and the top actions."""
    from empathy.core.agents.orchestrator import Request
    from empathy.core.explain import resolve_repo_path

    ws = open_workspace(path)
    show = _progress_enabled(json_output)
    _print_warnings(_run_ingest(ws, show))
    if not ws.store.patterns(ws.repo_id):
        _run_mine(ws, show)
    change = _change_for(ws, diff, range_)
    paths = [resolve_repo_path(ws.repo.root, f) for f in files or []]
    request = Request(kind="change" if change else ("file" if paths else "repo"), paths=paths, change=change)
    if show:
        from empathy.core.agents.orchestrator import EventBus

        bus = EventBus()
        with err.status("asking the agents") as status:

            def on_step(event: Event) -> None:
                data = event.data
                verb = "running" if event.type == "agent.started" else str(data.get("status", "done"))
                status.update(escape(f"agents {data.get('done')}/{data.get('total')}: {data.get('agent')} {verb}"))

            bus.subscribe(on_step)
            answer = ws.orchestrate(request, bus=bus)
    else:
        answer = ws.orchestrate(request)
    insight = answer.value("insights")
    adaptation = answer.value("adaptation")
    findings_ = answer.value("findings") or []
    ranked = getattr(adaptation, "findings", None) or getattr(insight, "findings", None) or findings_
    if json_output:
        payload: dict[str, Any] = {
            "partial": answer.partial,
            "failed": answer.failed,
            "skipped": answer.skipped,
            "seconds": round(answer.seconds, 4),
            "agents": {
                n: {"status": o.status, "seconds": round(o.seconds, 4), "error": o.error}
                for n, o in answer.outcomes.items()
            },
            "brief": getattr(insight, "brief", None),
            "actions": getattr(insight, "actions", None),
            "experiment": getattr(adaptation, "experiment", None),
            "arm": getattr(adaptation, "arm", None),
            "findings": [f.to_dict() for f in ranked],
        }
        print(json.dumps(payload, indent=2, default=str))
        return
    if insight is not None:
        out.print(escape(insight.brief), highlight=False)
        if not str(insight.source).startswith("deterministic"):  # the deterministic brief lists them already
            for action in insight.actions:
                out.print(f"-> {escape(action)}", highlight=False)
    else:
        _print_findings(findings_[: int(ws.settings["top"])], 0)
    if answer.partial:
        err.print(
            "[yellow]partial answer:[/] "
            + ", ".join(f"{n} {o.status}" for n, o in answer.outcomes.items() if o.status != "ok"),
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
    text = dump_patterns(ws.repo.key, ws.store.patterns(ws.repo_id, include_inactive=True), time.time())
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
    out.print(f"imported {count} patterns into {ws.repo.key}")


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


from empathy.cli.gate import gate_app  # noqa: E402  (the gate's commands live in their own module)

app.add_typer(gate_app, name="gate")

from empathy.cli.lsp import lsp as _lsp  # noqa: E402

app.command("lsp")(handle_errors(_lsp))

from empathy.cli.serve import register as _register_serve  # noqa: E402  (the webhook service's commands)

_register_serve(app)


def main() -> None:
    app()
