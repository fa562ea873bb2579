"""The editor's settings (``workspace/configuration``, section ``empathy``) and their precedence.

Two kinds of keys live in the ``empathy`` section:

* editor behaviour (``run``, ``debounceMs``, ``showIgnoreActions``, ``progress``,
  ``minSeverity``, ``headPollSeconds``): only the editor sets these;
* ``analysis``: a table of core settings (``horizon_days``, ``database_url``,
  ``exclude`` ...).  The repository's own configuration wins: a key set in
  ``[tool.empathy]``, ``.empathy.toml`` or an ``EMPATHY_*`` variable keeps that
  value, and the editor's value only fills keys the project leaves at their
  default.  A team's committed settings therefore mean the same findings in
  every editor and in CI (docs/editors.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from empathy.core.config import CORE_SETTINGS, load_settings
from empathy.core.errors import EmpathyError

__all__ = ["EditorSettings", "analysis_overrides", "parse_settings"]

RunMode = Literal["onType", "onSave"]


@dataclass(frozen=True)
class EditorSettings:
    """How the server behaves in one editor; the defaults suit most users."""

    #: ``onType``: re-check a document while it is edited (debounced); ``onSave``: only on open and save
    run: RunMode = "onType"
    #: wait this long after the last keystroke before re-checking
    debounce_ms: int = 300
    #: offer "ignore this rule here" code actions
    show_ignore_actions: bool = True
    #: report ingestion and mining through ``$/progress``
    progress: bool = True
    #: the least severity shown: ``info``, ``warning`` or ``error``
    min_severity: str = "info"
    #: how often to look for new commits (HEAD moving); 0 turns it off
    head_poll_seconds: float = 2.0
    #: core settings for repositories that leave them at their default
    analysis: dict[str, Any] = field(default_factory=dict)
    #: problems found while reading the section (logged, never fatal)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "run": ("run", str),
    "debounceMs": ("debounce_ms", int),
    "showIgnoreActions": ("show_ignore_actions", bool),
    "progress": ("progress", bool),
    "minSeverity": ("min_severity", str),
    "headPollSeconds": ("head_poll_seconds", (int, float)),
    "analysis": ("analysis", dict),
}


def parse_settings(raw: object) -> EditorSettings:
    """Read the client's ``empathy`` section; a wrong value is reported and its default kept."""
    if not isinstance(raw, Mapping):
        return EditorSettings()
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        if key not in _KEYS:
            problems.append(f"unknown setting empathy.{key} (ignored)")
            continue
        name, kind = _KEYS[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"empathy.{key} = {value!r} has the wrong type (default kept)")
            continue
        values[name] = value
    if values.get("run", "onType") not in ("onType", "onSave"):
        problems.append(f"empathy.run = {values.pop('run')!r} should be onType or onSave (default kept)")
    if values.get("min_severity", "info") not in ("info", "warning", "error"):
        problems.append(f"empathy.minSeverity = {values.pop('min_severity')!r} should be info, warning or error")
    if values.get("debounce_ms", 0) < 0:
        problems.append("empathy.debounceMs must not be negative (default kept)")
        values.pop("debounce_ms")
    analysis = values.get("analysis", {})
    for key in list(analysis):
        if key not in CORE_SETTINGS:
            problems.append(f"empathy.analysis.{key} is not a setting (ignored)")
            analysis.pop(key)
    return EditorSettings(**values, problems=tuple(problems))


def analysis_overrides(root: Path, settings: EditorSettings) -> tuple[dict[str, Any], list[str]]:
    """The editor's analysis settings that apply to ``root``: those the project leaves at their default.

    Returns the overrides and a line per editor value the project overrode (for the log).
    """
    if not settings.analysis:
        return {}, []
    try:
        project = load_settings(root)
    except EmpathyError:
        return {}, []  # the workspace will report the broken configuration itself
    applied: dict[str, Any] = {}
    shadowed: list[str] = []
    for key, value in settings.analysis.items():
        if project.sources.get(key, "default") == "default":
            applied[key] = value
        else:
            shadowed.append(f"{key}: the editor's value is shadowed by {project.sources[key]}")
    return applied, shadowed
