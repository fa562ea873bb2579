"""Change risk: how risky a change is, why, and what the levels say about it.

``empathy risk`` and the deployment gate (``empathy.gate.decide_gate``) ask
this one function, so a change gets the same model score, the same history
signals and the same findings wherever it is judged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from empathy.core.findings import FindingsReport
from empathy.core.model import ChangeSet, RiskFactor
from empathy.core.predict.risk import ChangeRisk, score_change

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["KAMEI_FEATURES", "MAX_ECE", "ChangeAssessment", "assess_change", "change_calibration", "link_fixes"]

#: The change model's probability is shown only where its measured calibration error on this
#: repository (`empathy eval`, out of time) is at most this, with a positive Brier skill.
MAX_ECE = 0.05

#: The change-level features reported with a score (Kamei et al. 2013's names).
KAMEI_FEATURES = ("ns", "nd", "nf", "entropy", "la", "ld", "lt", "fix", "ndev", "age", "nuc", "exp", "rexp", "sexp")
#: Fixes blamed per step when linking under a time limit: small steps keep the limit tight.
_CHUNK = 50


@dataclass
class ChangeAssessment:
    """Everything known about one change: model score, history signals, findings, label coverage."""

    change: ChangeSet
    model: ChangeRisk | None
    signals: list[RiskFactor] = field(default_factory=list)
    signal_errors: dict[str, str] = field(default_factory=dict)
    findings: FindingsReport = field(default_factory=FindingsReport)
    fixes_linked_now: int = 0
    fixes_left: int = 0
    #: the change model's track record on this repository (`empathy eval`), None before one
    calibration: dict[str, Any] | None = None

    @property
    def calibrated(self) -> bool:
        """Whether the probability may be shown: measured here, ECE <= MAX_ECE, positive Brier skill."""
        cal = self.calibration
        return (
            cal is not None
            and isinstance(cal.get("ece"), int | float)
            and cal["ece"] <= MAX_ECE
            and float(cal.get("brier_skill") or 0.0) > 0.0
        )

    @property
    def probability(self) -> float | None:
        """P(the change introduces a bug), only where the model is calibrated on this repository."""
        if self.model is None or not self.calibrated:
            return None
        return self.model.probability

    def to_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "base": self.change.base,
            "head": self.change.head,
            "files": self.change.paths,
            "added": self.change.added,
            "deleted": self.change.deleted,
            "fixes_not_yet_linked": self.fixes_left,
            "signals": [
                {
                    "name": f.name,
                    "score": f.score,
                    "reason": f.reason,
                    "source": f.source,
                    "evidence": f.evidence,
                    "paths": f.paths,
                }
                for f in self.signals
            ],
            "findings": [f.to_dict() for f in self.findings.findings],
            "probability": None,
        }
        result = self.model
        if result is not None:
            shown = self.probability
            payload.update(
                probability=None if shown is None else round(shown, 4),
                calibration=self.calibration,
                base_rate=round(result.base_rate, 4),
                percentile=None if math.isnan(result.percentile) else round(result.percentile, 3),
                train_rows=result.train_rows,
                fallback=result.fallback or None,
                factors=[{"factor": n, "value": v, "contribution": c} for n, v, c in result.factors],
                kamei={k: getattr(result.features, k) for k in KAMEI_FEATURES},
            )
        return payload


def change_calibration(ws: Workspace) -> dict[str, Any] | None:
    """The change model's last measured calibration here (ECE, Brier skill, cutoffs), None before `empathy eval`."""
    from empathy.core.predict.records import latest_record

    record = latest_record(ws.store, ws.repo_id, "change", None)
    if not record or not record.get("cutoffs"):
        return None
    return {
        "ece": record.get("ece"),
        "brier_skill": record.get("brier_skill"),
        "cutoffs": record["cutoffs"],
        "max_ece": MAX_ECE,
    }


def link_fixes(
    ws: Workspace,
    budget: int | None = None,
    seconds: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Link bug fixes to the changes they repair (B-SZZ, newest first, persisted); (linked now, left).

    ``budget`` caps the fixes blamed now; ``seconds`` caps the time (in small
    steps, so the bound holds).  Links persist, so later runs continue.
    """
    from empathy.core.predict.jit import ensure_szz

    history = ws.history()
    report = progress or (lambda _m: None)

    def step(n: int) -> int:
        return ensure_szz(ws.repo, ws.store, ws.repo_id, history, ws.is_source, n, progress=report)

    before = left = step(0)
    if seconds is None:
        left = step(before if budget is None else budget)
        return before - left, left
    start = time.monotonic()
    while left and time.monotonic() - start < seconds:
        now_left = step(_CHUNK if budget is None else min(_CHUNK, budget - (before - left)))
        if now_left == left or (budget is not None and before - now_left >= budget):
            left = now_left
            break
        left = now_left
    return before - left, left


def assess_change(
    ws: Workspace,
    change: ChangeSet,
    *,
    szz_budget: int | None = None,
    szz_seconds: float | None = None,
    progress: Callable[[str], None] | None = None,
    phase: Callable[[str], None] | None = None,
) -> ChangeAssessment:
    """Score ``change`` with the change model, the ``score_change_risk`` plugins and the levels.

    Fixes are linked first (labels for the model), within ``szz_budget``
    fixes or ``szz_seconds``; ``phase(name)`` is called after each step so a
    caller can time them (the gate reports its phases).
    """
    mark = phase or (lambda _name: None)
    linked, left = link_fixes(ws, budget=szz_budget, seconds=szz_seconds, progress=progress)
    mark("szz")
    model = score_change(
        ws.repo,
        ws.store,
        ws.repo_id,
        ws.history(),
        change,
        ws.is_python_source,
        set(change.commits),
        change.message,
    )
    mark("model")
    signals, errors = ws.change_signals(change)
    mark("signals")
    findings = ws.findings(change=change)
    mark("findings")
    return ChangeAssessment(
        calibration=change_calibration(ws),
        change=change,
        model=model,
        signals=signals,
        signal_errors=errors,
        findings=findings,
        fixes_linked_now=linked,
        fixes_left=left,
    )
