"""What a hook receives: the repository, the history, the store and settings.

Contexts are plain objects; plugins read from them and return results.  The
history is loaded once per run and shared, read-only, by every plugin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import TYPE_CHECKING, Any

from empathy.core.config import Settings
from empathy.core.history.view import History
from empathy.core.model import ChangeSet, Event
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store

if TYPE_CHECKING:
    from empathy.core.cochange import Suggestion
    from empathy.core.predict.forecast import ForecastRun

__all__ = ["AnalysisContext", "MiningContext", "is_source_path"]


def is_source_path(settings: Settings, path: str) -> bool:
    """A path the tool ranks: a source suffix, and not matched by ``exclude``."""
    suffixes = tuple(settings["source_suffixes"])
    if suffixes and not path.endswith(suffixes):
        return False
    return not any(fnmatch(path, pat) for pat in settings["exclude"])


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
        return is_source_path(self.core_settings, path)


@dataclass
class AnalysisContext:
    """Given to level, risk and code-action hooks.

    ``change`` is set when the question is about a change (a working-tree
    diff or a commit range): levels then say what concerns that change.
    ``paths`` narrows the answer to some files (an editor asks about one).
    :meth:`file_forecast` and :meth:`partners` ask the workspace's use-cases,
    so a level plugin reads the same forecast and the same partners as every
    surface (one cache, one rule).
    """

    repo: RepoInfo
    repo_id: int
    store: Store
    core_settings: Settings
    history: History | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""
    change: ChangeSet | None = None
    paths: list[str] | None = None
    forecasts: list[Any] | None = None
    #: Where a plugin sends events (``empathy.core.events``); the workspace
    #: passes them to every ``handle_event`` listener.
    emit: Callable[[Event], object] | None = None
    #: the workspace's forecast use-case (set by the workspace; None in a bare context)
    forecast_provider: Callable[[], ForecastRun] | None = field(default=None, repr=False)
    #: the workspace's partners use-case
    partners_provider: Callable[[Collection[str]], list[Suggestion]] | None = field(default=None, repr=False)

    def for_plugin(self, plugin: str) -> AnalysisContext:
        """A copy carrying ``plugin``'s own settings (the forecast, once computed, is shared)."""
        return dataclasses.replace(self, settings=self.core_settings.plugin(plugin), plugin=plugin)

    def file_forecast(self) -> ForecastRun | None:
        """The current file forecast (computed once per head and settings), or None without history."""
        if self.history is None or not self.history.commits or self.forecast_provider is None:
            return None
        if self.forecasts is None:
            self.forecasts = [self.forecast_provider()]
        first = self.forecasts[0] if self.forecasts else None
        return first

    def partners(self, changed: Collection[str]) -> list[Suggestion]:
        """Files that probably also need changing with ``changed``, where the index warns (empty in a bare context)."""
        return [] if self.partners_provider is None else self.partners_provider(changed)

    def is_source(self, path: str) -> bool:
        return is_source_path(self.core_settings, path)

    def concerns(self, path: str) -> bool:
        """Whether a finding on ``path`` answers the question asked."""
        return self.paths is None or path in self.paths
