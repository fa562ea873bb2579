"""Generate the site's reference pages from the code, at build time (mkdocs-gen-files runs this file).

Why generated: a reference typed by hand goes stale the day a command, a setting or
an event changes.  Every page here is rebuilt by ``mkdocs build`` from the objects
the program itself uses:

* ``reference/cli.md``: the Typer app's click command tree (Typer's own Markdown
  generator, the one behind ``typer ... utils docs``);
* ``reference/settings.md``: ``CORE_SETTINGS`` (type, default, minimum, help) and
  every built-in plugin's ``settings_defaults`` hook;
* ``reference/events.md``: the webhook event catalog with each ``data`` schema;
* ``reference/http-api.md``: the service's OpenAPI schema (``app.openapi()`` of an
  app built on a throw-away SQLite store, no server started);
* ``index.md``: README.md, its links made to work inside the site.

The hookspecs and the plugin API pages are mkdocstrings directives
(``docs/reference/*.md``): they are rendered from the code too.

The functions return Markdown, so ``tests/test_docs_site.py`` checks them without a
site build.  This file lives outside the ``empathy`` package on purpose: the
runtime never needs it.
"""

from __future__ import annotations

import inspect
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where links to files outside docs/ point (the repository on GitHub, as empathy's SARIF output says).
REPO_URL = "https://github.com/empathy-dev/empathy"

__all__ = [
    "GENERATED_PAGES",
    "REPO_URL",
    "cli_reference",
    "events_reference",
    "http_reference",
    "index_page",
    "plugin_settings",
    "settings_reference",
    "write_pages",
]


def _cell(value: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def _code(value: object) -> str:
    """A value as inline code in a table cell (JSON spelling, as in a TOML or JSON file)."""
    text = json.dumps(value)
    return f"`{_cell(text)}`" if "`" not in text else _cell(text)


# -- CLI -------------------------------------------------------------------------------------------


def cli_reference() -> str:
    """Every command, subcommand, argument and option of ``empathy``, with its help text."""
    import typer
    import typer.main
    from typer.cli import get_docs_for_click

    from empathy.cli.app import app

    command = typer.main.get_command(app)
    ctx = typer.Context(command, info_name="empathy")
    body = get_docs_for_click(obj=command, ctx=ctx, name="empathy", title="CLI reference")
    intro = (
        "Generated from the Typer app (`empathy/cli/app.py`) when the site is built: every command, "
        "argument and option with its help text, as `empathy COMMAND --help` prints it. "
        "Exit codes are listed in the [overview](../index.md#commands).\n\n"
    )
    title, _, rest = body.partition("\n\n")
    return f"{title}\n\n{intro}{rest.strip()}\n"


# -- settings --------------------------------------------------------------------------------------


def _type_name(default: Any) -> str:
    """The setting's type, as the loader checks it (``_check_type`` in empathy.core.config)."""
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    if isinstance(default, list) or default is None:
        return "list of strings"
    if isinstance(default, dict):
        return "table of lists of strings"
    return "string"


def _default_text(default: Any) -> str:
    if default is None:
        return "unset"
    if default == "":
        return "empty"
    return _code(default)


def _field_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comments above a dataclass's fields (how the gate documents its policy numbers)."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"(\w+)\s*:", stripped)
        if match and pending:
            comments[match.group(1)] = " ".join(pending)
        pending = []
    return comments


def plugin_settings() -> dict[str, dict[str, Any]]:
    """Each built-in plugin's ``settings_defaults()``, by plugin id (its entry-point name).

    Only the entry points empathy's own distribution declares: a third-party plugin
    installed beside it must not change the site.
    """
    found: dict[str, dict[str, Any]] = {}
    for ep in entry_points(group="empathy"):
        dist = ep.dist
        if dist is None or str(dist.metadata["Name"]).lower() != "empathy":
            continue
        module = import_module(ep.value.split(":")[0])
        hook = getattr(module, "settings_defaults", None)
        if callable(hook):
            found[ep.name] = dict(hook())
    return dict(sorted(found.items()))


def _plugin_descriptions() -> dict[str, dict[str, str]]:
    """What the definitions say about a plugin's keys, where they say it (the gate's policy dataclass)."""
    from empathy.gate.settings import GATE_PLUGIN, GateSettings

    out: dict[str, dict[str, str]] = {}
    if is_dataclass(GateSettings):
        comments = _field_comments(GateSettings)
        out[GATE_PLUGIN] = {f.name: comments.get(f.name, "") for f in fields(GateSettings)}
    return out


def settings_reference() -> str:
    """Every configuration key: name, type, default, range and meaning, from the definitions."""
    from empathy.core.config import CORE_SETTINGS, DEPRECATED_SETTINGS

    lines = [
        "# Settings reference",
        "",
        "Generated from `CORE_SETTINGS` in `empathy/core/config.py` and from each built-in plugin's "
        "`settings_defaults` hook when the site is built. Where settings go and which source wins: "
        "[Configuration](../configuration.md). `empathy config show` prints the values in effect "
        "and where each came from.",
        "",
        "## Core settings",
        "",
        "`[tool.empathy]` in `pyproject.toml`, top-level keys in `.empathy.toml`, or the environment "
        "variable `EMPATHY_<SETTING>` (`EMPATHY_WINDOW_DAYS` for `window_days`; lists are comma-separated "
        "there). A value below the minimum, or of the wrong type, is refused where it is set, with the "
        "file or variable named.",
        "",
        "| setting | type | default | range | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, spec in CORE_SETTINGS.items():
        rng = f"≥ {spec.minimum:g}" if spec.minimum is not None else ""
        lines.append(
            f"| `{name}` | {_type_name(spec.default)} | {_default_text(spec.default)} | {rng} | {_cell(spec.help)} |"
        )
    if DEPRECATED_SETTINGS:
        lines += ["", "Old names still read, each with a warning naming the new one:", ""]
        lines += [f"- `{old}`: now `{new}`" for old, new in sorted(DEPRECATED_SETTINGS.items())]
    lines += [
        "",
        "## Plugin settings",
        "",
        "Each plugin's keys live in `[tool.empathy.plugins.<id>]` (`[plugins.<id>]` in `.empathy.toml`) "
        "or `EMPATHY_PLUGIN_<ID>_<KEY>`; the id is the plugin's entry-point name. The defaults below are "
        "what each built-in plugin's `settings_defaults` hook returns. A plugin declares only its defaults, "
        "so no range is shown; the meanings the code does not carry are in the guides: "
        "[the gate](../gate.md#settings), [the webhook service](../webhooks.md#settings), "
        "[the miners](../configuration.md#plugin-settings), [the levels](../levels.md), "
        "[the agents](../agents.md).",
    ]
    descriptions = _plugin_descriptions()
    for plugin, defaults in plugin_settings().items():
        if not defaults:
            continue
        env_prefix = f"EMPATHY_PLUGIN_{plugin.upper().replace('-', '_')}_"
        meanings = descriptions.get(plugin, {})
        lines += ["", f"### `{plugin}`", "", f"`[tool.empathy.plugins.{plugin}]`, `{env_prefix}<KEY>`", ""]
        if meanings:
            lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        else:
            lines += ["| key | type | default |", "|---|---|---|"]
        for key, default in defaults.items():
            row = f"| `{key}` | {_type_name(default)} | {_default_text(default)} |"
            if meanings:
                row += f" {_cell(meanings.get(key, ''))} |"
            lines.append(row)
    return "\n".join(lines) + "\n"


# -- webhook events --------------------------------------------------------------------------------


def _schema_type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    words = []
    for k in kinds:
        if k == "array":
            items = schema.get("items", {})
            inner = _schema_type(items) if isinstance(items, dict) else "any"
            if items.get("type") == "object" and items.get("properties"):
                inner = "object {" + ", ".join(items["properties"]) + "}"
            words.append(f"array of {inner}")
        else:
            words.append(str(k))
    text = " or ".join(words)
    if "minimum" in schema or "maximum" in schema:
        text += f" in [{schema.get('minimum', '-∞')}, {schema.get('maximum', '∞')}]"
    return text


def events_reference() -> str:
    """The webhook event catalog: each type, what it means, who emits it, and its ``data`` fields."""
    from empathy.webhooks.catalog import CATALOG, OPERATIONAL

    lines = [
        "# Webhook events",
        "",
        "Generated from the catalog in `empathy/webhooks/catalog.py` when the site is built; the service "
        "serves the same schemas at `GET /v1/event-types`. Every message body is the envelope "
        '`{"type": ..., "timestamp": ..., "data": {...}}`; signing, retries and filters are in the '
        "[webhooks guide](../webhooks.md).",
        "",
        "| type | what it means | emitted by |",
        "|---|---|---|",
    ]
    groups = [("", CATALOG), (" (operational)", OPERATIONAL)]
    for suffix, catalog in groups:
        for name, event in catalog.items():
            lines.append(
                f"| [`{name}`](#{_slug(name)}){suffix} | {_cell(event.description)} | {_cell(event.emitted_by)} |"
            )
    for suffix, catalog in groups:
        for name, event in catalog.items():
            schema = event.schema
            required = set(schema.get("required", []))
            lines += [
                "",
                f"## `{name}`",
                "",
                f"{event.description}{suffix}",
                "",
                f"Emitted by: {event.emitted_by}.",
                "",
            ]
            lines += ["| `data` field | type | required |", "|---|---|---|"]
            for field_name, field_schema in schema.get("properties", {}).items():
                need = "yes" if field_name in required else ""
                lines.append(f"| `{field_name}` | {_cell(_schema_type(field_schema))} | {need} |")
            if schema.get("additionalProperties", True):
                lines += ["", "Other fields may be present (the schema allows additional properties)."]
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    """The anchor MkDocs' toc extension gives a heading made of ``text`` in inline code."""
    return re.sub(r"[^\w\- ]", "", text).strip().lower().replace(" ", "-")


# -- HTTP API --------------------------------------------------------------------------------------


def openapi_schema() -> dict[str, Any]:
    """The service's OpenAPI document, from an app on a throw-away SQLite store (nothing listens)."""
    from empathy.core.host import PluginHost
    from empathy.webhooks.app import create_app
    from empathy.webhooks.config import ServiceConfig

    with tempfile.TemporaryDirectory(prefix="empathy-docs-") as tmp:
        config = ServiceConfig(database_url=f"sqlite:///{Path(tmp) / 'service.db'}")
        app = create_app(config, host=PluginHost(), deliver_in_process=False)
        schema = app.openapi()
        app.state.service.store.engine.dispose()
    return schema


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[`{name}`](#{_slug(name)})"
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_ref_name(schema['items'])}"
    if "anyOf" in schema:
        return " or ".join(_ref_name(s) for s in schema["anyOf"])
    kind = schema.get("type")
    return str(kind) if kind else "any"


def _constraints(spec: dict[str, Any]) -> str:
    """A field's default and bounds as the schema declares them (what a request may send)."""
    parts = []
    if "default" in spec:
        parts.append(f"default {_code(spec['default'])}")
    for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in spec:
            parts.append(f"{word} {spec[key]:g}")
    for key, word in (("minLength", "length ≥"), ("maxLength", "length ≤"), ("maxItems", "items ≤")):
        if key in spec:
            parts.append(f"{word} {spec[key]}")
    return "; ".join(parts)


def http_reference(schema: dict[str, Any] | None = None) -> str:
    """Every path and method of the HTTP API: summary, parameters, body, status codes, models."""
    doc = schema if schema is not None else openapi_schema()
    info = doc.get("info", {})
    lines = [
        "# HTTP API",
        "",
        f"Generated from the OpenAPI schema of `empathy serve` ({_cell(info.get('title', ''))}, "
        f"OpenAPI {doc.get('openapi', '?')}) when the site is built. A running service serves the same "
        "schema at `/openapi.json` and Swagger UI at `/docs`. Keys, limits and delivery: the "
        "[webhooks guide](../webhooks.md).",
        "",
        "| method | path | summary | status codes |",
        "|---|---|---|---|",
    ]
    operations: list[tuple[str, str, dict[str, Any]]] = []
    for path, methods in doc.get("paths", {}).items():
        for method, op in methods.items():
            operations.append((method.upper(), path, op))
    for method, path, op in operations:
        anchor = _slug(f"{method} {path}")
        codes = ", ".join(op.get("responses", {}))
        lines.append(f"| {method} | [`{path}`](#{anchor}) | {_cell(op.get('summary', ''))} | {codes} |")
    for method, path, op in operations:
        lines += ["", f"## `{method} {path}`", "", f"**{_cell(op.get('summary', ''))}**", ""]
        if op.get("description"):
            lines += [op["description"].strip(), ""]
        params = op.get("parameters", [])
        if params:
            lines += [
                "| parameter | in | required | type | default and range | description |",
                "|---|---|---|---|---|---|",
            ]
            for p in params:
                spec = p.get("schema", {})
                lines.append(
                    f"| `{p['name']}` | {p.get('in', '')} | {'yes' if p.get('required') else ''} "
                    f"| {_cell(_ref_name(spec))} | {_constraints(spec)} | {_cell(p.get('description', ''))} |"
                )
            lines.append("")
        body = op.get("requestBody")
        if body:
            content = body.get("content", {})
            for media, spec in content.items():
                lines += [f"Request body (`{media}`): {_ref_name(spec.get('schema', {}))}", ""]
        lines += ["| status | meaning | body |", "|---|---|---|"]
        for code, answer in op.get("responses", {}).items():
            content = answer.get("content", {})
            shapes = ", ".join(_ref_name(spec.get("schema", {})) for spec in content.values() if spec.get("schema"))
            lines.append(f"| {code} | {_cell(answer.get('description', ''))} | {shapes} |")
    models = doc.get("components", {}).get("schemas", {})
    if models:
        lines += ["", "## Models"]
        for name, model in models.items():
            lines += ["", f"### {name}", ""]
            if model.get("description"):
                lines += [_cell(model["description"]), ""]
            props = model.get("properties", {})
            if not props:
                lines.append(f"Type: {_cell(_ref_name(model))}.")
                continue
            required = set(model.get("required", []))
            lines += ["| field | type | required | default and range | description |", "|---|---|---|---|---|"]
            for prop, spec in props.items():
                lines.append(
                    f"| `{prop}` | {_cell(_ref_name(spec))} | {'yes' if prop in required else ''} "
                    f"| {_constraints(spec)} | {_cell(spec.get('description', ''))} |"
                )
    return "\n".join(lines) + "\n"


# -- the front page --------------------------------------------------------------------------------

_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s]+)\)")


