"""Set-up commands: ``init``, ``plugins`` and ``config show``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from empathy.cli._common import JsonOpt, PathArg, emit_json, err, handle_errors, open_ws, out
from empathy.core.errors import EmpathyError

__all__ = ["config_app", "init", "plugins", "show"]

config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)


def init(
    path: PathArg = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing .empathy.toml.")] = False,
) -> None:
    """Create the store and a commented .empathy.toml with every setting."""
    from empathy.core.config import CORE_SETTINGS

    ws = open_ws(path)
    target = ws.repo.root / ".empathy.toml"
    if target.exists() and not force:
        err.print(f"{target} exists; keeping it (use --force to overwrite)")
    else:
        lines = [
            "# empathy settings for this checkout (overrides [tool.empathy] in pyproject.toml).",
            "# Uncomment a line to change it; `empathy config show` prints what is in effect.",
            "",
        ]
        for name, spec in CORE_SETTINGS.items():
            lines.append(f"# {spec.help}")
            if spec.default is None:
                lines.append(f"# {name} = {spec.example or '[]'}")
            else:
                lines.append(f"# {name} = {json.dumps(spec.default)}")
                if spec.example:
                    lines.append(f"# e.g. {name} = {spec.example}")
            lines.append("")
        for plugin in ws.settings.all_plugin_sections():
            lines.append(f"# [plugins.{plugin}]")
            for key, value in ws.settings.plugin(plugin).items():
                lines.append(f"# {key} = {json.dumps(value)}")
            lines.append("")
        target.write_text("\n".join(lines), encoding="utf-8")
        out.print(f"wrote {target}")
        if ws.repo.path_state(target.name) == "untracked":
            exclude = os.path.relpath(ws.repo.exclude_file(), ws.repo.root)
            out.print(
                f"{target.name} is not in git yet: commit it to share these settings with the team "
                f"(`git add {target.name}`), or keep them to this checkout "
                f"(`echo {target.name} >> {exclude}`)",
                highlight=False,
                soft_wrap=True,
            )
    out.print(f"store: {ws.store.url}")
    out.print("next: `empathy analyze` to ingest the history and see the report")


def plugins(json_output: JsonOpt = False, path: PathArg = Path(".")) -> None:
    """List plugins: name, version, hooks, enabled, load error, last run error."""
    from empathy.core.config import load_settings
    from empathy.core.host import default_host

    last_errors: dict[str, str] = {}
    try:
        ws = open_ws(path)
        host = ws.host
        for run in ws.store.plugin_runs():
            if run.error:
                last_errors[run.plugin] = f"{run.hook}: {run.error}"
    except EmpathyError:
        settings = load_settings(None)
        host = default_host(load=settings["load_plugins"], disable=settings["disable_plugins"])
    rows = []
    for info in host.listing():
        row = info.to_dict()
        row["last_error"] = last_errors.get(info.name)
        rows.append(row)
    if json_output:
        emit_json(rows)
        return
    table = Table("name", "version", "hooks", "enabled", "load error", "last run error", header_style="bold")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["version"]),
            ", ".join(row["hooks"]),
            "yes" if row["enabled"] else "no",
            escape(row["load_error"] or ""),
            escape(row["last_error"] or ""),
        )
    out.print(table)

_SECRET_WORDS = ("secret", "token", "password", "api_key")


def _masked(name: str, value: Any) -> Any:
    """Secrets shown as set or not, never their value; a URL keeps everything but its password.

    `config show` output ends up in bug reports and CI logs.
    """
    if not isinstance(value, str) or not value:
        return value
    last = name.rsplit(".", 1)[-1].lower()
    if any(word in last for word in _SECRET_WORDS):
        return "***"
    if last.endswith("_url") and "@" in value:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(value).render_as_string(hide_password=True)
        except ArgumentError:
            return "***"
    return value


@config_app.command("show")
@handle_errors
def show(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """Print every setting, its value and where it came from."""
    ws = open_ws(path)
    s = ws.settings
    rows: list[dict[str, Any]] = [
        {"name": name, "value": s.values[name], "source": s.sources[name]} for name in s.values
    ]
    for plugin in s.all_plugin_sections():
        for key, (value, source) in s.plugin_with_sources(plugin).items():
            rows.append({"name": f"plugins.{plugin}.{key}", "value": value, "source": source})
    for row in rows:
        row["value"] = _masked(row["name"], row["value"])
    if json_output:
        emit_json({"settings": rows, "unknown": s.unknown})
        return
    table = Table("setting", "value", "source", header_style="bold")
    for row in rows:
        table.add_row(row["name"], escape(json.dumps(row["value"], default=str)), escape(row["source"]))
    out.print(table)  # unknown settings and plugin sections were named by open_ws, as for every command
