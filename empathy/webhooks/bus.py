"""Events between processes over a Redis Stream, with the in-process bus's interface.

:class:`RedisStreamBus` has ``publish(event)`` and ``subscribe(callback) ->
unsubscribe`` like :class:`empathy.core.agents.orchestrator.EventBus`, so anything
that publishes on an ``EventBus`` (the orchestrator's progress, the
service's listener) can publish across processes instead: API processes to
delivery workers (a wake-up when events were stored) and to the live SSE
stream of every API process.

``publish`` is one ``XADD`` (capped with ``MAXLEN ~``, so the stream never
grows without bound).  The first ``subscribe`` starts one reader thread
that follows the stream with blocking ``XREAD`` from the position the stream
had *when subscribe was called*, so an event published right after
``subscribe`` returns is never missed.  A subscriber's exception is recorded
in ``errors`` and never reaches the publisher or the other subscribers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from empathy.core.agents.orchestrator import EventBus
from empathy.core.model import Event

__all__ = ["RedisStreamBus"]

log = logging.getLogger("empathy.webhooks.bus")


class RedisStreamBus:
    """Publish/subscribe over one Redis Stream; see the module docstring."""

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", stream: str = "empathy:events", maxlen: int = 100_000
    ) -> None:
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self._redis: redis.Redis = redis.Redis.from_url(url, socket_connect_timeout=5)
        # The subscribers in this process: what the reader thread reads is handed to
        # them exactly as the in-process bus does (a subscriber's error stays there).
        self._local = EventBus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._position = "0-0"
        self.errors: list[str] = self._local.errors

    def ping(self) -> bool:
        """Whether Redis answers (``/readyz``)."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def publish(self, event: Event) -> None:
        fields: dict[Any, Any] = {
            "type": event.type,
            "timestamp": repr(float(event.timestamp)),
            "data": json.dumps(event.data, separators=(",", ":"), default=str),
        }
        self._redis.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)

    def _tail(self) -> str:
        """The id of the newest entry now ("0-0" for an empty stream)."""
        newest = self._redis.xrevrange(self.stream, count=1)
        if not newest:
            return "0-0"
        entry_id = newest[0][0]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self._lock:
            if self._thread is None:
                self._position = self._tail()
                self._stop.clear()
                self._thread = threading.Thread(target=self._read, name=f"redis-bus:{self.stream}", daemon=True)
                self._thread.start()
        return self._local.subscribe(callback)

    def close(self) -> None:
        """Stop the reader thread (it exits within one blocking read) and close the connection."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=3.0)
        self._thread = None
        self._redis.close()

    def _dispatch(self, fields: dict[bytes, bytes]) -> None:
        try:
            event = Event(
                type=fields[b"type"].decode(),
                data=json.loads(fields[b"data"]),
                timestamp=float(fields[b"timestamp"]),
            )
        except (KeyError, ValueError) as exc:
            self._error(f"malformed stream entry: {exc}")
            return
        self._local.publish(event)

    def _error(self, message: str) -> None:
        if len(self.errors) < 100:
            self.errors.append(message)

    def _read(self) -> None:
        reader = redis.Redis.from_url(self.url, socket_connect_timeout=5, socket_timeout=10)
        try:
            while not self._stop.is_set():
                try:
                    answer: Any = reader.xread({self.stream: self._position}, block=500, count=500)
                except redis.RedisError as exc:
                    self._error(f"redis: {exc}")
                    log.warning("reading %s failed: %s; retrying", self.stream, exc)
                    time.sleep(0.5)
                    continue
                for _stream, entries in answer or []:
                    for entry_id, fields in entries:
                        self._position = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                        self._dispatch(fields)
        finally:
            reader.close()
