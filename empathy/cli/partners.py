"""``empathy partners``: the files a change to FILE... probably also needs, with the evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from empathy.cli._common import JsonOpt, RepoOpt, emit_json, err, ingest, open_ws, out
from empathy.core.errors import ConfigError

__all__ = ["partners"]


def _read_queries(path: Path) -> list[object]:
    from empathy.core.usecases.partners import PartnerQuery

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    queries: list[object] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            query = PartnerQuery(item["id"], str(item["at"]), [str(f) for f in item["files"]])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}:{n}: not a query ({type(exc).__name__}: {exc})",
                'one JSON object a line: {"id": 1, "at": "SHA", "files": ["a.py", "b.py"]}',
            ) from None
        queries.append(query)
    return queries


def partners(
    files: Annotated[list[str] | None, typer.Argument(help="Files of the change (paths in the repository).")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Answer from the history strictly before this commit only.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=100, help="Suggestions to show.")] = 10,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help='Replay queries: a JSONL file of {"id", "at", "files"}; answers one a line.'),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option("--staged", help="Ask about the staged change (git's index); prints only warnings (pre-commit)."),
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="With --staged: exit 1 when a partner is warned about.")
    ] = False,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
) -> None:
    """Files that commits changing FILE... usually also changed, with a probability and the evidence.

    `warn` marks a suggestion the product raises as a warning: one at least as confident as the
    suggestions that were right 70% of the time in this repository's replayed past. `--at REV`
    answers as of a commit (history strictly before it, paths as named then); `--batch` replays
    many queries in one pass (the protocol of the co-change evaluation harness).
    """
    from empathy.core.explain import resolve_repo_path
    from empathy.core.usecases.partners import answer_batch, index_as_of

    ws = open_ws(path)
    ingest(ws, json_output or batch is not None)
    if batch is not None:
        if files:
            raise ConfigError("give files or --batch, not both")
        for qid, got in answer_batch(ws, _read_queries(batch), top=top):  # type: ignore[arg-type]
            row = [{"path": s.path, "score": s.score, "warn": s.warn, "why": s.why} for s in got]
            print(json.dumps({"id": qid, "suggestions": row}), flush=False)
        return
    if staged:
        if files or at:
            raise ConfigError("--staged asks about the staged change: give no files and no --at")
        raw: str = ws.repo.git.diff("--cached", "--name-only", "-z")
        query = sorted(p for p in raw.split("\0") if p)
        warned = ws.partners(query, top=top) if query else []
        if json_output:
            emit_json({"files": query, "warnings": [{"path": s.path, "score": s.score, "why": s.why} for s in warned]})
        else:
            for s in warned:
                out.print(f"empathy: {escape(s.path)} probably needs changing too: {escape(s.why)}", highlight=False)
        if warned and exit_code:
            raise typer.Exit(1)
        return
    if not files:
        raise ConfigError("name the files of the change", "e.g. `empathy partners src/pkg/mod.py`")
    query = [resolve_repo_path(ws.repo.root, f) for f in files]
    index, when = index_as_of(ws, at)
    got = index.suggest(query, when, top=top)
    record = index.track_record()
    track = {
        "warn_threshold": record.threshold,
        "replayed": record.replayed,
        "precision_at_threshold": record.precision,
        "share_warned": record.share,
    }
    if json_output:
        emit_json(
            {
                "files": query,
                "at": at,
                "suggestions": [
                    {"path": s.path, "score": s.score, "warn": s.warn, "why": s.why, "evidence": s.evidence}
                    for s in got
                ],
                "track_record": track,
            }
        )
        return
    table = Table("p", "warn", "file", "why", header_style="bold")
    for s in got:
        table.add_row(f"{s.score:.2f}", "yes" if s.warn else "", escape(s.path), escape(s.why))
    out.print(table)
    if record.threshold is None:
        err.print(
            f"no warnings yet: the replayed past ({record.replayed} queries) does not show a confidence at which "
            "suggestions were right 70% of the time"
        )
    else:
        out.print(
            f"warnings here: p >= {record.threshold:.2f}; on the last {record.replayed} replayed changes, suggestions "
            f"that confident were right {record.precision:.0%} of the time ({record.share:.0%} of changes warned)",
            highlight=False,
        )
