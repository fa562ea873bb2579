"""The gate's decisions beside the deploy outcomes recorded for them, for the visual report.

``empathy report`` asks this (through :func:`empathy.core.report.build_report`'s
``gate`` argument: core does not import the gate).  Both halves are what the
gate itself stores: every decision (:class:`GateDecisionRow`, the audit
trail) and every outcome ``empathy gate record`` (or the webhook service)
recorded for the gate's service (ledger subject kind
:data:`~empathy.gate.track_record.DEPLOY_KIND`).  A commit decided on several
times counts once, with its latest decision; an outcome belongs to the
decision on the commit it names (``ref``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from empathy.core.report.data import GateEntry, GateRecord
from empathy.core.store.tables import GateDecisionRow, OutcomeRow
from empathy.gate.track_record import DEPLOY_KIND, DEPLOY_OUTCOMES

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["gate_record"]

#: The ledger's outcome names -> the words of ``empathy gate record --outcome``.
_WORDS = {ledger: word for word, ledger in DEPLOY_OUTCOMES.items()}


def gate_record(ws: Workspace) -> GateRecord:
    """The latest decision per decided commit, oldest first, each with the outcome recorded for that commit."""
    from empathy.gate.evaluate import gate_settings

    service = gate_settings(ws).service or ws.repo.key
    with ws.store.session() as s:
        decisions = list(
            s.exec(
                select(GateDecisionRow)
                .where(col(GateDecisionRow.repo_id) == ws.repo_id)
                .order_by(col(GateDecisionRow.created_at), col(GateDecisionRow.id))
            ).all()
        )
        outcomes = list(
            s.exec(
                select(OutcomeRow)
                .where(
                    col(OutcomeRow.repo_id) == ws.repo_id,
                    col(OutcomeRow.subject_kind) == DEPLOY_KIND,
                    col(OutcomeRow.subject) == service,
                )
                .order_by(col(OutcomeRow.at), col(OutcomeRow.id))
            ).all()
        )
    latest: dict[str, GateDecisionRow] = {}
    for row in decisions:  # oldest first: the last one per head wins
        latest[row.head] = row
    outcome_of: dict[str, tuple[str, int]] = {}
    for o in outcomes:  # oldest first: the newest outcome per commit wins
        detail: dict[str, Any] = o.detail or {}
        ref = str(detail.get("ref") or "")
        if ref:
            outcome_of[ref] = (_WORDS.get(o.outcome, o.outcome), o.at)
    entries: list[GateEntry] = []
    table: dict[str, dict[str, int]] = {}
    for row in sorted(latest.values(), key=lambda r: (r.created_at, r.id or 0)):
        shown = (row.report or {}).get("decision", {}).get("risk", row.risk)  # None when inconclusive
        outcome, outcome_at = outcome_of.get(row.head, (None, None))
        entries.append(
            GateEntry(
                at=row.created_at,
                base=row.base,
                head=row.head,
                decision=row.decision,
                risk=None if shown is None else float(shown),
                outcome=outcome,
                outcome_at=outcome_at,
            )
        )
        cell = table.setdefault(row.decision, {})
        cell[outcome or "none"] = cell.get(outcome or "none", 0) + 1
    unmatched = sum(1 for o in outcomes if str((o.detail or {}).get("ref") or "") not in latest)
    return GateRecord(
        decisions=entries,
        outcomes=len(outcomes),
        outcomes_without_decision=unmatched,
        service=service,
        table=table,
    )
