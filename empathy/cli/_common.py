"""What every command shares: the consoles, the common options, error handling and progress.

Output goes to stdout (a table, or JSON with ``--json``); progress, warnings
and errors go to stderr so ``--json`` output stays parseable.  Exit codes:
0 success, 1 generic failure, 2 not a repository, 3 empty repository,
4 configuration error, 5 store error, 6 bad pattern file, 7 unreadable history,
8 unknown revision, 9 unknown file, 10 the gate's decision reached ``--fail-on``,
11 bad gate state file, 12 the webhook service cannot start as configured,
13 findings (or a change's risk) reached ``--fail-on`` / ``--fail-above``,
70 internal error, 130 interrupted, 141 broken pipe.

The command modules (one per topic) import from here and from core, never
from each other, so there is no cycle and no late import.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from empathy.core.errors import ConfigError, EmpathyError
from empathy.core.helpers import json_safe
from empathy.core.history.ingest import IngestReport
from empathy.core.model import Finding
from empathy.core.usecases.refresh import Refresh
from empathy.core.workspace import Workspace, open_workspace

__all__ = [
    "DbOpt",
    "JsonOpt",
    "PathArg",
    "RepoOpt",
    "emit_json",
    "err",
    "evidence_text",
    "handle_errors",
    "ingest",
    "open_ws",
    "out",
    "parse_date",
    "print_findings",
    "print_warnings",
    "progress_enabled",
    "refresh",
]

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
        except OperationalError as exc:
            # The database refused mid-run (a read-only store file, a lost server): a store error (5).
            if os.environ.get("EMPATHY_DEBUG"):
                raise
            from empathy.core.store.db import READ_ONLY_HINT

            reason = str(exc.orig).strip()
            readonly = "readonly database" in reason or "read-only" in reason
            err.print(f"[bold red]error:[/] the store refused: {escape(reason)}", highlight=False)
            hint = READ_ONLY_HINT if readonly else "check the database URL and that the server is running, then rerun"
            err.print(f"[bold]hint:[/] {escape(hint)}", highlight=False)
            raise typer.Exit(5) from None
        except Exception as exc:
            if os.environ.get("EMPATHY_DEBUG"):
                raise
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}", highlight=False)
            err.print("rerun with EMPATHY_DEBUG=1 to see the traceback, and please report it")
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def open_ws(path: Path | str, database_url: str | None = None, **overrides: Any) -> Workspace:
    """Open the workspace for a command, and say on stderr which settings are deprecated."""
    values = {k: v for k, v in {"database_url": database_url, **overrides}.items() if v is not None}
    ws = open_workspace(path, values or None)
    for line in [*ws.settings.deprecations, *ws.store.notes]:
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)
    for line in [*ws.settings.typos(ws.host.infos), *ws.selection_warnings()]:
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)
    return ws


def progress_enabled(json_mode: bool) -> bool:
    """Live progress only on a terminal, and never around ``--json`` output."""
    return err.is_terminal and not json_mode


def print_quiet(ws: Workspace) -> None:
    """Say so when the repository has been quiet: windows end today, not at its last commit."""
    notice = ws.quiet_notice()
    if notice:
        err.print(f"[yellow]note:[/] {escape(notice)}", highlight=False)


def print_warnings(report: IngestReport) -> None:
    for warning in report.warnings[:5]:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if len(report.warnings) > 5:
        err.print(f"[yellow]warning:[/] ... and {len(report.warnings) - 5} more")


def say_waiting() -> None:
    """Said on stderr (terminal or not) when another process holds the repository's ingest lock."""
    err.print("waiting: another empathy process is ingesting this repository; continuing when it is done")


#: Off a terminal (CI logs, pipes), long work says where it is on stderr at most this often.
HEARTBEAT_SECONDS = 5.0


class Heartbeat:
    """Progress as plain lines on stderr, for logs: silent for quick work, a line every few seconds after.

    A progress bar needs a terminal; a CI log otherwise shows nothing for the
    39 s an ingest of a large history takes.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self.last < HEARTBEAT_SECONDS:
            return False
        self.last = now
        return True

    def ingest(self, done: int, total: int) -> None:
        if self._due():
            of = f"/{total}" if total else ""
            err.print(f"ingesting: {done}{of} commits ({time.monotonic() - self.started:.0f} s)", highlight=False)

    def mine(self, message: str) -> None:
        if self._due():
            err.print(f"mining: {escape(message)} ({time.monotonic() - self.started:.0f} s)", highlight=False)


def ingest(ws: Workspace, json_mode: bool) -> IngestReport:
    """Only bring the history up to date (commands that read no patterns), with progress and warnings."""
    if not progress_enabled(json_mode):
        report = ws.ingest(progress=Heartbeat().ingest, on_wait=say_waiting)
    else:
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
            report = ws.ingest(
                progress=lambda done, total: bar.update(task, completed=done, total=total), on_wait=say_waiting
            )
    print_warnings(report)
    print_quiet(ws)
    return report


def refresh(ws: Workspace, json_mode: bool, remine_commits: int | None = None) -> Refresh:
    """``Workspace.refresh`` with a progress bar on a terminal, then the ingest's warnings."""
    show = progress_enabled(json_mode)
    if not show:
        beat = Heartbeat()
        result = ws.refresh(
            ingest_progress=beat.ingest, mine_progress=beat.mine, remine_commits=remine_commits, on_wait=say_waiting
        )
    else:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("ingesting history", total=None)

            def on_ingest(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            def on_mine(message: str) -> None:
                bar.update(task, description=escape(message))

            result = ws.refresh(
                ingest_progress=on_ingest, mine_progress=on_mine, remine_commits=remine_commits, on_wait=say_waiting
            )
    print_warnings(result.ingest)
    print_quiet(ws)
    return result


def status(json_mode: bool, message: str) -> Any:
    """A spinner with ``message`` on a terminal (a no-op context otherwise); ``.update(text)`` moves it."""
    if progress_enabled(json_mode):
        return err.status(message)
    return _Quiet()


class _Quiet:
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _message: str) -> None:
        return None


def evidence_text(evidence: Mapping[str, Any], limit: int = 4) -> str:
    items = [f"{k}={v}" for k, v in evidence.items() if not isinstance(v, list | dict) and v is not None]
    return ", ".join(items[:limit])


def emit_json(payload: Any, sort_keys: bool = False) -> None:
    """One JSON document on stdout (``--json``): strict JSON, a number that is not one is null."""
    print(json.dumps(json_safe(payload), indent=2, sort_keys=sort_keys, default=str, allow_nan=False))


def print_findings(findings: list[Finding], hidden: int) -> None:
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
            f"{escape(f.reason)}{forecast}\n[dim]{escape(evidence_text(f.evidence))}[/]\n-> {escape(f.action)}",
        )
    out.print(table)
    if hidden:
        err.print(f"{hidden} more finding(s) held back by trust thresholds (see `empathy trust`)")


def print_plugin_errors(errors: Mapping[str, str]) -> None:
    for plugin, error in errors.items():
        err.print(f"[red]plugin {plugin} failed:[/] {escape(error)}", highlight=False)


def parse_date(value: str | None, option: str = "--as-of") -> int | None:
    """``YYYY-MM-DD`` (or an ISO time) as unix seconds, UTC unless a zone is given."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date", f"use YYYY-MM-DD, e.g. {option} 2024-01-31") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")
