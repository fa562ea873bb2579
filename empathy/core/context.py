"""What a hook receives: the repository, the history, the store and settings.

Contexts are plain objects; plugins read from them and return results.  The
history is loaded once per run and shared, read-only, by every plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from empathy.core.config import Settings
from empathy.core.history.view import History
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store

__all__ = ["AnalysisContext", "MiningContext"]


@dataclass
class MiningContext:
    """Given to ``mine_patterns``; ``settings`` is this plugin's own section."""

    repo: RepoInfo
    repo_id: int
    history: History
    store: Store
    core_settings: Settings
    settings: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""
    progress: Callable[[str], None] = lambda _msg: None

    def for_plugin(self, plugin: str) -> MiningContext:
        """A copy carrying ``plugin``'s own settings."""
        return MiningContext(
            repo=self.repo,
            repo_id=self.repo_id,
            history=self.history,
            store=self.store,
            core_settings=self.core_settings,
            settings=self.core_settings.plugin(plugin),
            plugin=plugin,
            progress=self.progress,
        )

    def is_source(self, path: str) -> bool:
        """True for paths the miners rank (source suffix, not excluded)."""
        from fnmatch import fnmatch

        suffixes = tuple(self.core_settings["source_suffixes"])
        if suffixes and not path.endswith(suffixes):
            return False
        return not any(fnmatch(path, pat) for pat in self.core_settings["exclude"])


@dataclass
class AnalysisContext:
    """Given to level, risk and code-action hooks."""

    repo: RepoInfo
    repo_id: int
    store: Store
    core_settings: Settings
    history: History | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""
