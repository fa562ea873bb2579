"""Every hook is documented in docs/plugins.md with its exact signature (datasette-style)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from empathy.core import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _hooks() -> list[tuple[str, list[str]]]:
    out = []
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        if hasattr(func, "empathy_spec"):
            out.append((name, list(inspect.signature(func).parameters)))
    return out


def _documented() -> dict[str, list[str]]:
    sections = re.findall(r"^### `(\w+)\(([^)]*)\)`", DOCS.read_text(), flags=re.MULTILINE)
    return {name: [a.strip() for a in args.split(",") if a.strip()] for name, args in sections}


def test_there_are_hooks() -> None:
    names = {name for name, _ in _hooks()}
    assert {
        "mine_patterns",
        "settings_defaults",
        "level_findings",
        "register_agents",
        "score_change_risk",
        "code_actions",
        "handle_event",
    } <= names


@pytest.mark.parametrize(("name", "args"), _hooks())
def test_hook_is_documented(name: str, args: list[str]) -> None:
    documented = _documented()
    assert name in documented, f"hook {name} has no '### `{name}(...)`' section in docs/plugins.md"
    assert documented[name] == args, f"docs/plugins.md shows {name}({documented[name]}), the spec takes {args}"


def test_no_documented_hook_is_missing_from_the_spec() -> None:
    assert set(_documented()) == {name for name, _ in _hooks()}
