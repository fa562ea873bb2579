"""The memory agent: records what each request touches and hands other agents its context.

For every request it

1. makes the request the working memory (paths, the change, open documents);
2. remembers the request's paths and the change's paths in short-term memory
   (kind ``"path"``), one transaction per request;
3. consolidates (recurring items to long-term, stale items forgotten) on the
   first request it sees for a repository and then once every
   ``consolidate_every`` requests, so the cost of consolidation is spread
   over many requests instead of paid on each;
4. returns :meth:`empathy.core.agents.memory.Memory.context` for the request's paths
   (or the change's, when the request names none): ``working``,
   ``short_term``, ``long_term``, ``preferences`` (rule -> share acted on)
   and ``meta``.  The ``insights`` agent reads ``preferences`` from it.

The agent needs ``request.context["workspace"]``: any object with ``store``
and ``repo_id`` (an :class:`empathy.core.workspace.Workspace`); its
``settings`` and ``trust()`` are used when it has them.

Settings (``[tool.empathy.plugins.memory]``; constructor keywords win):
``short_term_days`` (30), ``short_term_max`` (500 items), ``long_term_min_count``
(3 sightings), ``long_term_stale_days`` (365), ``long_term_max`` (5000 items),
``consolidate_every`` (100 requests).

Nothing of a request outlives it in this process: a fresh :class:`Memory` is
made per request, and the only state kept is one request counter per
repository, so the process's memory stays flat however many requests it
answers (the soak test in ``tests/core/test_memory.py`` runs 10,000).  The
counters are kept by the module, not by the agent object, because
``Workspace.orchestrate`` asks the plugins for fresh agents on every request:
a counter on the agent would restart at each request and consolidate every
time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from empathy.plugin import Agent, Consolidation, Memory, hookimpl

__all__ = ["DEFAULTS", "PLUGIN", "MemoryAgent", "register_agents", "settings_defaults"]

PLUGIN = "memory"

DEFAULTS: Mapping[str, int] = {
    "short_term_days": 30,
    "short_term_max": 500,
    "long_term_min_count": 3,
    "long_term_stale_days": 365,
    "long_term_max": 5000,
    "consolidate_every": 100,
}

# Requests seen per (store URL, repository) in this process: one int per repository.
_REQUESTS: dict[tuple[str, int], int] = {}
_REQUESTS_LOCK = threading.Lock()


def _count_request(store_url: str, repo_id: int) -> int:
    """Count one request for a repository; returns how many came before it."""
    key = (store_url, repo_id)
    with _REQUESTS_LOCK:
        seen = _REQUESTS.get(key, 0)
        _REQUESTS[key] = seen + 1
    return seen


class MemoryAgent:
    """Keeps the memory layers up to date and returns their context; see the module docstring."""

    name = PLUGIN
    requires: tuple[str, ...] = ()
    timeout = 10.0

    def __init__(self, clock: Callable[[], float] = time.time, **overrides: int) -> None:
        unknown = sorted(set(overrides) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"unknown memory setting(s): {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
        self.clock = clock
        self._overrides = dict(overrides)
        #: What the last consolidation did, for ``empathy plugins``-style reporting and tests.
        self.last_consolidation: Consolidation | None = None

    def config(self, workspace: Any) -> dict[str, int]:
        """The settings in effect: defaults, then the workspace's plugin section, then the constructor."""
        section: Mapping[str, Any] = {}
        settings = getattr(workspace, "settings", None)
        if settings is not None and callable(getattr(settings, "plugin", None)):
            section = settings.plugin(PLUGIN)
        merged = {**DEFAULTS, **{k: v for k, v in section.items() if k in DEFAULTS}, **self._overrides}
        return {k: int(v) for k, v in merged.items()}

    def memory(self, workspace: Any, cfg: Mapping[str, int] | None = None) -> Memory:
        """A :class:`Memory` for the workspace's repository, with these settings."""
        cfg = self.config(workspace) if cfg is None else cfg
        trust = getattr(workspace, "trust", None)
        return Memory(
            workspace.store,
            int(workspace.repo_id),
            short_term_days=cfg["short_term_days"],
            short_term_max=cfg["short_term_max"],
            long_term_min_count=cfg["long_term_min_count"],
            long_term_stale_days=cfg["long_term_stale_days"],
            clock=self.clock,
            long_term_max=cfg["long_term_max"],
            ledger=trust() if callable(trust) else None,
        )

    @staticmethod
    def _due(workspace: Any, every: int) -> bool:
        """True on a repository's first request in this process, then once every ``every`` requests."""
        return _count_request(str(workspace.store.url), int(workspace.repo_id)) % max(every, 1) == 0

    def run(self, request: Any, inputs: Mapping[str, Any]) -> dict[str, Any]:
        workspace = request.context.get("workspace")
        if workspace is None or not hasattr(workspace, "store") or not hasattr(workspace, "repo_id"):
            raise ValueError("the memory agent needs request.context['workspace'] (with .store and .repo_id)")
        cfg = self.config(workspace)
        memory = self.memory(workspace, cfg)
        memory.begin(request)
        try:
            change_paths = list(request.change.paths) if request.change is not None else []
            now = self.clock()
            memory.remember_many("path", [*request.paths, *change_paths], at=now)
            if self._due(workspace, cfg["consolidate_every"]):
                self.last_consolidation = memory.consolidate(now=now)
            return memory.context(request.paths or change_paths, now=now)
        finally:
            memory.end()


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return dict(DEFAULTS)


@hookimpl
def register_agents() -> list[Agent]:
    return [MemoryAgent()]