def index_page(readme: str) -> str:
    """README.md as the site's front page.

    ``docs/X.md`` links become ``X.md``, links to other files point at the repository on
    GitHub, and a table cell's escaped pipe inside code (``a\\|b``) loses its backslash.
    """

    def fix(match: re.Match[str]) -> str:
        target = match.group(1)
        if target.startswith("docs/"):
            return f"]({target[len('docs/') :]})"
        return f"]({REPO_URL}/blob/main/{target})"

    def unescape(line: str) -> str:
        # GitHub needs `a\|b` in a table cell; Python-Markdown keeps a code span's pipes itself and would
        # show the backslash.
        if not line.startswith("|"):
            return line
        return re.sub(r"`[^`]*`", lambda m: m.group(0).replace("\\|", "|"), line)

    return "\n".join(unescape(line) for line in _LINK.sub(fix, readme).split("\n"))


def write_pages() -> None:
    """Write every generated page into the build (only inside ``mkdocs build`` / ``mkdocs serve``)."""
    import mkdocs_gen_files

    for name, make in _pages().items():
        with mkdocs_gen_files.open(name, "w") as fh:
            fh.write(make())


def _pages() -> dict[str, Callable[[], str]]:
    return {
        "index.md": lambda: index_page((ROOT / "README.md").read_text(encoding="utf-8")),
        "reference/cli.md": cli_reference,
        "reference/settings.md": settings_reference,
        "reference/events.md": events_reference,
        "reference/http-api.md": http_reference,
    }


#: The pages this file writes (never checked in: a test fails if one is).
GENERATED_PAGES = tuple(_pages())


# mkdocs-gen-files runs this file with runpy.run_path (``__name__`` is "<run_path>"); a test imports it.
if __name__ in ("<run_path>", "__main__"):
    write_pages()
