"""``empathy findings``: what the five levels say now, for the repository, some files or a change.

``--output-format`` picks how they are written (a table, JSON, or what a CI
system reads: SARIF, GitHub annotations, GitLab Code Quality, JUnit); the
conversions are :mod:`empathy.core.findings_formats`'s.  ``--fail-on`` lets
them fail a pipeline, like a linter's violations, with exit code 13.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from empathy.cli._common import (
    DbOpt,
    JsonOpt,
    PathArg,
    emit_json,
    err,
    open_ws,
    print_findings,
    print_plugin_errors,
    refresh,
)
from empathy.core.changes import change_under_review
from empathy.core.errors import ConfigError
from empathy.core.findings import FindingsReport
from empathy.core.findings_formats import (
    FAIL_ON_EXIT,
    findings_github,
    findings_gitlab,
    findings_junit,
    findings_sarif,
    reaching,
)
from empathy.core.model import Severity
from empathy.core.workspace import Workspace

__all__ = ["OutputFormat", "findings"]


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"
    GITLAB = "gitlab"
    JUNIT = "junit"


FailOnOpt = Annotated[
    Severity | None,
    typer.Option(
        "--fail-on",
        help="Exit 13 when a finding shown is at this severity or above (error, warning, info). "
        "Findings held back by trust never count (unless --all). Default: never fail.",
    ),
]


def _known_path(ws: Workspace, given: str) -> str:
    """``given`` as the store spells it, resolved as `explain` resolves it; a file nobody knows is an error (9)."""
    from empathy.core.explain import UnknownFileError, resolve_repo_path

    rel = resolve_repo_path(ws.repo.root, given)
    if (ws.repo.root / rel).exists() or any(f.path == rel for f in ws.history().files.values()):
        return rel
    raise UnknownFileError(
        f"{given} is neither in the working tree nor in the ingested history",
        "give a path relative to the repository root or to the current directory, as `git ls-files` shows it",
    )


def findings(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    file: Annotated[list[str] | None, typer.Option("--file", help="Only findings on this path (repeatable).")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Findings for the working-tree change against HEAD.")] = False,
    range_: Annotated[
        str | None, typer.Option("--range", help="Findings for a commit range (A..B) or one commit.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include findings that trust would hold back.")] = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--output-format",
            help="text (a table), json (as --json), sarif (SARIF 2.1.0 for code scanning), github (workflow "
            "command annotations), gitlab (Code Quality report) or junit (JUnit XML); all but text print "
            "every finding.",
        ),
    ] = OutputFormat.TEXT,
    fail_on: FailOnOpt = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even when --fail-on is reached (report only).")
    ] = False,
    database_url: DbOpt = None,
) -> None:
    """What the levels say now: reasons, evidence and actions, most important first.

    Advisory by default: the exit code is 0 whatever is found. `--fail-on warning` makes findings
    at warning or above exit 13, so they can fail a pipeline; `--exit-zero` reports without failing.
    """
    if json_output and output_format not in (OutputFormat.TEXT, OutputFormat.JSON):
        raise ConfigError(
            f"--json and --output-format {output_format.value} ask for two formats",
            "--json is --output-format json; give one of them",
        )
    fmt = OutputFormat.JSON if json_output else output_format
    machine = fmt is not OutputFormat.TEXT
    ws = open_ws(path, database_url)
    refresh(ws, machine)  # patterns must describe the same history as the findings
    change = change_under_review(ws.repo, range_, diff)
    paths = [_known_path(ws, f) for f in file] if file else None
    report = ws.findings(change=change, paths=paths, gated=not all_)
    ws.store.count_usage(ws.repo_id, [str(f.evidence["pattern"]) for f in report.findings if "pattern" in f.evidence])
    _write(fmt, report, int(ws.settings["top"]))
    if fail_on is not None:
        failing = reaching(report.findings, fail_on)
        if failing:
            verdict = "exit 0 (--exit-zero)" if exit_zero else f"exit {FAIL_ON_EXIT}"
            err.print(f"{len(failing)} finding(s) at {fail_on.value} or above (--fail-on {fail_on.value}): {verdict}")
            if not exit_zero:
                raise typer.Exit(FAIL_ON_EXIT)


def _write(fmt: OutputFormat, report: FindingsReport, limit: int) -> None:
    """Print the report on stdout in ``fmt``; plugin errors go to stderr (and into SARIF's invocation)."""
    if fmt is OutputFormat.JSON:
        emit_json(report.to_dict(), sort_keys=True)
        return
    if fmt is OutputFormat.TEXT:
        print_findings(report.findings[:limit], len(report.hidden))
        if len(report.findings) > limit:
            err.print(f"showing {limit} of {len(report.findings)}; --json prints all")
    elif fmt is OutputFormat.SARIF:
        emit_json(findings_sarif(report.findings, report.errors))
    elif fmt is OutputFormat.GITLAB:
        emit_json(findings_gitlab(report.findings))
    elif fmt is OutputFormat.GITHUB:
        for line in findings_github(report.findings):
            print(line)
    else:
        print(findings_junit(report.findings), end="")
    print_plugin_errors(report.errors)
