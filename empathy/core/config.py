"""Effective settings, and where each one came from.

Precedence, lowest to highest (documented in docs/configuration.md):

1. built-in defaults (``CORE_SETTINGS``) and plugin defaults (``settings_defaults`` hook);
2. ``[tool.empathy]`` in the repository's ``pyproject.toml``;
3. ``.empathy.toml`` at the repository root (top level, no ``[tool.empathy]`` table),
   so a user can override a project's committed settings without editing it;
4. ``EMPATHY_<NAME>`` environment variables (CI and one-off runs);
5. command-line options.

Plugin settings live in ``[tool.empathy.plugins.<plugin-id>]`` (or ``[plugins.<id>]``
in ``.empathy.toml``); the plugin id is its entry-point name.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from empathy.core.errors import ConfigError

__all__ = ["CORE_SETTINGS", "SettingSpec", "Settings", "load_settings"]


@dataclass(frozen=True)
class SettingSpec:
    """A known top-level setting: its default, what it is for, and the least value that makes sense."""

    default: Any
    help: str
    #: numbers below this are refused where they are set (a negative window or time-out means nothing)
    minimum: float | None = None
    #: a value in TOML that shows the form (``empathy init`` writes it beside the default)
    example: str | None = None


#: The keyword rule empathy used before commit labels (a fix word anywhere in the message, unless the
#: subject is typo/docs/lint/CI work): kept as the baseline the evaluation reports beside the labels.
KEYWORD_FIX_PATTERN = r"\b(fix(e[sd]|ing)?|bug(s|fix)?|defect|regression|crash(es|ed)?|broken|incorrect(ly)?|wrong)\b"
KEYWORD_FIX_EXCLUDE = r"^\s*(\[?(typo|docs?|lint|ci|style)\]?\b|fix(ed|es)? (a |the )?typo)"

CORE_SETTINGS: dict[str, SettingSpec] = {
    "database_url": SettingSpec(
        "", "SQLAlchemy URL of the store; empty means SQLite inside the repository's git directory"
    ),
    "repo_key": SettingSpec("", "identity of the repository in a shared store; empty means the origin URL or the path"),
    "fix_pattern": SettingSpec(
        "", "regex (case-insensitive) on the message that marks a fix, over the built-in commit labels (empty: none)"
    ),
    "fix_exclude_pattern": SettingSpec(
        "", "regex on the subject that un-marks a fix, over the built-in commit labels (empty: none)"
    ),
    "exclude": SettingSpec(
        [
            "test/*",
            "tests/*",
            "testing/*",
            "*/test/*",
            "*/tests/*",
            "test_*.py",
            "*/test_*.py",
            "*_test.py",
            "conftest.py",
            "*/conftest.py",
            "doc/*",
            "docs/*",
            "*/migrations/*",
        ],
        "glob patterns (fnmatch, '*' crosses '/') of paths the miners leave out: tests, docs, migrations",
    ),
    "source_suffixes": SettingSpec(
        [".py", ".pyi", ".js", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".rb"],
        "file suffixes treated as source code by the miners",
    ),
    "as_of": SettingSpec(
        "",
        "when the analysis happens: empty for now (the clock), `last-commit` for the newest commit's time "
        "(replays, tests), or a day YYYY-MM-DD; windows, ages and 'days ago' count back from it",
    ),
    "window_days": SettingSpec(365, "recent window for churn, hotspots and activity", minimum=1),
    "horizon_days": SettingSpec(90, "forecast horizon: the probability of a bug fix within this many days", minimum=1),
    "plugin_timeout": SettingSpec(120.0, "seconds one plugin hook call may take before it is abandoned", minimum=0.001),
    "disable_plugins": SettingSpec([], "plugin ids not to load"),
    "load_plugins": SettingSpec(
        None, "if set, load only these plugin ids (an empty list loads none)", example='["churn", "coupling"]'
    ),
    "top": SettingSpec(20, "rows shown by `empathy analyze`", minimum=1),
    "remine_commits": SettingSpec(
        1, "re-run a miner once this many commits were ingested since its last successful run", minimum=1
    ),
    "select": SettingSpec(
        None,
        "if set, report only findings with these codes (ruff's `select`; the codes are those `empathy findings` shows)",
        example='["fix-prone", "missing-partner"]',
    ),
    "ignore": SettingSpec(
        [], "finding codes never reported, anywhere (ruff's `ignore`)", example='["knowledge-island"]'
    ),
    "per_file_ignores": SettingSpec(
        {},
        "a table of glob (fnmatch, '*' crosses '/'; a pattern without '/' also matches the file name) to the "
        "finding codes not reported on matching files (ruff's `per-file-ignores`)",
        example='{"scripts/*" = ["hotspot", "fix-prone"], "__init__.py" = ["complexity-rising"]}',
    ),
    "partner_min_share": SettingSpec(
        0.5,
        "no longer used: partners warn from their own replayed track record (docs/partners.md); "
        "still read, so files that set it load",
    ),
}

#: Old names still read, each with a warning naming the new one (removed in a later release).
DEPRECATED_SETTINGS: dict[str, str] = {"repo_id": "repo_key"}

_ENV_PREFIX = "EMPATHY_"


def _coerce(env_name: str, raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the setting's default."""
    try:
        if isinstance(default, bool):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list) or default is None:
            return [item.strip() for item in raw.split(",") if item.strip()]
        if isinstance(default, dict):
            return _coerce_table(raw)
    except ValueError:
        if isinstance(default, dict):
            raise ConfigError(f"{env_name}={raw!r} is not a table", "write it as GLOB:CODE,GLOB:CODE") from None
        raise ConfigError(f"{env_name}={raw!r} is not a valid {type(default).__name__}") from None
    return raw


