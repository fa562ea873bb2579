"""The documentation site's generated reference covers what the program really has.

``docs/gen_ref.py`` writes the reference pages when ``mkdocs build`` runs. These tests call
its functions directly (no site build) and check the pages against the live objects: every
command and option of the Typer app, every setting (core and each built-in plugin's), every
webhook event with its required fields, every HTTP operation with its status codes. They
also show the point of generating: a command or setting added at run time appears in the
next page without anyone editing it. The one full ``mkdocs build --strict`` is marked slow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """docs/gen_ref.py imported as a module (it is not part of the package, on purpose)."""
    spec = importlib.util.spec_from_file_location("gen_ref", DOCS / "gen_ref.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(markdown: str) -> dict[str, str]:
    """Heading text in inline code (``## `empathy gate record` ``) -> the text up to the next heading."""
    heads = list(re.finditer(r"^#+ `([^`]+)`\s*$", markdown, flags=re.MULTILINE))
    out: dict[str, str] = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(markdown)
        out[head.group(1)] = markdown[head.end() : end]
    return out


def _commands(command: Any, path: str) -> list[tuple[str, Any]]:
    """Every (full name, click command) below ``command``, the root included."""
    import typer

    found = [(path, command)]
    ctx = typer.Context(command, info_name=path)
    for name in getattr(command, "list_commands", lambda _ctx: [])(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            found += _commands(sub, f"{path} {name}")
    return found


# -- CLI -------------------------------------------------------------------------------------------


def test_the_cli_reference_has_every_command_and_option(gen: ModuleType) -> None:
    import typer.main

    from empathy.cli.app import app

    page = gen.cli_reference()
    sections = _sections(page)
    commands = _commands(typer.main.get_command(app), "empathy")
    assert len(commands) > 25  # the whole tree, groups and their subcommands
    for full_name, command in commands:
        if full_name == "empathy":
            section = page  # the root's options come before the first command heading
        else:
            assert full_name in sections, f"no section for `{full_name}`"
            section = sections[full_name]
        if command.help:
            first_line = command.help.strip().splitlines()[0]
            assert " ".join(first_line.split()) in " ".join(section.split()), full_name
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "option":
                for opt in param.opts:
                    assert f"`{opt}" in section or f" {opt}" in section, f"{full_name}: {opt} missing"
            else:
                assert f"`{param.name}" in section, f"{full_name}: argument {param.name} missing"


def test_a_command_added_to_the_app_appears_without_editing_the_page(
    gen: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from empathy.cli.app import app

    def probe(flavour: str = typer.Option("plain", help="How the probe tastes.")) -> None:
        """A command that exists only in this test."""

    assert "docs-probe" not in gen.cli_reference()
    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    app.command("docs-probe")(probe)
    section = _sections(gen.cli_reference())["empathy docs-probe"]
    assert "A command that exists only in this test." in section
    assert "--flavour" in section and "How the probe tastes." in section


# -- settings --------------------------------------------------------------------------------------


def _row(page: str, key: str, after: int = 0) -> list[str]:
    """The cells of the first table row for ``key`` at or after offset ``after``."""
    match = re.compile(rf"^\| `{re.escape(key)}` \|(.*)\|$", flags=re.MULTILINE).search(page, after)
    assert match, f"no row for {key}"
    return [cell.strip() for cell in match.group(1).split(" | ")]


def test_the_settings_reference_has_every_core_setting_with_type_default_and_range(gen: ModuleType) -> None:
    from empathy.core.config import CORE_SETTINGS

    page = gen.settings_reference()
    core = page[: page.index("## Plugin settings")]
    for name, spec in CORE_SETTINGS.items():
        type_, default, rng, meaning = _row(core, name)
        assert " ".join(spec.help.split()) == meaning.replace("\\|", "|")
        if spec.default in ("", None):
            assert default in ("empty", "unset")
        else:
            assert json.loads(default.strip("`")) == spec.default
        expected_type = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(spec.default))
        if expected_type:
            assert type_ == expected_type, name
        assert rng == (f"≥ {spec.minimum:g}" if spec.minimum is not None else ""), name


def test_a_setting_added_to_the_definitions_appears_with_its_range(
    gen: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from empathy.core.config import CORE_SETTINGS, SettingSpec

    monkeypatch.setitem(CORE_SETTINGS, "docs_probe_days", SettingSpec(7, "a probe that exists only here", minimum=2))
    assert _row(gen.settings_reference(), "docs_probe_days") == [
        "integer",
        "`7`",
        "≥ 2",
        "a probe that exists only here",
    ]


def test_the_settings_reference_has_every_builtin_plugin_setting(gen: ModuleType) -> None:
    from empathy.core.host import default_host

    page = gen.settings_reference()
    results = default_host().call_each("settings_defaults", timeout=10.0)
    assert {r.plugin for r in results} >= {"churn", "coupling", "gate", "webhooks"}
    for result in results:
        assert result.error is None, result
        start = page.index(f"### `{result.plugin}`")
        end = page.find("\n### ", start + 1)
        section = page[start : end if end > 0 else len(page)]
        env = f"`EMPATHY_PLUGIN_{result.plugin.upper().replace('-', '_')}_<KEY>`"
        assert env in section[: section.index("|")], result.plugin
        for key, default in result.value.items():
            cells = _row(section, key)
            if default not in ("", None):
                assert json.loads(cells[1].strip("`")) == default, (result.plugin, key)
    # the gate's policy numbers carry their meaning from the dataclass's comments
    gate = page.index("### `gate`")
    assert "error budget" in _row(page, "target_failure_rate", after=gate)[-1]


# -- events and the HTTP API -----------------------------------------------------------------------


def test_the_events_reference_has_every_event_and_its_required_fields(gen: ModuleType) -> None:
    from empathy.webhooks.catalog import CATALOG, OPERATIONAL

    sections = _sections(gen.events_reference())
    for name, event in {**CATALOG, **OPERATIONAL}.items():
        section = sections[name]
        assert event.description in section
        for field in event.schema["properties"]:
            required = field in event.schema.get("required", [])
            assert re.search(rf"^\| `{re.escape(field)}` \|.*\| {'yes' if required else ''} \|$", section, re.M), (
                name,
                field,
            )


def test_the_http_reference_has_every_operation_and_status_code(gen: ModuleType, tmp_path: Path) -> None:
    from empathy.core.host import PluginHost
    from empathy.webhooks.app import create_app
    from empathy.webhooks.config import ServiceConfig

    app = create_app(
        ServiceConfig(database_url=f"sqlite:///{tmp_path / 'svc.db'}"), host=PluginHost(), deliver_in_process=False
    )
    schema = app.openapi()
    app.state.service.store.engine.dispose()
    sections = _sections(gen.http_reference())
    operations = [(m.upper(), p, op) for p, methods in schema["paths"].items() for m, op in methods.items()]
    assert len(operations) >= 15
    for method, path, op in operations:
        section = sections[f"{method} {path}"]
        for code in op["responses"]:
            assert re.search(rf"^\| {code} \|", section, re.M), (method, path, code)
        for param in op.get("parameters", []):
            assert f"`{param['name']}`" in section, (method, path, param["name"])


# -- the site around them --------------------------------------------------------------------------


def test_the_front_page_is_the_readme_with_working_links(gen: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = gen.index_page(readme)
    assert "](docs/" not in page
    assert page.splitlines()[0] == readme.splitlines()[0]
    # README's tables escape pipes in code for GitHub; on the site the backslash would show
    assert gen.index_page("| `a \\| b` | c \\| d |") == "| `a | b` | c \\| d |"
    for line in page.splitlines():
        if line.startswith("|"):
            assert not any("\\|" in code for code in re.findall(r"`[^`]*`", line)), line
    for target in re.findall(r"\]\(([^)\s]+)\)", page):
        if target.startswith(("http://", "https://", "#")):
            continue
        assert (DOCS / target.split("#")[0]).is_file(), target


def test_every_page_is_in_the_nav_and_every_nav_entry_exists(gen: ModuleType) -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    generated = set(gen.GENERATED_PAGES)
    assert "reference/cli.md" in generated

    def entries(node: Any) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [e for item in node for e in entries(item)]
        if isinstance(node, dict):
            return [e for value in node.values() for e in entries(value)]
        return []

    nav = entries(config["nav"])
    assert len(nav) == len(set(nav))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert set(nav) == on_disk | generated
    assert not on_disk & generated  # a generated page is never also checked in


@pytest.mark.slow
def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_gen_files")
    pytest.importorskip("mkdocstrings")
    env = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "empathy analyze" in cli
    # mkdocstrings rendered every hook and every public name of the plugin API, each under its own anchor
    import empathy.plugin
    from empathy.core import hookspecs

    hooks = (tmp_path / "site" / "reference" / "hookspecs" / "index.html").read_text(encoding="utf-8")
    specs = [name for name, f in vars(hookspecs).items() if hasattr(f, "empathy_spec")]
    assert len(specs) >= 7
    for name in specs:
        assert f'id="empathy.core.hookspecs.{name}"' in hooks, name
    api = (tmp_path / "site" / "reference" / "plugin-api" / "index.html").read_text(encoding="utf-8")
    for name in empathy.plugin.__all__:
        assert f'id="empathy.plugin.{name}"' in api, name
    # the docstrings' Sphinx roles read as code (docs/griffe_rst_roles.py), not as ":class:" text
    assert ":class:" in (ROOT / "empathy" / "plugin.py").read_text(encoding="utf-8")
    assert ":class:" not in api and ":func:" not in api
