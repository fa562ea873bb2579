"""The orchestrator: dependency order, parallel layers, time-outs, failures, partial answers, progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from empathy.core.agents.orchestrator import ErrorBudget, EventBus, Orchestrator, OrchestratorError, Request
from empathy.core.model import Event


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


def test_an_agent_failing_request_after_request_is_benched_then_retried() -> None:
    """Three failures in a row bench the agent (and its dependent) for the cool-down; a success resets."""
    now = [1000.0]
    budget = ErrorBudget(allowed=3, cooldown=60.0, clock=lambda: now[0])
    calls: list[int] = []
    healthy = [False]

    def flaky(_r: Request, _i: Mapping[str, Any]) -> str:
        calls.append(1)
        if not healthy[0]:
            raise RuntimeError("down")
        return "up"

    agents = [Fn("flaky", flaky), Fn("after", lambda _r, i: i["flaky"], requires=("flaky",)), Fn("ok", lambda *_: 1)]
    orchestrator = Orchestrator(agents, budget=budget)
    for _ in range(3):
        assert orchestrator.run(Request("r")).outcomes["flaky"].status == "error"
    assert len(calls) == 3
    benched = orchestrator.run(Request("r"))
    assert len(calls) == 3, "a benched agent is not called"
    assert benched.outcomes["flaky"].status == "skipped"
    assert "error budget spent: 3 failures in a row" in (benched.outcomes["flaky"].error or "")
    assert benched.outcomes["after"].status == "skipped" and benched.value("ok") == 1
    now[0] += 61.0
    healthy[0] = True
    back = orchestrator.run(Request("r"))
    assert back.outcomes["flaky"].status == "ok" and back.value("after") == "up" and len(calls) == 4
    healthy[0] = False
    assert orchestrator.run(Request("r")).outcomes["flaky"].status == "error"
    assert orchestrator.run(Request("r")).outcomes["flaky"].status == "error"  # count restarted after the success


def test_an_agent_may_carry_its_own_error_budget() -> None:
    budget = ErrorBudget(allowed=5, cooldown=60.0, clock=lambda: 0.0)
    strict = Fn("strict", lambda *_: 1 / 0)
    strict.error_budget = 1  # type: ignore[attr-defined]
    orchestrator = Orchestrator([strict], budget=budget)
    assert orchestrator.run(Request("r")).outcomes["strict"].status == "error"
    assert orchestrator.run(Request("r")).outcomes["strict"].status == "skipped"
    with pytest.raises(ValueError, match="at least 1"):
        ErrorBudget(allowed=0)
