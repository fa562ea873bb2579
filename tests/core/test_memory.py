"""The memory layers on both backends: counting, the bound, a simulated year, meta, the agent, a soak."""

from __future__ import annotations

import gc
import random
import resource
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from empathy.core.agents.memory import DAY, LONG, SHORT, Memory
from empathy.core.agents.orchestrator import Orchestrator, Request
from empathy.core.model import ChangeSet, Finding, Level, Location, Severity
from empathy.core.store.store import Store, open_store
from empathy.core.trust import TrustLedger
from empathy.plugins.agents import memory as memory_plugin
from empathy.plugins.agents.memory import MemoryAgent
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import workspace as open_test_workspace

T0 = 1_700_000_000  # a fixed start (2023-11-14), so windows are exact


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def repo_id(store: Store) -> int:
    row = store.repository("k", "/p")
    assert row.id is not None
    return row.id


def keys(items: list[Any]) -> set[str]:
    return {i.key for i in items}


# -- short-term: counting and the bound ----------------------------------------------
def test_remember_counts_and_keeps_first_and_last_seen(store: Store, repo_id: int) -> None:
    mem = Memory(store, repo_id, clock=Clock())
    mem.remember("path", "a.py", at=T0 + 10)
    mem.remember("path", "a.py", data={"note": "x"}, at=T0 + 20)
    mem.remember("path", "a.py", at=T0 + 30)  # no data: the stored data is kept
    mem.remember("path", "a.py", at=T0)  # late news of an earlier sighting moves first_at only
    mem.remember("finding", "fp1", data={"code": "hotspot"}, at=T0 + 5, path="a.py")
    mem.remember("path", "b.py", at=T0 + 40)
    (a,) = mem.items(SHORT, kind="path", paths=["a.py"])
    assert (a.layer, a.kind, a.key, a.path, a.count) == (SHORT, "path", "a.py", "a.py", 4)
    assert (a.first_at, a.last_at, a.data) == (T0, T0 + 30, {"note": "x"})
    about_a = mem.items(SHORT, paths=["a.py"])
    assert [(i.kind, i.key, i.count) for i in about_a] == [("path", "a.py", 4), ("finding", "fp1", 1)]
    assert mem.size(SHORT) == 3 and mem.size(LONG) == 0
    assert mem.remember_many("path", ["b.py", "b.py", "c.py", ""], at=T0 + 50) == 2  # distinct, non-empty
    assert {i.key: i.count for i in mem.items(SHORT, kind="path")} == {"a.py": 4, "b.py": 2, "c.py": 1}


def test_remember_findings_by_fingerprint(store: Store, repo_id: int) -> None:
    mem = Memory(store, repo_id, clock=Clock())
    finding = Finding(
        code="hotspot",
        level=Level.PROACTIVE,
        severity=Severity.WARNING,
        location=Location("src/a.py"),
        reason="changes often",
        action="review",
        source="proactive",
    )
    assert mem.remember_findings([finding, finding]) == 1
    mem.remember_findings([finding])
    (item,) = mem.items(SHORT, kind="finding")
    assert (item.key, item.path, item.count) == (finding.fingerprint, "src/a.py", 2)
    assert item.data == {"code": "hotspot", "level": 3, "source": "proactive"}


def test_short_term_drops_the_least_recently_seen(store: Store, repo_id: int) -> None:
    mem = Memory(store, repo_id, short_term_max=5, clock=Clock())
    for i in range(5):
        mem.remember("path", f"k{i}", at=T0 + i)
    mem.remember("path", "k0", at=T0 + 5)  # k0 is now the most recent, k1 the least
    mem.remember("path", "k5", at=T0 + 6)
    assert mem.size(SHORT) == 5
    assert keys(mem.items(SHORT)) == {"k0", "k2", "k3", "k4", "k5"}
    mem.remember_many("path", [f"n{i}" for i in range(12)], at=T0 + 7)
    assert mem.size(SHORT) == 5


def test_settings_are_checked(store: Store, repo_id: int) -> None:
    with pytest.raises(ValueError, match="short_term_max"):
        Memory(store, repo_id, short_term_max=0)
    with pytest.raises(ValueError, match="unknown memory layer"):
        Memory(store, repo_id).items("meta")


