"""The layers of docs/architecture.md, checked on the import graph (no exceptions list).

core <- plugins (through ``empathy.plugin`` only) <- domain (``empathy.gate``)
<- surfaces (``lsp_server``, ``ci_action``, ``webhooks``) <- cli.  Every import
counts, also one inside a function or under ``TYPE_CHECKING``: a late import
is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import empathy

PACKAGE = Path(empathy.__file__).parent
SURFACES = ("empathy.lsp_server", "empathy.ci_action", "empathy.webhooks")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every ``empathy`` module ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from empathy.cli import history` imports the module empathy.cli.history
            found.update(f"{target}.{a.name}" for a in node.names)
    return {m for m in found if m == "empathy" or m.startswith("empathy.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    known = set(modules)
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        out[name] = {m for m in imports_of(path) if m in known and m != name}
    return out


def _under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def layer(module: str) -> str:
    if _under(module, "empathy.cli") or module == "empathy.__main__":
        return "cli"
    if _under(module, *SURFACES):
        return "surface"
    if _under(module, "empathy.gate"):
        return "domain"
    if _under(module, "empathy.plugins"):
        return "plugins"
    return "core"  # empathy.core, empathy.plugin (the public face of core), empathy itself


def surface_of(module: str) -> str:
    return next(s for s in SURFACES if _under(module, s))


def wrong_edges(edges: dict[str, set[str]]) -> list[str]:
    """Every import that goes the wrong way, as ``a -> b: why``."""
    bad: list[str] = []
    for a, targets in sorted(edges.items()):
        for b in sorted(targets):
            la, lb = layer(a), layer(b)
            why = ""
            if la == "core" and lb != "core":
                why = "core imports nothing above it"
            elif la == "plugins" and lb == "plugins" and b not in _packages(a):
                why = "a plugin never imports another plugin"
            elif la == "plugins" and lb != "plugins" and b != "empathy.plugin":
                why = "a plugin imports only the public API, empathy.plugin"
            elif la == "domain" and lb in ("plugins", "surface", "cli"):
                why = "the gate domain imports core only"
            elif la == "surface" and lb == "plugins":
                why = "a surface never imports a plugin (plugins are loaded by the host)"
            elif la == "surface" and lb == "surface" and surface_of(a) != surface_of(b):
                why = "a surface never imports another surface"
            elif la == "surface" and lb == "cli":
                why = "a surface never imports the CLI"
            elif la == "cli" and lb == "plugins":
                why = "the CLI never imports a plugin (plugins are loaded by the host)"
            if why:
                bad.append(f"{a} -> {b}: {why}")
    return bad


def _packages(module: str) -> Iterable[str]:
    parts = module.split(".")
    return (".".join(parts[:i]) for i in range(1, len(parts)))


def cycles_within(edges: dict[str, set[str]], package: str) -> list[list[str]]:
    """Import cycles among the modules of ``package`` (Tarjan's strongly connected components)."""
    nodes = sorted(n for n in edges if _under(n, package))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if not _under(w, package) or w == package:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for n in nodes:
        if n not in index:
            visit(n)
    return found


def test_no_import_goes_the_wrong_way() -> None:
    assert wrong_edges(graph()) == []


def test_the_cli_has_no_import_cycle() -> None:
    assert cycles_within(graph(), "empathy.cli") == []


def test_built_in_plugins_import_only_the_public_api() -> None:
    edges = graph()
    plugins = [m for m in edges if layer(m) == "plugins"]
    assert len(plugins) >= 15  # the check looked at the real built-ins
    for module in plugins:
        assert {t for t in edges[module] if not _under(t, "empathy.plugins")} <= {"empathy.plugin"}, module


def test_the_checker_catches_each_kind_of_wrong_edge() -> None:
    bad = wrong_edges(
        {
            "empathy.core.workspace": {"empathy.gate.evaluate"},
            "empathy.plugins.churn": {"empathy.core.model", "empathy.plugin"},
            "empathy.plugins.levels.systemic": {"empathy.plugins.coupling"},
            "empathy.lsp_server.index": {"empathy.plugins.churn"},
            "empathy.webhooks.github": {"empathy.ci_action.github", "empathy.gate.evaluate"},
            "empathy.gate.evaluate": {"empathy.ci_action.report"},
            "empathy.cli.history": {"empathy.plugins.agents.adaptation", "empathy.lsp_server"},
        }
    )
    assert bad == [
        "empathy.cli.history -> empathy.plugins.agents.adaptation: the CLI never imports a plugin "
        "(plugins are loaded by the host)",
        "empathy.core.workspace -> empathy.gate.evaluate: core imports nothing above it",
        "empathy.gate.evaluate -> empathy.ci_action.report: the gate domain imports core only",
        "empathy.lsp_server.index -> empathy.plugins.churn: a surface never imports a plugin "
        "(plugins are loaded by the host)",
        "empathy.plugins.churn -> empathy.core.model: a plugin imports only the public API, empathy.plugin",
        "empathy.plugins.levels.systemic -> empathy.plugins.coupling: a plugin never imports another plugin",
        "empathy.webhooks.github -> empathy.ci_action.github: a surface never imports another surface",
    ]


def test_a_cycle_is_found() -> None:
    edges = {"empathy.cli.app": {"empathy.cli.gate"}, "empathy.cli.gate": {"empathy.cli.app"}, "empathy.cli": set()}
    assert cycles_within(edges, "empathy.cli") == [["empathy.cli.app", "empathy.cli.gate"]]
