"""From a deploy's risk and a track record to pass, warn, block or inconclusive.

Pure functions of numbers, so the policy can be read, tested and replayed
(``bench/eval_gate.py``) without a repository.

**Risk** is on a repository-relative scale: a deploy is scored by its commits
(:mod:`empathy.gate.deploys`: the expected number of bug-introducing commits
in the range) and its risk is the percentile of that score among the
repository's own past deploys ("riskier than 92 % of the deploys here"), so
a threshold is a share of past deploys: at 0.90 about one deploy in ten is
blocked.  History signals (hotspot touched, CI configuration changed ...)
are reasons shown with the verdict; with ``signal_weight`` above 0 (default
0) each also takes a share of the remaining headroom, noisy-OR style::

    risk = 1 - (1 - percentile) * prod(1 - signal_weight * weight_i * score_i)

**Thresholds** move with the error budget, like an SLO's: the team accepts a
change failure rate ``target_failure_rate``; the record's observed failure
rate ``f`` (decayed, with its decayed sample size ``n``) leaves a budget
``(target - f) / target`` in [-1, 1].  Once ``n`` reaches ``min_budget_n``
both thresholds move by ``budget_room * budget * n / (n + evidence_n)``: up
(more room) while the record is better than the target, down (tighter) once
failures spend the budget.  Below ``min_budget_n`` outcomes nothing moves
and nothing is "spent": four deploys are not a failure rate.

**Inconclusive** when the deploy cannot be compared with this repository's
past (too few past deploys, or a change model without enough labelled
changes): the gate says so, shows no risk figure, and treats it as
``inconclusive_as`` (warn by default) for the exit code.
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
    if failure_rate is None or effective_n < max(settings.min_budget_n, 1e-9):
        # too few outcomes to be a rate: the budget neither grants room nor is spent
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
        # "spent" needs min_budget_n (decayed) outcomes behind it, not a faded memory or a lucky streak
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