# -- consolidation ---------------------------------------------------------------------
def test_consolidation_over_a_simulated_year(store: Store, repo_id: int) -> None:
    """Day by day for a year, consolidating each evening; every count is worked out by hand.

    - ``weekly.py`` (days 0, 7, ..., 364: 53 sightings) reaches 3 sightings on day
      14 and moves to long-term; each later sighting (50, days 21..364) merges
      into it the same day: 51 promotions, a long-term count of 53.
    - ``every20.py`` (days 0, 20, ..., 360: 19 sightings) moves on day 40, then
      16 merges (days 60..360): 17 promotions, count 19.  Recurring within the
      30-day window is enough, even with gaps of 20 days.
    - ``once.py`` (day 0) is forgotten on day 31, the first day it is more than
      30 days old.
    - ``every40.py`` (days 0, 40, ..., 360) never recurs within 30 days: each
      sighting is forgotten 31 days later, 9 of them within the year (days
      31..351); the day-360 sighting is still in short-term at the end.
    - ``old.py`` was consolidated 30 days before the year began and never seen
      again: forgotten on day 336, the first day it is more than 365 days old.
    """
    clock = Clock(T0 - 30 * DAY)
    mem = Memory(store, repo_id, clock=clock)
    for _ in range(3):
        mem.remember("path", "old.py")
    assert mem.consolidate().promoted == 1
    clock.now = T0
    promoted = forgotten_short = forgotten_long = trimmed = 0
    forgotten_days: dict[str, int] = {}
    for day in range(365):
        touched = ["weekly.py"] if day % 7 == 0 else []
        touched += ["every20.py"] if day % 20 == 0 else []
        touched += ["every40.py"] if day % 40 == 0 else []
        touched += ["once.py"] if day == 0 else []
        mem.remember_many("path", touched)
        before = keys(mem.items(SHORT)) | keys(mem.items(LONG))
        report = mem.consolidate()
        for key in before - (keys(mem.items(SHORT)) | keys(mem.items(LONG))):
            forgotten_days.setdefault(key, day)
        promoted += report.promoted
        forgotten_short += report.forgotten_short
        forgotten_long += report.forgotten_long
        trimmed += report.trimmed
        if day == 14:
            assert [(i.key, i.count) for i in mem.items(LONG)] == [("weekly.py", 3), ("old.py", 3)]
        clock.advance(DAY)
    assert (promoted, forgotten_short, forgotten_long, trimmed) == (51 + 17, 1 + 9, 1, 0)
    assert forgotten_days == {"once.py": 31, "every40.py": 31, "old.py": 336}
    long = {i.key: i for i in mem.items(LONG)}
    assert {k: i.count for k, i in long.items()} == {"weekly.py": 53, "every20.py": 19}
    assert (long["weekly.py"].first_at, long["weekly.py"].last_at) == (T0, T0 + 364 * DAY)
    short = mem.items(SHORT)
    assert [(i.key, i.count, i.last_at) for i in short] == [("every40.py", 1, T0 + 360 * DAY)]


def test_consolidation_keeps_layers_within_their_maximum(store: Store, repo_id: int) -> None:
    mem = Memory(store, repo_id, long_term_min_count=1, long_term_max=3, clock=Clock())
    mem.remember_many("path", ["a", "b", "c", "d", "e"], at=T0)
    mem.remember("path", "a", at=T0 + 1)
    report = mem.consolidate(now=T0 + 2)
    assert (report.promoted, report.trimmed) == (5, 2)
    assert report.forgotten == 2
    assert mem.size(LONG) == 3 and "a" in keys(mem.items(LONG))


# -- meta: what is acted on, from the trust ledger ----------------------------------
def test_meta_reads_the_trust_ledger(store: Store, repo_id: int) -> None:
    clock = Clock()
    ledger = TrustLedger(store, repo_id, clock=clock)
    for outcome in ("acted", "acted", "useful", "dismissed"):
        ledger.record("rule", "hotspot", outcome)
    ledger.apply_feedback("coupling", useful=False)
    ledger.apply_feedback("coupling", useful=False)
    ledger.record("level", "4", "dismissed")
    ledger.record("repo", "k", "deploy_success")  # not a preference: left out
    mem = Memory(store, repo_id, clock=clock)  # makes its own ledger on the same clock
    meta = mem.meta()
    assert set(meta) == {"rule", "level"}
    hotspot, coupling, level4 = meta["rule"]["hotspot"], meta["rule"]["coupling"], meta["level"]["4"]
    # No time has passed, so no decay: Beta(1 + acted, 1 + dismissed).
    assert hotspot.share == pytest.approx(4 / 6) and (hotspot.n, hotspot.raw_n) == (pytest.approx(4.0), 4)
    assert coupling.share == pytest.approx(1 / 4) and coupling.raw_n == 2
    assert level4.share == pytest.approx(1 / 3)
    assert 0 < coupling.lower < coupling.share
    prefs = mem.context()["preferences"]
    assert prefs == {"coupling": pytest.approx(0.25), "hotspot": pytest.approx(4 / 6)}


