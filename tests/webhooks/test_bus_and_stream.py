"""Events across processes over the real Redis, and the live SSE stream."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

from empathy.core.model import Event
from empathy.webhooks.bus import RedisStreamBus
from tests.webhooks.conftest import Running

REDIS = "redis://127.0.0.1:6379/0"

CHILD = """
import sys
from empathy.core.agents.orchestrator import Orchestrator, Request
from empathy.webhooks.bus import RedisStreamBus

class Step:
    def __init__(self, name, requires=()):
        self.name, self.requires = name, tuple(requires)
    def run(self, request, inputs):
        return {"step": self.name, "inputs": sorted(inputs)}

bus = RedisStreamBus(sys.argv[1], sys.argv[2])
answer = Orchestrator([Step("read"), Step("score", ["read"])], bus=bus).run(Request(kind="push"))
print("partial" if answer.partial else "ok")
"""


def test_orchestrator_progress_crosses_processes() -> None:
    stream = f"empathy:test:{uuid.uuid4().hex}"
    bus = RedisStreamBus(REDIS, stream)
    seen: list[Event] = []
    done = threading.Event()

    def collect(event: Event) -> None:
        seen.append(event)
        if len([e for e in seen if e.type == "agent.finished"]) == 2:
            done.set()

    unsubscribe = bus.subscribe(collect)
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, REDIS, stream], capture_output=True, text=True, timeout=60, check=True
        )
        assert child.stdout.strip() == "ok"
        assert done.wait(10), [e.type for e in seen]
        finished = [e.data["agent"] for e in seen if e.type == "agent.finished"]
        assert finished == ["read", "score"]
        assert {e.type for e in seen} == {"agent.started", "agent.finished"}
    finally:
        unsubscribe()
        bus._redis.delete(stream)
        bus.close()


def test_subscriber_errors_stay_with_the_bus() -> None:
    stream = f"empathy:test:{uuid.uuid4().hex}"
    bus = RedisStreamBus(REDIS, stream)
    got: list[str] = []
    ready = threading.Event()

    def broken(_event: Event) -> None:
        raise RuntimeError("listener bug")

    def fine(event: Event) -> None:
        got.append(event.type)
        ready.set()

    bus.subscribe(broken)
    bus.subscribe(fine)
    try:
        bus.publish(Event("forecast.made", {"n": 1}, time.time()))
        assert ready.wait(5)
        assert got == ["forecast.made"] and "listener bug" in bus.errors[0]
    finally:
        bus._redis.delete(stream)
        bus.close()


def _read_stream(running: Running, query: str, out: list[dict[str, object]]) -> None:
    with running.client.stream("GET", f"/v1/stream?{query}", headers=running.auth) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))


def _stream_test(running: Running) -> None:
    out: list[dict[str, object]] = []
    reader = threading.Thread(target=_read_stream, args=(running, "types=forecast.made&max_events=2", out))
    reader.start()
    time.sleep(0.5)
    for i in range(3):
        running.service.emit(Event("cycle.detected", {"repo": "r", "paths": []}, time.time()))
        running.service.emit(Event("forecast.made", {"repo": "r", "path": f"f{i}.py"}, time.time()))
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert [(e["type"], e["data"]["path"]) for e in out] == [("forecast.made", "f0.py"), ("forecast.made", "f1.py")]  # type: ignore[index]


def test_live_stream_in_one_process(make_service: Callable[..., Running]) -> None:
    _stream_test(make_service())


def test_live_stream_through_redis(make_service: Callable[..., Running]) -> None:
    stream = f"empathy:test:{uuid.uuid4().hex}"
    running = make_service(redis_url=REDIS, stream=stream)
    other = RedisStreamBus(REDIS, stream)
    try:
        _stream_test(running)
        # Another process publishing on the same stream reaches this service's stream too.
        out: list[dict[str, object]] = []
        reader = threading.Thread(target=_read_stream, args=(running, "types=level.*&max_events=1", out))
        reader.start()
        time.sleep(0.5)
        other.publish(Event("level.changed", {"repo": "r", "level": 4, "allowed": False}, time.time()))
        reader.join(timeout=10)
        assert [e["type"] for e in out] == ["level.changed"]
    finally:
        other._redis.delete(stream)
        other.close()


def test_stream_needs_a_key(make_service: Callable[..., Running]) -> None:
    running = make_service()
    assert running.client.get("/v1/stream").status_code == 401
