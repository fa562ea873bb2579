"""``empathy plugin``: tools for plugin authors."""

from __future__ import annotations

import shlex
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from empathy import __version__
from empathy.cli import scaffold
from empathy.cli._common import JsonOpt, emit_json, handle_errors, out
from empathy.core.errors import EmpathyError
from empathy.core.hookspecs import PROJECT

__all__ = ["new", "plugin_app"]

plugin_app = typer.Typer(help="Tools for plugin authors.", no_args_is_help=True)


def _builtin_ids() -> set[str]:
    """Plugin ids that empathy itself registers (a second plugin with one of them would be refused)."""
    return {
        ep.name for ep in entry_points(group=PROJECT) if ep.dist is not None and ep.dist.metadata["Name"] == "empathy"
    }


@plugin_app.command("new")
@handle_errors
def new(
    name: Annotated[str, typer.Argument(help="The plugin id: lowercase letters, digits and dashes (my-plugin).")],
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to create the package (default: ./empathy-NAME).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into an existing non-empty directory, replacing the same files.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Create an installable plugin package with one miner, one level and tests that pass."""
    scaffold.validate_name(name, taken=_builtin_ids())
    target = directory if directory is not None else scaffold.default_directory(name)
    scaffold.check_target(target, force)
    written: list[Path] = []
    for rel, text in scaffold.render(name, __version__).items():
        path = target / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise EmpathyError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    commands = [f"pip install -e {shlex.quote(str(target))}", f"pytest {shlex.quote(str(target))}"]
    if json_output:
        emit_json(
            {
                "plugin": name,
                "module": scaffold.module_name(name),
                "directory": str(target),
                "files": [str(p) for p in written],
                "next": commands,
            }
        )
        return
    out.print(f"created the plugin {name} (module {scaffold.module_name(name)}) in {escape(str(target))}:")
    for path in written:
        out.print(f"  {escape(str(path))}", highlight=False)
    out.print("next:")
    for command in commands:
        out.print(f"  {escape(command)}", highlight=False)
