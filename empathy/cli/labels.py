"""Commit labels: ``empathy commits`` (each commit's kind, fix, bulk and why) and ``empathy label`` (correct one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from empathy.cli._common import JsonOpt, RepoOpt, emit_json, err, ingest, open_ws, out
from empathy.core.usecases.commits import LabelledCommit, commit_labels, correct_label

__all__ = ["commits", "label"]


def _describe(item: LabelledCommit) -> str:
    lab = item.label
    flags = ("fix" if lab.fix else "bulk" if lab.bulk else str(lab.kind)) + ("" if lab.certain else "?")
    return f"{item.commit.sha[:10]} {flags}: {'; '.join(lab.why)}"


def commits(
    revs: Annotated[
        list[str] | None,
        typer.Argument(help="Commits: shas, refs or ranges (A..B). Default: the newest 20.", show_default=False),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="Only this kind: fix, feature, refactor, docs, tests, style, build, dependencies, "
                     "release, revert, bulk."),
    ] = None,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
) -> None:
    """Each commit's label: its kind, whether it is a bug fix or a bulk sweep, and the evidence.

    Labels come from the repository's own conventions (changelog fragments, Conventional
    Commits, closing trailers, bots, reverts) and the change's shape, not from fix words
    anywhere in the message; a `?` marks a label resting on weak evidence. Correct one with
    `empathy label SHA --fix/--not-fix/--bulk/--not-bulk`.
    """
    ws = open_ws(path)
    ingest(ws, json_output)
    items = commit_labels(ws, revs or None, kind, limit=int(ws.settings["top"]))
    if json_output:
        emit_json([item.to_dict() for item in items])
        return
    table = Table("commit", "date", "kind", "fix", "bulk", "subject", "why", header_style="bold")
    for item in items:
        lab = item.label
        table.add_row(
            item.commit.sha[:10],
            item.to_dict()["date"],
            str(lab.kind) + ("" if lab.certain else "?"),
            "yes" if lab.fix else "",
            "yes" if lab.bulk else "",
            escape(item.commit.subject[:72]),
            escape("; ".join(lab.why)),
        )
    out.print(table)
    if not items:
        err.print("no commit matches")


def label(
    rev: Annotated[str, typer.Argument(help="The commit to correct (a sha or a ref).")],
    fix: Annotated[bool | None, typer.Option("--fix/--not-fix", help="It is / is not a product bug fix.")] = None,
    bulk: Annotated[bool | None, typer.Option("--bulk/--not-bulk", help="It is / is not a mechanical sweep.")] = None,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
) -> None:
    """Correct a commit's label; the correction goes to .empathy/labels.toml (commit it to share it)."""
    ws = open_ws(path)
    ingest(ws, json_output)
    before, after = correct_label(ws, rev, fix=fix, bulk=bulk)
    if json_output:
        emit_json({"before": before.to_dict(), "after": after.to_dict(), "file": ".empathy/labels.toml"})
        return
    out.print(f"before: {escape(_describe(before))}", highlight=False)
    out.print(f"now:    {escape(_describe(after))}", highlight=False)
    out.print("saved in .empathy/labels.toml: commit it so the whole team counts the same fixes")
