"""The ``webhooks`` plugin: puts every event into the durable outbox for matching subscriptions.

Registered under the entry-point group ``empathy`` as ``webhooks``, it
implements ``handle_event`` in *every* process that runs the plugin host
(``empathy analyze``, ``empathy feedback``, the language server, the
service), so an event raised anywhere reaches the subscribers.  The hook
must be quick: it is one transaction (read the endpoint filters, insert the
message and its deliveries); the delivery workers do the rest.

Which database?  The hook receives only the event, so the listener finds the
service's store in this order:

1. the store the service bound with :func:`bind` (inside ``empathy serve``);
2. ``EMPATHY_PLUGIN_WEBHOOKS_DATABASE_URL``, then ``EMPATHY_DATABASE_URL``;
3. the settings of the repository containing the working directory:
   ``[tool.empathy.plugins.webhooks] database_url``, then ``database_url``,
   then that checkout's own SQLite store (the single-machine default, where
   ``empathy serve`` run in the same checkout reads it).

An event nobody subscribed to is not stored.  With ``redis_url`` set the
event is also published on the Redis stream (live SSE stream, worker wake-up).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from empathy.core.hookspecs import hookimpl
from empathy.core.model import Event
from empathy.core.store.store import Store, open_store
from empathy.webhooks import outbox
from empathy.webhooks.config import PLUGIN_ID, SETTINGS_DEFAULTS

__all__ = ["bind", "handle_event", "settings_defaults", "unbind"]

log = logging.getLogger("empathy.webhooks.listener")

_lock = threading.Lock()
_bound: Store | None = None
_after: list[Callable[[Event, str | None], None]] = []
_stores: dict[str, Store] = {}
_publishers: dict[str, Callable[[Event], None]] = {}


def bind(store: Store, after: Callable[[Event, str | None], None] | None = None) -> None:
    """Route this process's events to ``store``; ``after(event, message_id)`` runs once stored."""
    global _bound
    with _lock:
        _bound = store
        _after.clear()
        if after is not None:
            _after.append(after)


def unbind() -> None:
    global _bound
    with _lock:
        _bound = None
        _after.clear()


def _settings_here() -> tuple[str, str]:
    """(database URL, Redis URL) from the checkout containing the working directory."""
    from empathy.core.config import load_settings
    from empathy.core.errors import EmpathyError
    from empathy.core.repo import open_repository
    from empathy.core.store.db import default_sqlite_url

    env_db = os.environ.get("EMPATHY_PLUGIN_WEBHOOKS_DATABASE_URL") or os.environ.get("EMPATHY_DATABASE_URL") or ""
    env_redis = os.environ.get("EMPATHY_PLUGIN_WEBHOOKS_REDIS_URL", "")
    if env_db:
        return env_db, env_redis
    try:
        repo = open_repository(Path.cwd())
        settings = load_settings(repo.root)
    except EmpathyError:
        return "", env_redis
    settings.add_plugin_defaults(PLUGIN_ID, SETTINGS_DEFAULTS)
    mine = settings.plugin(PLUGIN_ID)
    url = str(mine.get("database_url") or settings["database_url"] or default_sqlite_url(repo.git_dir))
    return url, str(mine.get("redis_url") or env_redis)


def _publisher(redis_url: str) -> Callable[[Event], None]:
    publish = _publishers.get(redis_url)
    if publish is None:
        from empathy.webhooks.bus import RedisStreamBus

        publish = RedisStreamBus(redis_url).publish
        _publishers[redis_url] = publish
    return publish


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return dict(SETTINGS_DEFAULTS)


@hookimpl
def handle_event(event: Event) -> None:
    """Store ``event`` for its subscribers (and publish it on Redis when configured)."""
    with _lock:
        store, after = _bound, list(_after)
    if store is not None:
        message = outbox.enqueue(store, event)
        for callback in after:
            callback(event, message)
        return
    url, redis_url = _settings_here()
    if not url:
        return
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = open_store(url, None)
    outbox.enqueue(store, event)
    if redis_url:
        try:
            _publisher(redis_url)(event)
        except Exception as exc:  # noqa: BLE001 - the outbox has the event; the live stream is best effort
            log.warning("could not publish %s on Redis: %s", event.type, exc)
