"""``empathy report``: the visual report, one self-contained HTML file a team lead opens in a browser.

The data is gathered once in core (:func:`empathy.core.report.build_report`,
with the gate's decisions from :func:`empathy.gate.report_view.gate_record`);
:mod:`empathy.report` draws it; this module only wires options and says where
it wrote.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from empathy.cli._common import DbOpt, PathArg, emit_json, err, open_ws, out, refresh, status
from empathy.core.errors import ConfigError

__all__ = ["report"]


def report(
    path: PathArg = Path("."),
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write the report here: one HTML file with inline SVG figures, no network needed to view it.",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report's data as JSON (with or without --html).")
    ] = False,
    github_artifact: Annotated[
        str | None,
        typer.Option(
            "--github-artifact",
            help="In a GitHub workflow that uploads the --html file as this artifact: add a line linking it "
            "to the step summary.",
        ),
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """A visual report: hotspot map, change coupling, fix and complexity trends, knowledge, track records.

    Every figure has a caption with its numbers and the same data as a table.
    Sections whose data does not exist yet (no `empathy eval`, no gate decision)
    say which command creates it. Needs the `report` extra for --html
    (pip install "empathy\\[report]").
    """
    from empathy.core.report import MISSING, build_report
    from empathy.gate.report_view import gate_record

    if html is None and not json_output:
        raise ConfigError("say where to write the report: --html FILE (or --json for its data)",
                          "e.g. `empathy report --html empathy-report.html`")
    if github_artifact is not None and html is None:
        raise ConfigError("--github-artifact names the uploaded --html file: give --html too")
    if html is not None:
        from empathy.report import require_extra

        require_extra()  # before the long work, not after it
    ws = open_ws(path, database_url)
    refresh(ws, json_output)
    with status(json_output, "gathering the report") as spinner:
        data = build_report(ws, gate=gate_record, progress=lambda m: spinner.update(f"gathering: {escape(m)}"))
        if html is not None:
            from empathy.report import write_html

            spinner.update("drawing the figures")
            size = write_html(data, html)
    if json_output:
        emit_json(data.to_dict())
    if html is None:
        return
    figures = len(MISSING) - len(data.missing)
    said = (
        f"wrote {html} ({size / 1_000_000:.2f} MB): {figures} figure{'' if figures == 1 else 's'}"
        + (f"; without data yet: {', '.join(data.missing)}" if data.missing else "")
    )
    (err if json_output else out).print(escape(said), highlight=False)
    if github_artifact is not None:
        from empathy.ci_action.github import write_step_summary
        from empathy.ci_action.report import report_link_markdown, run_url

        line = report_link_markdown(html.name, size, github_artifact, run_url(os.environ))
        if not write_step_summary(line):
            err.print("[yellow]warning:[/] GITHUB_STEP_SUMMARY is not set: no summary line written", highlight=False)
    if data.missing:
        for section, why in data.missing.items():
            err.print(f"[dim]{escape(section)}:[/] {escape(why)}", highlight=False)

