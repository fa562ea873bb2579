"""The event catalog, and announcing a discovery once.

Why a catalog here: the same event types reach every subscriber (the host's
``handle_event`` listeners, the webhook service's outbox, the live stream),
so their names live in one place that the service's JSON schemas follow.

Why "once": mining and the levels run again and again over the same
history; a subscriber wants to hear about a new hotspot or a new
fix-begets-fix cycle when it appears, not on every run.  What was announced
is remembered in the store (``memory_item`` rows of layer ``announced``,
which memory consolidation never touches), so a restart does not repeat it; it is
remembered only once every listener took the event, so a failed one is not lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from empathy.core.model import Event
from empathy.core.store.store import Store
from empathy.core.store.tables import MemoryItemRow

__all__ = [
    "ANALYSIS_COMPLETED",
    "CATALOG",
    "CYCLE_DETECTED",
    "FORECAST_MADE",
    "GATE_DECIDED",
    "LEVEL_CHANGED",
    "PATTERN_DISCOVERED",
    "THRESHOLD_REACHED",
    "make_event",
    "mark_announced",
    "unannounced",
]

PATTERN_DISCOVERED = "pattern.discovered"
FORECAST_MADE = "forecast.made"
CYCLE_DETECTED = "cycle.detected"
THRESHOLD_REACHED = "trust.threshold_reached"
LEVEL_CHANGED = "level.changed"
GATE_DECIDED = "deployment_gate.decided"
ANALYSIS_COMPLETED = "analysis.completed"

#: Every event type the toolkit emits, with what it means.
CATALOG: dict[str, str] = {
    PATTERN_DISCOVERED: "mining found a pattern (hotspot, coupling, fix-prone file ...) not seen before",
    FORECAST_MADE: "a file forecast was computed for a new head: base rate and the riskiest files",
    CYCLE_DETECTED: "a fix-begets-fix cycle between files was found for the first time",
    THRESHOLD_REACHED: "feedback moved a rule's threshold across a mark",
    LEVEL_CHANGED: "the repository's track record switched an empathy level on or off",
    GATE_DECIDED: "the deployment gate decided pass, warn, block or inconclusive for a change",
    ANALYSIS_COMPLETED: "a mining run finished: commits, patterns, new patterns, plugin errors",
}

ANNOUNCED_LAYER = "announced"


def make_event(event_type: str, data: dict[str, Any], at: float | None = None) -> Event:
    if event_type not in CATALOG:
        raise ValueError(f"unknown event type {event_type!r}; known: {', '.join(sorted(CATALOG))}")
    return Event(type=event_type, data=data, timestamp=time.time() if at is None else float(at))


def unannounced(store: Store, repo_id: int, kind: str, keys: Iterable[str]) -> list[str]:
    """The keys of ``kind`` not announced yet, in the given order (nothing is marked)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    with store.engine.connect() as conn:
        seen = {
            str(k)
            for (k,) in conn.execute(
                sa_select(col(MemoryItemRow.key)).where(
                    col(MemoryItemRow.repo_id) == repo_id,
                    col(MemoryItemRow.layer) == ANNOUNCED_LAYER,
                    col(MemoryItemRow.kind) == kind,
                )
            )
        }
    return [k for k in wanted if k not in seen]


def mark_announced(store: Store, repo_id: int, kind: str, key: str) -> None:
    """Remember that ``key`` was announced: called only once every listener stored the event.

    Marking first would lose the announcement for good when a listener fails (the store of
    the webhook outbox busy, say); marking after means a failure is announced again on the
    next run, and two processes racing may both announce it (at least once, never lost).
    """
    now = int(time.time())
    try:
        with store.session() as s:
            s.add(
                MemoryItemRow(
                    repo_id=repo_id, layer=ANNOUNCED_LAYER, kind=kind, key=key, count=1, first_at=now, last_at=now
                )
            )
            s.commit()
    except IntegrityError:
        pass  # another process announced it at the same time and marked it first
