"""From a change's risk and a track record to pass, warn, block or inconclusive.

Pure functions of numbers, so the policy can be read, tested and replayed
(``bench/eval_gate.py``) without a repository.

**Risk** is on a repository-relative scale: the change model's probability is
turned into its percentile among the repository's past changes ("riskier than
92 % of the changes here"), so a threshold means the same in a repository
where half of all commits are later blamed by a fix as in one where few
are.  Each history signal (hotspot touched, partner left unchanged ...) then
takes a share of the remaining headroom, noisy-OR style::

    risk = 1 - (1 - percentile) * prod(1 - signal_weight * weight_i * score_i)

so every signal's contribution is visible and the score stays in [0, 1].

**Thresholds** move with the error budget, like an SLO's: the team accepts a
change failure rate ``target_failure_rate``; the track record's failure rate
``f`` (decayed Beta mean, with its decayed sample size ``n``) leaves a budget
``(target - f) / target`` in [-1, 1].  Both thresholds move by
``budget_room * budget * n / (n + evidence_n)``: up (more room) while the
record is better than the target, down (tighter) once failures spend the
budget, and hardly at all on a thin record.

**Inconclusive** when the change model cannot score the change against this
repository (too few earlier changes with known outcomes): the gate says so
instead of guessing.  It is treated as ``inconclusive_as`` (warn by default)
for the exit code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from empathy.gate.settings import GateSettings

__all__ = ["Budget", "Decision", "SignalShare", "combine_risk", "decide", "error_budget", "severity_rank"]

#: What the gate can say about a change, mildest first.
Decision = Literal["pass", "warn", "block", "inconclusive"]

#: Neither threshold moves outside these bounds.
_MIN_THRESHOLD, _MAX_THRESHOLD = 0.05, 0.995


@dataclass(frozen=True)
class SignalShare:
    """One history signal's part of the combined risk."""

    name: str
    score: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class Budget:
    """The error budget and the thresholds it produced."""

    failure_rate: float | None
    effective_n: float
    budget_left: float
    shift: float
    warn: float
    block: float
    exhausted: bool


def combine_risk(
    model_percentile: float | None, signals: Sequence[tuple[str, float, float]], signal_weight: float
) -> tuple[float, list[SignalShare]]:
    """Combine the model's percentile (None: no source change) with (name, score, weight) signals."""
    risk = 0.0 if model_percentile is None else min(1.0, max(0.0, model_percentile))
    shares: list[SignalShare] = []
    for name, score, weight in signals:
        share = min(1.0, max(0.0, signal_weight * weight * min(1.0, max(0.0, score))))
        before = risk
        risk = 1.0 - (1.0 - risk) * (1.0 - share)
        shares.append(SignalShare(name=name, score=score, weight=weight, contribution=round(risk - before, 4)))
    return round(risk, 4), shares


def error_budget(failure_rate: float | None, effective_n: float, settings: GateSettings) -> Budget:
    """The thresholds after the track record's say (``failure_rate`` None: no record, no shift)."""
    if failure_rate is None or effective_n <= 0:
        left, shift = 0.0, 0.0
    else:
        target = settings.target_failure_rate
        left = max(-1.0, min(1.0, (target - failure_rate) / target))
        confidence = effective_n / (effective_n + settings.evidence_n)
        shift = settings.budget_room * left * confidence
    warn = min(_MAX_THRESHOLD, max(_MIN_THRESHOLD, settings.warn_threshold + shift))
    block = min(_MAX_THRESHOLD, max(_MIN_THRESHOLD, settings.block_threshold + shift))
    return Budget(
        failure_rate=None if failure_rate is None else round(failure_rate, 4),
        effective_n=round(effective_n, 4),
        budget_left=round(left, 4),
        shift=round(shift, 4),
        warn=round(warn, 4),
        block=round(max(block, warn), 4),
        # "spent" needs at least one (decayed) outcome behind it, not a faded memory
        exhausted=failure_rate is not None and effective_n >= settings.min_budget_n and left <= 0.0,
    )


def decide(risk: float, budget: Budget, scorable: bool) -> Decision:
    """pass / warn / block, or inconclusive when the model could not score the change."""
    if not scorable or math.isnan(risk):
        return "inconclusive"
    if risk >= budget.block:
        return "block"
    if risk >= budget.warn:
        return "warn"
    return "pass"


def severity_rank(decision: Decision | str, inconclusive_as: str) -> int:
    """0 pass, 1 warn, 2 block: what a decision counts as for ``--fail-on``."""
    effective = inconclusive_as if decision == "inconclusive" else decision
    return {"pass": 0, "warn": 1, "block": 2}[effective]
