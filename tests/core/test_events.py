"""Events from the catalog reach the host's listeners: discoveries once, completions every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from empathy.core.events import CATALOG, make_event
from empathy.core.hookspecs import hookimpl
from empathy.core.model import Event
from empathy.core.workspace import Workspace
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import lines, workspace


class Listener:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def handle_event(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]


def listening(ws: Workspace) -> Listener:
    listener = Listener()
    ws.host.register(listener, "test-listener")
    return listener


def _history(repo: RepoBuilder) -> None:
    for k in range(12):
        files = {"core.py": lines(40 + k, f"c{k}"), "util.py": lines(10 + k, f"u{k}")}
        repo.commit(f"fix crash {k}" if k % 2 else f"add feature {k}", files)


def test_mining_announces_new_patterns_once_and_every_completion(repo: RepoBuilder, tmp_path: Path) -> None:
    _history(repo)
    ws = workspace(repo, tmp_path)
    listener = listening(ws)
    report = ws.mine()
    discovered = listener.of("pattern.discovered")
    assert report.patterns and {e.data["key"] for e in discovered} == {p.key for p in report.patterns}
    done = listener.of("analysis.completed")
    assert len(done) == 1 and done[0].data["new_patterns"] == len(report.patterns)
    assert done[0].data["head"] == ws.repo.head
    listener.events.clear()
    ws.mine()
    assert listener.of("pattern.discovered") == []
    assert [e.data["new_patterns"] for e in listener.of("analysis.completed")] == [0]


def test_a_forecast_is_announced_when_computed_not_when_cached(repo: RepoBuilder, tmp_path: Path) -> None:
    _history(repo)
    ws = workspace(repo, tmp_path)
    ws.mine()
    listener = listening(ws)
    ws.findings()
    made = listener.of("forecast.made")
    assert len(made) == 1 and made[0].data["head"] == ws.repo.head
    assert {t["path"] for t in made[0].data["top"]} <= {"core.py", "util.py"}
    ws.findings()
    assert len(listener.of("forecast.made")) == 1


def test_feedback_that_switches_a_level_emits_level_changed(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("init", {"core.py": lines(5)})
    ws = workspace(repo, tmp_path)
    listener = listening(ws)
    ledger = ws.trust()
    assert ledger.level_allowed(4)
    for _ in range(6):
        ledger.feedback("hotspot", useful=False)
    changed = listener.of("level.changed")
    assert [(e.data["level"], e.data["allowed"]) for e in changed] == [(4, False)]
    assert not ledger.level_allowed(4)
    assert len(listener.of("trust.threshold_reached")) >= 1


def test_unknown_event_types_are_refused() -> None:
    assert make_event("forecast.made", {}).type in CATALOG
    with pytest.raises(ValueError, match="unknown event type"):
        make_event("forecast.maybe", {})


def test_a_failing_listener_does_not_stop_mining(repo: RepoBuilder, tmp_path: Path) -> None:
    _history(repo)
    ws = workspace(repo, tmp_path)

    class Broken:
        @hookimpl
        def handle_event(self, event: Any) -> None:
            raise RuntimeError("listener down")

    ws.host.register(Broken(), "broken-listener")
    listener = listening(ws)
    report = ws.mine()
    assert report.patterns and listener.of("analysis.completed")
