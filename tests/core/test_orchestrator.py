"""The orchestrator: dependency order, parallel layers, time-outs, failures, partial answers, progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from empathy.core.model import Event
from empathy.core.orchestrator import EventBus, Orchestrator, OrchestratorError, Request


class Fn:
    """An agent made of a function, for tests."""

    def __init__(self, name: str, fn: Any, requires: tuple[str, ...] = (), timeout: float | None = None) -> None:
        self.name, self.fn, self.requires = name, fn, requires
        if timeout is not None:
            self.timeout = timeout

    def run(self, request: Request, inputs: Mapping[str, Any]) -> Any:
        return self.fn(request, inputs)


def test_dependencies_feed_inputs_in_order() -> None:
    seen: list[str] = []

    def a(_r: Request, _i: Mapping[str, Any]) -> int:
        seen.append("a")
        return 2

    def b(_r: Request, i: Mapping[str, Any]) -> int:
        seen.append("b")
        return int(i["a"]) * 10

    def c(r: Request, i: Mapping[str, Any]) -> str:
        seen.append("c")
        return f"{r.kind}:{i['a'] + i['b']}"

    answer = Orchestrator([Fn("c", c, ("a", "b")), Fn("b", b, ("a",)), Fn("a", a)]).run(Request(kind="file"))
    assert seen == ["a", "b", "c"]
    assert answer.value("c") == "file:22"
    assert not answer.partial and answer.failed == [] and answer.skipped == []


def test_independent_agents_run_in_parallel() -> None:
    def slow(_r: Request, _i: Mapping[str, Any]) -> str:
        time.sleep(0.3)
        return "done"

    orchestrator = Orchestrator([Fn(f"s{k}", slow) for k in range(4)])
    started = time.perf_counter()
    answer = orchestrator.run(Request(kind="repo"))
    assert time.perf_counter() - started < 0.9  # four 0.3 s agents, not 1.2 s
    assert all(answer.value(f"s{k}") == "done" for k in range(4))


def test_hang_and_raise_give_a_partial_answer_within_the_time_out() -> None:
    release = threading.Event()

    def hang(_r: Request, _i: Mapping[str, Any]) -> None:
        release.wait(30)

    def boom(_r: Request, _i: Mapping[str, Any]) -> None:
        raise RuntimeError("agent exploded")

    agents = [
        Fn("ok", lambda _r, _i: 1),
        Fn("hangs", hang, timeout=1.0),
        Fn("raises", boom),
        Fn("needs-hang", lambda _r, _i: 2, ("hangs",)),
        Fn("needs-ok", lambda _r, i: i["ok"] + 1, ("ok",)),
    ]
    started = time.perf_counter()
    answer = Orchestrator(agents, default_timeout=5.0).run(Request(kind="file"))
    elapsed = time.perf_counter() - started
    release.set()
    assert elapsed < 1.0 * 1.1, f"answer took {elapsed:.2f} s for a 1 s time-out"
    assert answer.partial
    assert answer.failed == ["hangs", "raises"]
    assert answer.skipped == ["needs-hang"]
    assert answer.outcomes["hangs"].status == "timeout" and "1 s" in (answer.outcomes["hangs"].error or "")
    assert "RuntimeError: agent exploded" in (answer.outcomes["raises"].error or "")
    assert answer.value("needs-ok") == 2


def test_progress_events_and_a_failing_subscriber() -> None:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)

    def broken(_e: Event) -> None:
        raise ValueError("listener bug")

    unsubscribe = bus.subscribe(broken)
    answer = Orchestrator([Fn("a", lambda _r, _i: 1), Fn("b", lambda _r, _i: 2, ("a",))], bus=bus).run(
        Request(kind="repo")
    )
    assert answer.value("b") == 2
    kinds = [(e.type, e.data["agent"]) for e in events]
    assert kinds == [("agent.started", "a"), ("agent.finished", "a"), ("agent.started", "b"), ("agent.finished", "b")]
    assert events[-1].data["done"] == 2 and events[-1].data["total"] == 2
    assert len(bus.errors) == 4 and "listener bug" in bus.errors[0]
    unsubscribe()
    bus.publish(Event("x", {}, 0.0))
    assert len(bus.errors) == 4


@pytest.mark.parametrize(
    ("agents", "message"),
    [
        ([Fn("a", None, ("b",)), Fn("b", None, ("a",))], "cycle"),
        ([Fn("a", None, ("missing",))], "unknown agent"),
        ([Fn("a", None), Fn("a", None)], "two agents are named"),
    ],
)
def test_bad_workflows_are_refused(agents: list[Fn], message: str) -> None:
    with pytest.raises(OrchestratorError, match=message):
        Orchestrator(agents)