# -- context and the agent ----------------------------------------------------------
def test_context_narrows_to_paths_and_hides_stale_items(store: Store, repo_id: int) -> None:
    clock = Clock()
    mem = Memory(store, repo_id, long_term_min_count=2, clock=clock)
    mem.remember_many("path", ["a.py", "b.py"], at=T0)
    mem.remember("path", "a.py", at=T0 + 1)
    mem.consolidate(now=T0 + 2)  # a.py (2 sightings) moves to long-term
    mem.remember("path", "old.py", at=T0 - 40 * DAY)  # outside the window, not yet consolidated
    ctx = mem.context(["a.py", "b.py", "old.py"], now=T0 + 3)
    assert set(ctx) == {"working", "short_term", "long_term", "preferences", "meta"}
    assert [i["key"] for i in ctx["short_term"]] == ["b.py"]
    assert [(i["key"], i["count"], i["layer"]) for i in ctx["long_term"]] == [("a.py", 2, LONG)]
    assert mem.context(["c.py"], now=T0 + 3)["short_term"] == []
    assert [i["key"] for i in mem.context(now=T0 + 3, limit=1)["short_term"]] == ["b.py"]


def test_working_memory_is_the_current_request_only(store: Store, repo_id: int) -> None:
    mem = Memory(store, repo_id)
    change = ChangeSet(paths=["a.py"], added=3, base="b1", head="h1")
    working = mem.begin(
        Request(
            "gate",
            ["a.py"],
            change,
            {"workspace": object(), "settings": {"api_key": "k"}, "documents": {"a.py": "x = 1\n"}},
        )
    )
    assert working == {
        "kind": "gate",
        "paths": ["a.py"],
        "change": {
            "paths": ["a.py"],
            "added": 3,
            "deleted": 0,
            "author_email": "",
            "base": "b1",
            "head": "h1",
            "lines": {},
            "commits": [],
            "message": "",
        },
        "context": {"documents": {"a.py": "x = 1\n"}},
    }
    assert mem.context()["working"] == working
    mem.end()
    assert mem.working == {} and mem.context()["working"] == {}


def test_agent_records_the_request_and_returns_context(store: Store, repo_id: int) -> None:
    clock = Clock()
    agent = MemoryAgent(clock=clock, long_term_min_count=2)
    workspace = SimpleNamespace(store=store, repo_id=repo_id)
    change = ChangeSet(paths=["src/a.py", "src/b.py"])
    request = Request("gate", [], change, {"workspace": workspace, "documents": ["src/a.py"]})
    answer = Orchestrator([agent]).run(request)
    assert answer.failed == [], answer.outcomes
    out = answer.value("memory")
    assert set(out) == {"working", "short_term", "long_term", "preferences", "meta"}
    assert out["working"]["kind"] == "gate" and out["working"]["context"] == {"documents": ["src/a.py"]}
    assert "workspace" not in out["working"]["context"]
    assert sorted((i["key"], i["count"]) for i in out["short_term"]) == [("src/a.py", 1), ("src/b.py", 1)]
    clock.advance(60)
    out = agent.run(Request("open", ["src/a.py"], None, {"workspace": workspace}), {})
    assert [(i["key"], i["count"]) for i in out["short_term"]] == [("src/a.py", 2)]
    assert out["long_term"] == [] and out["preferences"] == {}


