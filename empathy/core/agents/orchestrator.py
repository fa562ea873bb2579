"""Run agents for one request, in dependency order, in parallel where independent.

An agent is any object with a ``name``, a tuple of ``requires`` (names of agents
whose outputs it reads), an optional ``timeout`` in seconds, and a
``run(request, inputs)`` method; ``inputs`` maps each required agent's name to
its output.  Agents come from the ``register_agents`` hook, so teams add their
own like any plugin.

Every agent runs in a daemon thread with its own time-out.  An agent that
raises or does not answer in time is reported, its dependents are skipped (and
reported), and the rest of the answer still arrives, marked partial.  The
whole request never waits longer than the slowest layer's time-out: a hung
agent's thread is abandoned, never joined.

An :class:`ErrorBudget` (optional, kept by a long-lived caller such as the
workspace) benches an agent that failed several requests in a row: it is
skipped, with the reason, for a cool-down instead of costing every request
its time-out, and tried again afterwards.

Progress is published on an :class:`EventBus` (``agent.started`` /
``agent.finished``), which the CLI's progress display, the language server's
work-done progress and the webhook service's stream can all subscribe to.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from empathy.core.model import ChangeSet, Event

__all__ = [
    "Agent",
    "AgentOutcome",
    "Answer",
    "ErrorBudget",
    "EventBus",
    "Orchestrator",
    "OrchestratorError",
    "Request",
]

DEFAULT_TIMEOUT = 10.0


@runtime_checkable
class Agent(Protocol):
    """What the orchestrator runs; see the module docstring."""

    name: str
    requires: tuple[str, ...]

    def run(self, request: Request, inputs: Mapping[str, Any]) -> Any: ...


class OrchestratorError(ValueError):
    """A workflow that cannot run: unknown dependencies, a cycle, duplicate names."""


@dataclass
class Request:
    """One question: a file opened, a change to gate, a push to analyse.

    ``context`` carries what the caller already has (a workspace, open
    documents); agents read what they need from it.
    """

    kind: str
    paths: list[str] = field(default_factory=list)
    change: ChangeSet | None = None
    context: dict[str, Any] = field(default_factory=dict)


#: How one agent's run ended.
AgentStatus = Literal["ok", "error", "timeout", "skipped"]


@dataclass
class AgentOutcome:
    name: str
    status: AgentStatus
    value: Any = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Answer:
    outcomes: dict[str, AgentOutcome]
    seconds: float

    @property
    def partial(self) -> bool:
        return any(o.status != "ok" for o in self.outcomes.values())

    @property
    def failed(self) -> list[str]:
        """Agents that raised or timed out (skipped dependents are listed by ``skipped``)."""
        return sorted(n for n, o in self.outcomes.items() if o.status in ("error", "timeout"))

    @property
    def skipped(self) -> list[str]:
        return sorted(n for n, o in self.outcomes.items() if o.status == "skipped")

    def value(self, name: str, default: Any = None) -> Any:
        outcome = self.outcomes.get(name)
        return outcome.value if outcome is not None and outcome.status == "ok" else default


class ErrorBudget:
    """Per agent: after ``allowed`` failures in a row (an error or a time-out), bench it for ``cooldown`` s.

    Why: a broken or hung agent would otherwise cost every request its full
    time-out.  An agent may carry its own ``error_budget`` (an int) instead of
    ``allowed``.  One success resets the count; after the cool-down the agent
    gets one more try, and a failure then benches it again.
    """

    def __init__(self, allowed: int = 3, cooldown: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if allowed < 1:
            raise ValueError(f"allowed must be at least 1, got {allowed}")
        self.allowed = allowed
        self.cooldown = cooldown
        self.clock = clock
        self._failures: dict[str, int] = {}
        self._benched_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def _allowed(self, agent: Agent) -> int:
        value = getattr(agent, "error_budget", None)
        return int(value) if isinstance(value, int) and value >= 1 else self.allowed

    def benched(self, agent: Agent) -> str | None:
        """Why ``agent`` sits this request out, or None when it may run."""
        with self._lock:
            until = self._benched_until.get(agent.name)
            left = None if until is None else until - self.clock()
            if left is None or left <= 0:
                return None
            failures = self._failures.get(agent.name, 0)
        return f"error budget spent: {failures} failures in a row; tried again in {left:.0f} s"

    def record(self, agent: Agent, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures.pop(agent.name, None)
                self._benched_until.pop(agent.name, None)
                return
            failures = self._failures.get(agent.name, 0) + 1
            self._failures[agent.name] = failures
            if failures >= self._allowed(agent):
                self._benched_until[agent.name] = self.clock() + self.cooldown


class EventBus:
    """In-process publish/subscribe; a subscriber's exception never reaches the publisher."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - a listener must not break the run
                if len(self.errors) < 100:
                    self.errors.append(f"{type(exc).__name__}: {exc}")


