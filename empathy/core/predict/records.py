"""Persisted track records: what `empathy eval` measured, shown next to forecasts."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, select

from empathy.core.store.store import Store
from empathy.core.store.tables import EvalRecordRow

__all__ = ["latest_record", "save_record"]

_T = EvalRecordRow.__table__  # type: ignore[attr-defined]


def save_record(store: Store, repo_id: int, kind: str, horizon_days: int, head: str, summary: dict[str, Any]) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(_T).values(
                repo_id=repo_id,
                kind=kind,
                horizon_days=horizon_days,
                head=head,
                created_at=int(time.time()),
                summary=summary,
            )
        )


def latest_record(store: Store, repo_id: int, kind: str, horizon_days: int | None) -> dict[str, Any] | None:
    """The newest summary for this kind and horizon, or of any horizon with None (None before the first eval)."""
    query = select(_T.c.summary).where(_T.c.repo_id == repo_id, _T.c.kind == kind)
    if horizon_days is not None:
        query = query.where(_T.c.horizon_days == horizon_days)
    with store.engine.connect() as conn:
        row = conn.execute(query.order_by(_T.c.created_at.desc(), _T.c.id.desc()).limit(1)).scalar()
    return dict(row) if row else None