def test_agent_consolidates_once_per_consolidate_every(
    store: Store, repo_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = Memory.consolidate

    def counting(self: Memory, now: float | None = None) -> Any:
        calls.append(len(calls))
        return original(self, now)

    monkeypatch.setattr(Memory, "consolidate", counting)
    workspace = SimpleNamespace(store=store, repo_id=repo_id)
    for i in range(7):
        # A fresh agent per request, as Workspace.orchestrate makes them: the cadence is the repository's.
        MemoryAgent(consolidate_every=3).run(Request("open", [f"f{i}.py"], None, {"workspace": workspace}), {})
    assert len(calls) == 3  # requests 1, 4 and 7


def test_agent_through_a_real_workspace(repo: RepoBuilder, tmp_path: Path) -> None:
    """Registered like any plugin, run by ``Workspace.orchestrate``, settings from ``.empathy.toml``."""
    for k in range(3):
        repo.commit(f"change {k}", {"a.py": f"x = {k}\n", "b.py": f"y = {k}\n"})
    ws = open_test_workspace(repo, tmp_path, toml="[plugins.memory]\nlong_term_min_count = 2\n")
    ws.host.register(memory_plugin, "memory")
    ws.trust().apply_feedback("hotspot", useful=True)
    for _ in range(2):
        answer = ws.orchestrate(Request(kind="file", paths=["a.py"]))
        assert "memory" not in answer.failed, answer.outcomes["memory"].error
    out = answer.value("memory")
    assert [(i["key"], i["count"]) for i in out["short_term"]] == [("a.py", 2)]
    assert out["preferences"] == {"hotspot": pytest.approx(2 / 3)}
    assert out["working"]["context"] == {}  # the workspace and the settings stay out
    mem = MemoryAgent().memory(ws)
    assert mem.long_term_min_count == 2 and mem.consolidate().promoted == 1
    assert [(i.key, i.count) for i in mem.items(LONG)] == [("a.py", 2)]


def test_agent_needs_a_workspace_and_knows_its_settings() -> None:
    with pytest.raises(ValueError, match="workspace"):
        MemoryAgent().run(Request("open", ["a.py"]), {})
    with pytest.raises(TypeError, match="unknown memory setting"):
        MemoryAgent(short_term_size=3)
    settings = SimpleNamespace(plugin=lambda name: {"short_term_max": "50", "other": 1} if name == "memory" else {})
    cfg = MemoryAgent(consolidate_every=7).config(SimpleNamespace(settings=settings))
    assert (cfg["short_term_max"], cfg["consolidate_every"], cfg["short_term_days"]) == (50, 7, 30)


def test_plugin_hooks() -> None:
    (agent,) = memory_plugin.register_agents()
    assert (agent.name, agent.requires) == ("memory", ())
    assert memory_plugin.settings_defaults()["consolidate_every"] == 100


# -- the soak -------------------------------------------------------------------------------
def _rss_kib() -> int:
    """The current resident set size (VmRSS); the peak (ru_maxrss) where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def test_soak_10000_requests_stays_bounded(tmp_path: Path) -> None:
    """10,000 requests over random paths: short-term never exceeds its size, RSS stays flat.

    Paths come from 5,000 names so the 500-item bound is hit constantly; the
    clock moves 10 minutes a request (about 70 days in all), so consolidation
    also promotes and forgets.  RSS is measured after 1,000 warm-up requests
    (caches, connection pool, SQLite page cache filled) and at the end.
    """
    store = open_store(f"sqlite:///{tmp_path / 'soak.db'}", None)
    try:
        row = store.repository("soak", "/p")
        assert row.id is not None
        workspace = SimpleNamespace(store=store, repo_id=row.id)
        clock = Clock()
        agent = MemoryAgent(clock=clock)
        rng = random.Random(7)
        names = [f"src/pkg{i % 50}/mod{i}.py" for i in range(5_000)]
        mem = agent.memory(workspace)
        max_short = 0
        rss_warm = 0
        started = time.perf_counter()
        for n in range(10_000):
            if n == 1_000:
                gc.collect()
                rss_warm = _rss_kib()
            paths = rng.sample(names, rng.randint(1, 3))
            change = ChangeSet(paths=rng.sample(names, 2)) if n % 10 == 0 else None
            out = agent.run(Request("open", paths, change, {"workspace": workspace}), {})
            assert set(out) >= {"working", "short_term", "long_term", "preferences"}
            if n % 100 == 99:
                max_short = max(max_short, mem.size(SHORT))
            clock.advance(600)
        seconds = time.perf_counter() - started
        gc.collect()
        growth_kib = _rss_kib() - rss_warm
        print(
            f"\nsoak: 10000 requests in {seconds:.1f} s; short-term max {max_short} items;"
            f" long-term {mem.size(LONG)} items; RSS {rss_warm} -> {rss_warm + growth_kib} KiB"
            f" (+{growth_kib} KiB)"
        )
        assert 0 < max_short <= 500
        assert mem.size(SHORT) <= 500
        assert mem.size(LONG) > 0  # consolidation ran and promoted what recurred
        assert growth_kib < 16 * 1024, f"RSS grew {growth_kib} KiB over 9,000 requests"
    finally:
        store.engine.dispose()
