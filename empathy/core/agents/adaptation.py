"""Learning from outcomes: A/B tests of two strategies, and thresholds moved by deploy outcomes.

Why this exists: feedback on single warnings moves single thresholds (the
trust ledger does that), but two questions need more than one outcome at a
time.  *Which of two strategies serves this team better?* needs both shown
and compared on the same kind of feedback with a sample size; *was a
warning right?* is sometimes answered only later, by a deploy that failed.

A/B tests
    An experiment has two arms.  The unit of assignment is a *period*
    (``unit = "day"`` by default, or ``"week"``) combined with the user, so a
    single developer sees both arms on alternate periods and a team splits
    by person too.  Assignment is a hash (no state to keep or lose), so the
    arm in effect when feedback is given is the arm the findings were ranked
    with.  Feedback is stored as an ordinary ledger outcome on the rule,
    with ``{"experiment": ..., "arm": ...}`` in its detail, so it also moves
    the rule's threshold exactly like any other feedback.

    The report gives each arm's n, useful count and rate, and the exact
    posterior probability that the second arm's rate is higher (Beta(1, 1)
    priors; Evan Miller's closed form, no sampling), and names a winner only
    when that probability is at least ``confidence`` (0.95) *and* each arm
    has ``min_n`` outcomes, so a lucky streak does not end an experiment.

Deploy outcomes
    A deploy that failed or was rolled back, whose record names the rules
    that warned about the change (``detail["rules"]``), is evidence that
    those warnings were right: each such rule gets "useful" feedback, which
    lowers its threshold within the ledger's bounds.  Each deploy outcome is
    used once (the feedback remembers the outcome's id).  A deploy that held
    is no evidence against a warning (risky changes often ship fine), so it
    moves nothing.
"""

from __future__ import annotations

import getpass
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col

from empathy.core.model import Finding
from empathy.core.store.tables import OutcomeRow
from empathy.core.trust import ThresholdChange, TrustLedger

__all__ = [
    "STRATEGIES",
    "ABReport",
    "ArmStats",
    "Experiment",
    "adapt_from_deploys",
    "assign_arm",
    "check_strategies",
    "current_user",
    "prob_b_beats_a",
    "record_ab_feedback",
    "unit_key",
]

_PERIOD_SECONDS = {"day": 86_400, "week": 7 * 86_400}
DEPLOY_FAILURES = frozenset({"deploy_failure", "rollback"})


def _by_value(findings: list[Finding]) -> list[Finding]:
    return list(findings)


def _by_severity(findings: list[Finding]) -> list[Finding]:
    def key(f: Finding) -> tuple[int, float]:
        strength = f.probability if f.probability is not None else min(f.score, 1.0)
        return (-f.severity.rank, -strength)

    return sorted(findings, key=key)  # stable: ties keep the insights order


def _forecasts_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -int(f.level) if int(f.level) >= 4 else 0)


#: The ranking strategies an experiment's arms can name (the adaptation agent orders findings
#: by its arm's strategy; kept here so settings are checked the same way everywhere).
STRATEGIES: dict[str, Callable[[list[Finding]], list[Finding]]] = {
    "value": _by_value,
    "severity": _by_severity,
    "recent": _forecasts_first,
}



def check_strategies(experiment: Experiment) -> Experiment:
    """``experiment`` itself, once each arm names a ranking strategy of :data:`STRATEGIES`."""
    unknown = [a for a in experiment.arms if a not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown ranking strategy {', '.join(unknown)}; known: {', '.join(sorted(STRATEGIES))}")
    return experiment


@dataclass(frozen=True)
class Experiment:
    """Two named strategies compared on "useful" feedback."""

    name: str
    arms: tuple[str, str]
    unit: str = "day"
    min_n: int = 20
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an experiment needs a name")
        if len(self.arms) != 2 or self.arms[0] == self.arms[1] or not all(a.strip() for a in self.arms):
            raise ValueError(f"an experiment needs two different, non-empty arm names, got {self.arms!r}")
        if self.unit not in _PERIOD_SECONDS:
            raise ValueError(f"unit must be one of {', '.join(sorted(_PERIOD_SECONDS))}, got {self.unit!r}")
        if self.min_n < 1:
            raise ValueError(f"min_n must be at least 1, got {self.min_n}")
        if not 0.5 < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0.5, 1), got {self.confidence}")

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> Experiment:
        """Build from ``[tool.empathy.plugins.adaptation]`` (keys ``experiment``, ``arms``, ``unit`` ...)."""
        arms = section.get("arms") or ("value", "severity")
        if isinstance(arms, str) or not isinstance(arms, Sequence) or len(arms) != 2:
            raise ValueError(f"arms must be a list of two names, got {arms!r}")
        return cls(
            name=str(section.get("experiment") or "ranking"),
            arms=(str(arms[0]), str(arms[1])),
            unit=str(section.get("unit") or "day"),
            min_n=int(section.get("min_n", 20)),
            confidence=float(section.get("confidence", 0.95)),
        )


