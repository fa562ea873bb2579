"""``empathy findings``: what the five levels say now, for the repository, some files or a change."""

from __future__ import annotations

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
from empathy.core.workspace import Workspace

__all__ = ["findings"]


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
    database_url: DbOpt = None,
) -> None:
    """What the levels say now: reasons, evidence and actions, most important first."""
    ws = open_ws(path, database_url)
    refresh(ws, json_output)  # patterns must describe the same history as the findings
    change = change_under_review(ws.repo, range_, diff)
    paths = [_known_path(ws, f) for f in file] if file else None
    report = ws.findings(change=change, paths=paths, gated=not all_)
    ws.store.count_usage(ws.repo_id, [str(f.evidence["pattern"]) for f in report.findings if "pattern" in f.evidence])
    if json_output:
        emit_json(report.to_dict(), sort_keys=True)
        return
    limit = int(ws.settings["top"])
    print_findings(report.findings[:limit], len(report.hidden))
    if len(report.findings) > limit:
        err.print(f"showing {limit} of {len(report.findings)}; --json prints all")
    print_plugin_errors(report.errors)
