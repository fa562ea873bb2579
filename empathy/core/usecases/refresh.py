"""Bring the store up to date: ingest new commits, then re-run the miners that are stale.

One staleness rule for every surface: a miner is stale when it has never
finished successfully on this repository, or when the history has grown by
``remine_commits`` commits (a core setting) since its last successful run.
A miner that failed, or a session that closed before a slow miner finished,
leaves that miner stale, so the next refresh runs it again (the editor once
never re-ran the bug-fix miner after its first session was closed early).

Slow miners (the last run took over ``SLOW_SECONDS``, or with no record yet
one of ``KNOWN_SLOW``) can be deferred: the editor shows the quick miners'
findings first and runs the slow ones afterwards (``Refresh.deferred``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from empathy.core.history.ingest import IngestReport

if TYPE_CHECKING:
    from empathy.core.workspace import MineReport, Workspace

__all__ = ["KNOWN_SLOW", "SLOW_SECONDS", "Refresh", "quick_and_slow", "refresh", "stale_miners"]

#: Plugins known to be slow before they have a recorded run: SZZ blames every fix; the
#: anticipatory level trains the forecast model after new commits.
KNOWN_SLOW = frozenset({"fixes", "anticipatory"})
#: A plugin whose last run took longer than this is slow.
SLOW_SECONDS = 2.0


@dataclass
class Refresh:
    """What one refresh did: the ingest, the miners it ran, and the slow ones it left for later."""

    ingest: IngestReport
    mined: MineReport | None = None
    stale: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)

    @property
    def errors(self) -> dict[str, str]:
        return {} if self.mined is None else self.mined.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingest": self.ingest.to_dict(),
            "mined": [] if self.mined is None else [r.plugin for r in self.mined.results],
            "deferred": list(self.deferred),
            "errors": self.errors,
        }


def stale_miners(ws: Workspace, remine_commits: int | None = None) -> list[str]:
    """The enabled miners whose patterns no longer describe the history as of now (the one rule).

    Stale: never run, failed, the history grew by ``remine_commits`` since, or
    mined for another analysis day (the clock moved their windows on, or a replay asks another day).
    """
    every = int(ws.settings["remine_commits"] if remine_commits is None else remine_commits)
    commits = ws.store.refresh_repository(ws.repo_id).commit_count
    last = {
        run.plugin: run
        for run in ws.store.plugin_runs()
        if run.repo_id == ws.repo_id and run.hook == "mine_patterns"
    }
    # Windows end at the analysis time: a pattern mined for another day (yesterday's clock, or another
    # replay day) describes another window ("commits in the last 365 days"), so it is mined again.  As of
    # the last commit (as_of = "last-commit", recorded as None) the commits themselves move the window,
    # and remine_commits decides as before.
    history = ws.history()
    today = None if history.at is None else history.now // 86_400
    stale: list[str] = []
    for name in ws.host.implementations("mine_patterns"):
        run = last.get(name)
        if (
            run is None
            or run.error is not None
            or run.commits is None
            or commits - run.commits >= max(1, every)
            or (run.as_of is None) != (today is None)
            or (run.as_of is not None and run.as_of // 86_400 != today)
        ):
            stale.append(name)
    return stale


def quick_and_slow(ws: Workspace, hook: str, names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(quick, slow) implementations of ``hook`` (of ``names`` when given), by their last recorded run."""
    names = ws.host.implementations(hook) if names is None else names
    last = {
        run.plugin: float(run.seconds)
        for run in ws.store.plugin_runs()
        if run.repo_id == ws.repo_id and run.hook == hook
    }
    slow = [n for n in names if (last[n] > SLOW_SECONDS if n in last else n in KNOWN_SLOW)]
    return [n for n in names if n not in slow], slow


def refresh(
    ws: Workspace,
    *,
    ingest_progress: Callable[[int, int], None] | None = None,
    mine_progress: Callable[[str], None] | None = None,
    remine_commits: int | None = None,
    defer_slow: bool = False,
    on_wait: Callable[[], None] | None = None,
) -> Refresh:
    """Ingest, then run the stale miners (the quick ones only, with ``defer_slow``)."""
    report = Refresh(ingest=ws.ingest(progress=ingest_progress, on_wait=on_wait))
    report.stale = stale_miners(ws, remine_commits)
    run = report.stale
    if defer_slow:
        run, report.deferred = quick_and_slow(ws, "mine_patterns", report.stale)
    if run:
        report.mined = ws.mine(progress=mine_progress, only=run)
    return report
