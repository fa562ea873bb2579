"""The pattern library: ``patterns [list]``, ``patterns export`` and ``patterns import``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from empathy.cli._common import JsonOpt, PathArg, RepoOpt, emit_json, err, handle_errors, open_ws, out
from empathy.core.workspace import rank_patterns

__all__ = ["patterns_app"]

class _ListByDefault(TyperGroup):
    """``empathy patterns [PATH] [--json] ...`` means ``empathy patterns list [PATH] [--json] ...``.

    README shows both spellings; a group otherwise refuses list's options and
    takes a path for an unknown subcommand.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        if not any(a in self.commands or a in ("--help", "-h") for a in args):
            args = ["list", *args]
        return super().parse_args(ctx, args)


patterns_app = typer.Typer(
    help="The pattern library: list (the default), export and import persisted patterns.",
    cls=_ListByDefault,
)


@patterns_app.command("list")
@handle_errors
def patterns_list(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include patterns no longer found.")] = False,
) -> None:
    """List the stored patterns, best supported first, with confidence and usage counts."""
    ws = open_ws(path)
    ranked = rank_patterns(ws.store.patterns(ws.repo_id, kind=kind, include_inactive=all_))
    if json_output:
        emit_json([p.to_dict() for p in ranked], sort_keys=True)
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

    ws = open_ws(repo)
    text = dump_patterns(ws.repo.key, ws.store.patterns(ws.repo_id, include_inactive=True), time.time())
    if str(file) == "-":
        sys.stdout.write(text)
    else:
        from empathy.core.errors import PatternFileError

        try:
            file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PatternFileError(
                f"cannot write {file}: {exc.strerror}", "give a path in a directory that exists and you can write"
            ) from None
        err.print(f"exported to {file}")


@patterns_app.command("import")
@handle_errors
def patterns_import(
    file: Annotated[Path, typer.Argument(help="A file written by `patterns export`.")],
    repo: RepoOpt = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Import an export made from another repository.")
    ] = False,
) -> None:
    """Import patterns exported from this repository (upsert by key); another repository's needs --force."""
    from empathy.core.errors import PatternFileError
    from empathy.core.patterns_io import exported_from, load_patterns

    patterns = load_patterns(file)
    ws = open_ws(repo)
    source = exported_from(file)
    foreign = source is not None and source != ws.repo.key
    if foreign and not force:
        raise PatternFileError(
            f"{file} was exported from {source}, not from {ws.repo.key}: its files and commits are another history's",
            "add --force to import it anyway (the patterns are kept under this repository)",
        )
    count = ws.store.import_patterns(ws.repo_id, patterns)
    out.print(f"imported {count} patterns into {ws.repo.key}" + (f" (exported from {source})" if foreign else ""))