def _coerce_table(raw: str) -> dict[str, list[str]]:
    """``"tests/*:fix-prone,scripts/*:hotspot"`` (ruff's ``--per-file-ignores`` form) as a table."""
    table: dict[str, list[str]] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        pattern, sep, code = item.rpartition(":")
        if not sep or not pattern.strip() or not code.strip():
            raise ValueError(item)
        table.setdefault(pattern.strip(), []).append(code.strip())
    return table


def _check_type(name: str, value: Any, default: Any, source: str) -> None:
    """Refuse a value of the wrong type where it is set, not where it is used."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(default, list) or default is None:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif isinstance(default, dict):
        ok = isinstance(value, dict) and all(
            isinstance(codes, list) and all(isinstance(c, str) for c in codes) for codes in value.values()
        )
    else:
        ok = isinstance(value, str)
    if not ok:
        expected = (
            "a list of strings"
            if isinstance(default, list) or default is None
            else "a table of lists of strings"
            if isinstance(default, dict)
            else {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(
                type(default), type(default).__name__
            )
        )
        raise ConfigError(f"{source}: {name} = {value!r} should be {expected}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the file or remove it") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})",
            "TOML files are UTF-8: re-save it as UTF-8",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


class Settings:
    """Values plus their sources; plugin sections are resolved on demand."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.values: dict[str, Any] = {k: v.default for k, v in CORE_SETTINGS.items()}
        self.sources: dict[str, str] = {k: "default" for k in CORE_SETTINGS}
        self._plugin_layers: list[tuple[str, dict[str, dict[str, Any]]]] = []
        self._plugin_defaults: dict[str, dict[str, Any]] = {}
        self.unknown: dict[str, str] = {}
        #: one sentence per deprecated name in use, for the surfaces to show
        self.deprecations: list[str] = []

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def set(self, name: str, value: Any, source: str) -> None:
        if name not in CORE_SETTINGS and name.replace("-", "_") in CORE_SETTINGS:
            name = name.replace("-", "_")  # ruff's spelling (`per-file-ignores`) reads as ours
        if name in DEPRECATED_SETTINGS:
            new = DEPRECATED_SETTINGS[name]
            self.deprecations.append(f"{source}: {name} is deprecated, use {new} (same meaning)")
            if self.sources.get(new, "default") == source:
                return  # the new name in the same place wins over the old one
            name = new
        if name not in CORE_SETTINGS:
            self.unknown[name] = source
            return
        spec = CORE_SETTINGS[name]
        _check_type(name, value, spec.default, source)
        if spec.minimum is not None and value < spec.minimum:
            raise ConfigError(
                f"{source}: {name} = {value!r} is out of range",
                f"{name} must be at least {spec.minimum:g} ({spec.help})",
            )
        self.values[name] = value
        self.sources[name] = source

    def apply_layer(self, data: Mapping[str, Any], source: str) -> None:
        for name, value in data.items():
            if name == "plugins":
                if not isinstance(value, dict):
                    raise ConfigError(f"{source}: 'plugins' must be a table of plugin sections")
                self._plugin_layers.append((source, value))
                continue
            self.set(name, value, source)

    def typos(self, plugin_ids: Iterable[str]) -> list[str]:
        """One sentence per setting or plugin section nobody reads, naming the nearest valid name.

        Every command says them (not only ``empathy config show``): a typo in a
        settings file otherwise changes nothing, silently.
        """
        import difflib

        out: list[str] = []
        for name, source in sorted(self.unknown.items()):
            near = difflib.get_close_matches(name, sorted(CORE_SETTINGS), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            out.append(f"{source}: unknown setting {name!r} is ignored{hint}")
        known = sorted(set(plugin_ids))
        for source, sections in self._plugin_layers:
            for section in sorted(sections):
                if section not in known:
                    near = difflib.get_close_matches(section, known, n=1)
                    hint = f"; did you mean {near[0]!r}?" if near else f" (loaded plugins: {', '.join(known)})"
                    out.append(f"{source}: [plugins.{section}] names no loaded plugin and is ignored{hint}")
        return out

    def add_plugin_defaults(self, plugin: str, defaults: Mapping[str, Any]) -> None:
        self._plugin_defaults.setdefault(plugin, {}).update(defaults)

    def plugin(self, plugin: str) -> dict[str, Any]:
        """The effective settings of one plugin (defaults, then file layers, then env)."""
        return {k: v for k, (v, _src) in self.plugin_with_sources(plugin).items()}

    def plugin_with_sources(self, plugin: str) -> dict[str, tuple[Any, str]]:
        merged: dict[str, tuple[Any, str]] = {
            k: (v, f"plugin {plugin} default") for k, v in self._plugin_defaults.get(plugin, {}).items()
        }
        for source, sections in self._plugin_layers:
            for key, value in (sections.get(plugin) or {}).items():
                merged[key] = (value, source)
        prefix = f"{_ENV_PREFIX}PLUGIN_{plugin.upper().replace('-', '_')}_"
        for env_name, raw in self.environ.items():
            if env_name.startswith(prefix):
                key = env_name[len(prefix) :].lower()
                default = merged.get(key, ("",))[0]
                merged[key] = (_coerce(env_name, raw, default), f"env {env_name}")
        return merged

    def check_plugin_types(self) -> None:
        """Refuse a plugin setting whose value is not of its default's type, where it is set.

        ``szz_budget = "many"`` would otherwise fail deep inside the plugin (or be read as
        something else); a plugin's ``settings_defaults`` declare the types. Settings a
        plugin declares no default for, and defaults of None, are the plugin's to check.
        """
        for plugin, defaults in sorted(self._plugin_defaults.items()):
            for key, (value, source) in self.plugin_with_sources(plugin).items():
                default = defaults.get(key)
                if default is None or source.startswith(f"plugin {plugin} default"):
                    continue
                if isinstance(default, int) and not isinstance(default, bool):
                    default = float(default)  # a number where a whole one is the default is the plugin's to round
                _check_type(f"[plugins.{plugin}] {key}", value, default, source)

    def all_plugin_sections(self) -> list[str]:
        names = set(self._plugin_defaults)
        for _source, sections in self._plugin_layers:
            names.update(sections)
        return sorted(names)


def load_settings(
    root: Path | None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective settings for a repository root (or none)."""
    settings = Settings(environ)
    if root is not None:
        pyproject = root / "pyproject.toml"
        if pyproject.is_file():
            section = _read_toml(pyproject).get("tool", {}).get("empathy", {})
            if not isinstance(section, dict):
                raise ConfigError(f"{pyproject}: [tool.empathy] must be a table")
            settings.apply_layer(section, f"{pyproject.name} [tool.empathy]")
        local = root / ".empathy.toml"
        if local.is_file():
            settings.apply_layer(_read_toml(local), ".empathy.toml")
    env = settings.environ
    for old, new in DEPRECATED_SETTINGS.items():
        env_name = f"{_ENV_PREFIX}{old.upper()}"
        if env_name in env and f"{_ENV_PREFIX}{new.upper()}" not in env:
            settings.set(old, _coerce(env_name, env[env_name], CORE_SETTINGS[new].default), f"env {env_name}")
    for name, spec in CORE_SETTINGS.items():
        env_name = f"{_ENV_PREFIX}{name.upper()}"
        if env_name in env:
            settings.set(name, _coerce(env_name, env[env_name], spec.default), f"env {env_name}")
    for name, value in (overrides or {}).items():
        if value is not None:
            settings.set(name, value, "command line")
    return settings
