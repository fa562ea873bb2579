"""The pluggy host: loads plugins from entry points and calls each one in isolation.

pluggy aborts a whole hook call on the first exception, so the host never
calls a hook across all plugins at once.  ``call_each`` calls one plugin at a
time (through ``subset_hook_caller``, so tracing still sees it), in a daemon
thread with a time-out, and records errors against the plugin's name: one
plugin crashing or hanging never loses another plugin's results.

Environment variables (documented in docs/plugins.md):

* ``EMPATHY_LOAD_PLUGINS=a,b`` loads only those plugins (empty: none);
* ``EMPATHY_DISABLE_PLUGINS=a,b`` blocks those plugins;
* ``EMPATHY_TRACE_PLUGINS=1`` prints every hook call and result to stderr.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from empathy.core import hookspecs

__all__ = ["AUTOLOAD_ENV", "CallResult", "PluginHost", "PluginInfo", "autoload_disabled"]


@dataclass
class PluginInfo:
    """One row of ``empathy plugins``."""

    name: str
    version: str = ""
    distribution: str = ""
    module: str = ""
    hooks: list[str] = field(default_factory=list)
    enabled: bool = True
    load_error: str | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "distribution": self.distribution,
            "module": self.module,
            "hooks": self.hooks,
            "enabled": self.enabled,
            "load_error": self.load_error,
            "errors": self.errors,
        }


@dataclass
class CallResult:
    """The outcome of one plugin's implementation of one hook."""

    plugin: str
    hook: str
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _format_exc(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


#: Like pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``: set to anything but "" or "0", only
#: empathy's own entry points load, so a run (a test suite, a bug report) is not changed by
#: whatever third-party plugins happen to be installed in the environment.
AUTOLOAD_ENV = "EMPATHY_DISABLE_PLUGIN_AUTOLOAD"


def autoload_disabled() -> bool:
    """Whether third-party entry points are left out (``EMPATHY_DISABLE_PLUGIN_AUTOLOAD``)."""
    return os.environ.get(AUTOLOAD_ENV, "") not in ("", "0")


def _is_builtin(ep: EntryPoint) -> bool:
    """An entry point that empathy's own distribution declares (the built-in plugins)."""
    dist = ep.dist
    return dist is not None and str(dist.metadata["Name"]).lower() == "empathy"


class PluginHost:
    """Owns the PluginManager and the per-plugin bookkeeping."""

    def __init__(
        self,
        load: Sequence[str] | None = None,
        disable: Sequence[str] = (),
        trace: bool | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        env_load = _env_list("EMPATHY_LOAD_PLUGINS")
        self._load = list(load) if load is not None else env_load
        self._disable = set(disable) | set(_env_list("EMPATHY_DISABLE_PLUGINS") or [])
        if trace if trace is not None else os.environ.get("EMPATHY_TRACE_PLUGINS", "") not in ("", "0"):
            self._enable_tracing()

    # -- loading ----------------------------------------------------------
    def _enable_tracing(self) -> None:
        def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
            names = ", ".join(i.plugin_name for i in impls)
            print(f"[empathy trace] {hook_name} -> {names}", file=sys.stderr)

        def after(
            outcome: pluggy.Result[Any], hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
        ) -> None:
            exc = outcome.exception
            result = f"error {exc!r}" if exc else f"{len(outcome.get_result() or [])} result(s)"
            print(f"[empathy trace] {hook_name} <- {result}", file=sys.stderr)

        self.pm.add_hookcall_monitoring(before, after)

    def wanted(self, name: str) -> bool:
        if name in self._disable:
            return False
        return self._load is None or name in self._load

    def load_entrypoints(self, group: str = hookspecs.PROJECT) -> None:
        """Load every plugin of the entry-point group, one at a time.

        A plugin that fails to import, or implements a hook this version does
        not know (``check_pending``), is recorded with its error and left out;
        the others load normally.
        """
        own_only = autoload_disabled()
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            if own_only and not _is_builtin(ep):
                continue
            self._load_one(ep)

    def _load_one(self, ep: EntryPoint) -> None:
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            version=dist.version if dist else "",
            distribution=dist.metadata["Name"] if dist else "",
            module=ep.value,
        )
        if ep.name in self.infos:
            # Two distributions claim one id: keep the first, list the second as refused.
            info.enabled = False
            info.load_error = f"plugin id {ep.name!r} is already taken by {self.infos[ep.name].module}"
            self.infos[f"{ep.name} ({info.distribution or ep.value})"] = info
            return
        self.infos[ep.name] = info
        if not self.wanted(ep.name):
            info.enabled = False
            self.pm.set_blocked(ep.name)
            return
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the host
            info.load_error = _format_exc(exc)
            info.enabled = False
            return
        self.register(plugin, ep.name, info)

    def register(self, plugin: object, name: str, info: PluginInfo | None = None) -> bool:
        """Register ``plugin`` under ``name`` (also used by tests and inline plugins)."""
        if self.pm.has_plugin(name) or self.pm.is_registered(plugin):
            return False  # the registered plugin and its listing stay as they are
        info = info or PluginInfo(name=name, module=getattr(plugin, "__name__", type(plugin).__name__))
        self.infos[name] = info
        if not self.wanted(name):
            info.enabled = False
            return False
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            info.load_error = str(exc)
            info.enabled = False
            return False
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=name)
            info.load_error = str(exc)
            info.enabled = False
            return False
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        info.enabled = True
        return True

    # -- calling ----------------------------------------------------------
    def implementations(self, hook: str) -> list[str]:
        caller = getattr(self.pm.hook, hook)
        return sorted(impl.plugin_name for impl in caller.get_hookimpls())

    def call_one(self, hook: str, plugin: str, timeout: float | None = None, **kwargs: Any) -> CallResult:
        """Call ``plugin``'s implementation of ``hook`` alone, with a time-out."""
        others = [p for name, p in self.pm.list_name_plugin() if name != plugin and p is not None]
        caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
        result = CallResult(plugin=plugin, hook=hook)
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                values = caller(**kwargs)
                box["value"] = values[0] if values else None
            except BaseException as exc:  # noqa: BLE001 - recorded, never propagated
                box["error"] = _format_exc(exc)

        started = time.perf_counter()
        worker = threading.Thread(target=run, name=f"empathy-{plugin}-{hook}", daemon=True)
        worker.start()
        worker.join(timeout)
        result.seconds = time.perf_counter() - started
        if worker.is_alive():
            # The thread cannot be killed; it is a daemon, so it never blocks exit.
            result.error = f"TimeoutError: no answer within {timeout:g} s"
        elif "error" in box:
            result.error = box["error"]
        else:
            result.value = box.get("value")
        if result.error:
            self.infos.setdefault(plugin, PluginInfo(name=plugin)).errors.append(f"{hook}: {result.error}")
        return result

    def call_each(
        self, hook: str, timeout: float | None = None, only: Iterable[str] | None = None, **kwargs: Any
    ) -> list[CallResult]:
        """Call every plugin's implementation of ``hook``; one result per plugin."""
        names = self.implementations(hook)
        if only is not None:
            wanted = set(only)
            names = [n for n in names if n in wanted]
        return [self.call_one(hook, name, timeout, **kwargs) for name in names]

    def listing(self) -> list[PluginInfo]:
        return [self.infos[name] for name in sorted(self.infos)]


def default_host(load: Sequence[str] | None = None, disable: Sequence[str] = ()) -> PluginHost:
    """A host with every installed plugin loaded (built-ins included)."""
    host = PluginHost(load=load, disable=disable)
    host.load_entrypoints()
    return host
