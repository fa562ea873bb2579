"""``empathy plugin``: tools for plugin authors."""

from __future__ import annotations

import typer

__all__ = ["plugin_app"]

plugin_app = typer.Typer(help="Tools for plugin authors.", no_args_is_help=True)