def unit_key(experiment: Experiment, user: str, at: float | None = None) -> str:
    """The unit of assignment: the user and the period (day or week) containing ``at``."""
    when = time.time() if at is None else at
    period = int(when // _PERIOD_SECONDS[experiment.unit])
    return f"{user}|{experiment.unit}:{period}"


def assign_arm(experiment: Experiment, unit: str) -> str:
    """The arm for ``unit``: a stable hash, so the same unit always gets the same arm."""
    digest = hashlib.sha256(f"{experiment.name}\x00{unit}".encode()).digest()
    return experiment.arms[digest[0] & 1]


def prob_b_beats_a(alpha_a: float, beta_a: float, alpha_b: float, beta_b: float) -> float:
    """P(p_B > p_A) for independent Beta posteriors, exactly.

    Evan Miller's closed form needs an integer ``alpha_b``; the posteriors
    here are Beta(1 + useful, 1 + not useful), so it always is.
    """
    if alpha_b != int(alpha_b) or alpha_b < 1:
        raise ValueError(f"alpha_b must be a positive integer, got {alpha_b}")

    def log_beta(a: float, b: float) -> float:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    total = 0.0
    for i in range(int(alpha_b)):
        total += math.exp(
            log_beta(alpha_a + i, beta_a + beta_b)
            - math.log(beta_b + i)
            - log_beta(1 + i, beta_b)
            - log_beta(alpha_a, beta_a)
        )
    return min(1.0, max(0.0, total))


@dataclass(frozen=True)
class ArmStats:
    arm: str
    n: int
    useful: int

    @property
    def rate(self) -> float | None:
        return self.useful / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        rate = self.rate
        return {"arm": self.arm, "n": self.n, "useful": self.useful, "rate": None if rate is None else round(rate, 4)}


@dataclass(frozen=True)
class ABReport:
    """Which arm drew more "useful" feedback, how sure that is, and on how many outcomes."""

    experiment: Experiment
    arms: tuple[ArmStats, ArmStats]
    prob_second_better: float
    winner: str | None
    reason: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.name,
            "unit": self.experiment.unit,
            "arms": [a.to_dict() for a in self.arms],
            "prob_second_better": round(self.prob_second_better, 4),
            "winner": self.winner,
            "reason": self.reason,
        }

    @classmethod
    def from_ledger(cls, ledger: TrustLedger, experiment: Experiment) -> ABReport:
        counts = {arm: [0, 0] for arm in experiment.arms}
        stmt = sa_select(col(OutcomeRow.success), col(OutcomeRow.detail)).where(
            col(OutcomeRow.repo_id) == ledger.repo_id, col(OutcomeRow.subject_kind) == "rule"
        )
        with ledger.store.engine.connect() as conn:
            for success, detail in conn.execute(stmt):
                if not isinstance(detail, dict) or detail.get("experiment") != experiment.name:
                    continue
                arm = detail.get("arm")
                if arm in counts:
                    counts[arm][0] += 1
                    counts[arm][1] += 1 if success else 0
        first, second = (ArmStats(arm, *counts[arm]) for arm in experiment.arms)
        p = prob_b_beats_a(
            1 + first.useful, 1 + first.n - first.useful, 1 + second.useful, 1 + second.n - second.useful
        )
        short = [a for a in (first, second) if a.n < experiment.min_n]
        winner: str | None = None
        if short:
            reason = ", ".join(f"{a.arm} has {a.n} of the {experiment.min_n} outcomes needed" for a in short)
        elif p >= experiment.confidence:
            winner, reason = second.arm, f"P({second.arm} better) = {p:.3f}"
        elif 1 - p >= experiment.confidence:
            winner, reason = first.arm, f"P({first.arm} better) = {1 - p:.3f}"
        else:
            reason = (
                f"no arm is better with probability {experiment.confidence:.2f} yet"
                f" (P({second.arm} better) = {p:.3f})"
            )
        return cls(experiment, (first, second), p, winner, reason)


def record_ab_feedback(
    ledger: TrustLedger,
    experiment: Experiment,
    rule: str,
    useful: bool,
    user: str,
    at: float | None = None,
    detail: Mapping[str, Any] | None = None,
) -> tuple[str, ThresholdChange]:
    """Feedback on ``rule`` attributed to the arm in effect for ``user`` at ``at``; moves the threshold too."""
    arm = assign_arm(experiment, unit_key(experiment, user, at))
    full = {**(detail or {}), "experiment": experiment.name, "arm": arm}
    change, _estimate = ledger.feedback(rule, useful, at=at, detail=full)
    return arm, change


def current_user(git: Any = None) -> str:
    """Who gives the feedback: the repository's ``git config user.email``, else the login name."""
    if git is not None:
        try:
            email = str(git.config("--get", "user.email")).strip()
            if email:
                return email
        except Exception:  # noqa: BLE001 - no configured e-mail is normal
            pass
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "anonymous"


def adapt_from_deploys(ledger: TrustLedger, at: float | None = None) -> list[ThresholdChange]:
    """Lower the thresholds of rules that warned about deploys that then failed; each deploy used once."""
    with ledger.store.engine.connect() as conn:
        deploys = list(
            conn.execute(
                sa_select(col(OutcomeRow.id), col(OutcomeRow.detail)).where(
                    col(OutcomeRow.repo_id) == ledger.repo_id,
                    col(OutcomeRow.outcome).in_(sorted(DEPLOY_FAILURES)),
                )
            )
        )
        if not deploys:
            return []
        used: set[int] = set()
        for (detail,) in conn.execute(
            sa_select(col(OutcomeRow.detail)).where(
                col(OutcomeRow.repo_id) == ledger.repo_id, col(OutcomeRow.subject_kind) == "rule"
            )
        ):
            if isinstance(detail, dict) and isinstance(detail.get("from_deploy"), int):
                used.add(int(detail["from_deploy"]))
    changes: list[ThresholdChange] = []
    for outcome_id, detail in sorted(deploys, key=lambda r: int(r[0])):
        if int(outcome_id) in used or not isinstance(detail, dict):
            continue
        rules = detail.get("rules")
        if not isinstance(rules, list):
            continue
        for rule in sorted({str(r) for r in rules if str(r).strip()}):
            changes.append(ledger.apply_feedback(rule, True, at=at, detail={"from_deploy": int(outcome_id)}))
    return changes
