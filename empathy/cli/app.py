"""The ``empathy`` command line (typer + rich): this module only wires the commands.

Each topic lives in its own module (history, findings, predict, agents,
patterns, config, gate, serve, lsp, plugin); they share the consoles,
options and error handling of :mod:`empathy.cli._common` and call the
use-cases of :class:`empathy.core.workspace.Workspace`, then render.
"""

from __future__ import annotations

import importlib
import os
from typing import Annotated

import typer

from empathy import __version__
from empathy.cli import agents, config, findings, history, labels, partners, predict, report
from empathy.cli._common import err, handle_errors, out
from empathy.cli.gate import gate_app
from empathy.cli.lsp import lsp
from empathy.cli.patterns import patterns_app
from empathy.cli.plugin import plugin_app
from empathy.cli.serve import register as register_serve

__all__ = ["app", "err", "main", "out"]

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


# A usage error (an unknown option, a missing argument, a bad value) exits 4, "configuration or
# usage error", as README's table says: click's default, 2, is this CLI's "not a repository",
# and a script must be able to tell the two apart.
for _clicks in ("click", "typer._click"):  # recent typer ships its own copy of click
    try:
        importlib.import_module(f"{_clicks}.exceptions").UsageError.exit_code = 4
    except ImportError:
        pass


def _version(value: bool) -> None:
    if value:
        print(f"empathy {__version__}")
        raise typer.Exit()


def _as_of(value: str | None) -> str | None:
    """``--as-of`` is the ``as_of`` setting for this run (it outranks the files and the environment)."""
    if value is None:
        return None
    from empathy.core.errors import ConfigError
    from empathy.core.workspace import resolve_as_of

    try:
        resolve_as_of(value)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    os.environ["EMPATHY_AS_OF"] = value
    return value


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            callback=_as_of,
            help="Analyse as of this day (YYYY-MM-DD) or `last-commit`, for replays; default: now (the clock).",
        ),
    ] = None,
) -> None:
    """Learn from a repository's history what usually goes wrong there."""


# The order here is the order of `empathy --help`.
for name, command in (
    ("analyze", history.analyze),
    ("mine", history.mine),
    ("init", config.init),
    ("plugins", config.plugins),
    ("findings", findings.findings),
    ("partners", partners.partners),
    ("forecast", predict.forecast),
    ("eval", predict.eval_),
    ("risk", predict.risk),
    ("explain", history.explain),
    ("report", report.report),
    ("commits", labels.commits),
    ("label", labels.label),
    ("answer", agents.answer),
    ("feedback", agents.feedback),
    ("ab", agents.ab),
    ("trust", agents.trust),
    ("stats", agents.stats),
    ("agents", agents.agents),
    ("brief", agents.brief),
    ("lsp", lsp),
):
    app.command(name)(handle_errors(command))
app.add_typer(config.config_app, name="config")
app.add_typer(patterns_app, name="patterns")
app.add_typer(plugin_app, name="plugin")
app.add_typer(gate_app, name="gate")
register_serve(app)


def main() -> None:
    app()