def _layers(agents: Sequence[Agent]) -> list[list[Agent]]:
    """Topological layers: each agent comes after everything it requires."""
    by_name: dict[str, Agent] = {}
    for agent in agents:
        if agent.name in by_name:
            raise OrchestratorError(f"two agents are named {agent.name!r}")
        by_name[agent.name] = agent
    for agent in agents:
        missing = [r for r in agent.requires if r not in by_name]
        if missing:
            raise OrchestratorError(f"agent {agent.name!r} requires unknown agent(s): {', '.join(missing)}")
    done: set[str] = set()
    layers: list[list[Agent]] = []
    remaining = list(agents)
    while remaining:
        ready = [a for a in remaining if all(r in done for r in a.requires)]
        if not ready:
            names = ", ".join(sorted(a.name for a in remaining))
            raise OrchestratorError(f"agents depend on each other in a cycle: {names}")
        layers.append(sorted(ready, key=lambda a: a.name))
        done.update(a.name for a in ready)
        remaining = [a for a in remaining if a.name not in done]
    return layers


class Orchestrator:
    """Runs a fixed set of agents for each request."""

    def __init__(
        self,
        agents: Sequence[Agent],
        bus: EventBus | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
        budget: ErrorBudget | None = None,
    ) -> None:
        self.layers = _layers(agents)
        self.bus = bus or EventBus()
        self.default_timeout = default_timeout
        self.budget = budget

    @property
    def agents(self) -> list[Agent]:
        return [a for layer in self.layers for a in layer]

    def _timeout(self, agent: Agent) -> float:
        value = getattr(agent, "timeout", None)
        return float(value) if value else self.default_timeout

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        self.bus.publish(Event(type=kind, data=data, timestamp=time.time()))

    def run(self, request: Request) -> Answer:
        started = time.perf_counter()
        outcomes: dict[str, AgentOutcome] = {}
        total = len(self.agents)
        for layer in self.layers:
            runnable: list[Agent] = []
            for agent in layer:
                broken = [r for r in agent.requires if outcomes[r].status != "ok"]
                benched = self.budget.benched(agent) if self.budget is not None else None
                if broken or benched:
                    reason = benched or f"needs {', '.join(broken)}, which did not answer"
                    outcomes[agent.name] = AgentOutcome(agent.name, "skipped", error=reason)
                    self._emit(
                        "agent.finished",
                        {"agent": agent.name, "status": "skipped", "done": len(outcomes), "total": total},
                    )
                else:
                    runnable.append(agent)
            threads: list[tuple[Agent, threading.Thread, dict[str, Any], float]] = []
            for agent in runnable:
                box: dict[str, Any] = {}
                inputs = {r: outcomes[r].value for r in agent.requires}
                thread = threading.Thread(
                    target=self._call, args=(agent, request, inputs, box), name=f"agent-{agent.name}", daemon=True
                )
                self._emit("agent.started", {"agent": agent.name, "done": len(outcomes), "total": total})
                thread.start()
                threads.append((agent, thread, box, time.perf_counter()))
            for agent, thread, box, t0 in threads:
                remaining = self._timeout(agent) - (time.perf_counter() - t0)
                thread.join(max(remaining, 0.0))
                seconds = time.perf_counter() - t0
                if thread.is_alive():
                    outcome = AgentOutcome(
                        agent.name, "timeout", error=f"no answer within {self._timeout(agent):g} s", seconds=seconds
                    )
                elif "error" in box:
                    outcome = AgentOutcome(agent.name, "error", error=box["error"], seconds=seconds)
                else:
                    outcome = AgentOutcome(agent.name, "ok", value=box.get("value"), seconds=seconds)
                outcomes[agent.name] = outcome
                if self.budget is not None:
                    self.budget.record(agent, outcome.status == "ok")
                self._emit(
                    "agent.finished",
                    {
                        "agent": agent.name,
                        "status": outcome.status,
                        "seconds": round(seconds, 4),
                        "error": outcome.error,
                        "done": len(outcomes),
                        "total": total,
                    },
                )
        return Answer(outcomes=outcomes, seconds=time.perf_counter() - started)

    @staticmethod
    def _call(agent: Agent, request: Request, inputs: Mapping[str, Any], box: dict[str, Any]) -> None:
        try:
            box["value"] = agent.run(request, inputs)
        except BaseException as exc:  # noqa: BLE001 - reported as the agent's error
            frames = traceback.extract_tb(exc.__traceback__)
            where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
            box["error"] = f"{type(exc).__name__}: {exc}{where}"
