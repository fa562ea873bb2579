"""A/B tests and deploy-driven threshold changes, on both store backends."""

from __future__ import annotations

import random
from typing import Any

import pytest

from empathy.core.agents.adaptation import (
    ABReport,
    Experiment,
    adapt_from_deploys,
    assign_arm,
    prob_b_beats_a,
    record_ab_feedback,
    unit_key,
)
from empathy.core.store.store import Store
from empathy.core.trust import TrustLedger

T0 = 1_700_000_000
DAY = 86_400


@pytest.fixture
def ledger(store: Store) -> TrustLedger:
    row = store.repository("k", "/p")
    assert row.id is not None
    return TrustLedger(store, row.id, clock=lambda: float(T0))


def test_prob_b_beats_a_against_hand_computed_values() -> None:
    # A ~ Beta(1,1), B ~ Beta(2,1): P(B > A) = integral of x * 2x dx over [0, 1] = 2/3.
    assert prob_b_beats_a(1, 1, 2, 1) == pytest.approx(2 / 3)
    # Identical posteriors: one half by symmetry.
    assert prob_b_beats_a(5, 3, 5, 3) == pytest.approx(0.5)
    # A ~ Beta(2,1), B ~ Beta(1,1): the complement of the first case.
    assert prob_b_beats_a(2, 1, 1, 1) == pytest.approx(1 / 3)


def test_prob_b_beats_a_agrees_with_sampling() -> None:
    rng = random.Random(7)
    draws = 200_000
    wins = sum(rng.betavariate(13, 9) > rng.betavariate(8, 14) for _ in range(draws))
    assert prob_b_beats_a(8, 14, 13, 9) == pytest.approx(wins / draws, abs=0.005)


def test_assignment_is_stable_and_uses_both_arms_over_time() -> None:
    exp = Experiment("ranking", ("value", "severity"))
    units = [unit_key(exp, "dev@example.com", T0 + d * DAY) for d in range(60)]
    arms = [assign_arm(exp, u) for u in units]
    assert arms == [assign_arm(exp, u) for u in units]  # a hash: same unit, same arm
    assert 15 <= arms.count("value") <= 45  # both arms over two months of days
    # Within one day the unit (and so the arm) does not change.
    assert unit_key(exp, "dev@example.com", T0) == unit_key(exp, "dev@example.com", T0 - (T0 % DAY) + DAY - 1)


def simulate(ledger: TrustLedger, exp: Experiment, rates: dict[str, float], days: int, seed: int) -> None:
    rng = random.Random(seed)
    for day in range(days):
        at = T0 + day * DAY
        arm = assign_arm(exp, unit_key(exp, "dev@example.com", at))
        for _ in range(3):
            useful = rng.random() < rates[arm]
            got, _ = record_ab_feedback(ledger, exp, "hotspot", useful, "dev@example.com", at=at)
            assert got == arm


def test_ab_report_finds_the_known_better_arm(ledger: TrustLedger) -> None:
    exp = Experiment("ranking", ("value", "severity"), min_n=20)
    simulate(ledger, exp, {"value": 0.35, "severity": 0.75}, days=60, seed=1)
    report = ABReport.from_ledger(ledger, exp)
    by_arm = {a.arm: a for a in report.arms}
    assert by_arm["value"].n + by_arm["severity"].n == 180
    assert by_arm["severity"].rate is not None and by_arm["value"].rate is not None
    assert by_arm["severity"].rate > by_arm["value"].rate
    assert report.winner == "severity"
    assert report.prob_second_better > 0.95
    assert report.to_dict()["arms"][0]["n"] == by_arm["value"].n


def test_ab_report_names_no_winner_for_equal_arms_or_thin_data(ledger: TrustLedger) -> None:
    exp = Experiment("ranking", ("value", "severity"), min_n=20)
    simulate(ledger, exp, {"value": 0.5, "severity": 0.5}, days=4, seed=3)
    thin = ABReport.from_ledger(ledger, exp)
    assert thin.winner is None and "outcomes needed" in thin.reason
    simulate(ledger, exp, {"value": 0.5, "severity": 0.5}, days=80, seed=4)
    even = ABReport.from_ledger(ledger, exp)
    assert even.winner is None
    assert 0.05 < even.prob_second_better < 0.95


def test_ab_feedback_also_moves_the_threshold(ledger: TrustLedger) -> None:
    exp = Experiment("ranking", ("value", "severity"))
    _, change = record_ab_feedback(ledger, exp, "hotspot", True, "dev@example.com", at=T0)
    assert change.new == pytest.approx(change.old - ledger.step)
    assert ledger.threshold("hotspot") == pytest.approx(change.new)


def test_failed_deploy_lowers_the_warning_rules_thresholds_once(ledger: TrustLedger) -> None:
    subject = ledger.repo_subject
    ledger.record("repo", subject, "deploy_failure", at=T0, detail={"rules": ["hotspot", "missing-partner"]})
    ledger.record("repo", subject, "deploy_success", at=T0, detail={"rules": ["fix-forecast"]})
    ledger.record("repo", subject, "rollback", at=T0, detail={"rules": ["hotspot"]})
    changes = adapt_from_deploys(ledger, at=T0)
    moved: dict[str, Any] = {}
    for c in changes:
        moved.setdefault(c.rule, []).append(c.new)
    assert sorted(moved) == ["hotspot", "missing-partner"]  # a deploy that held moves nothing
    assert len(moved["hotspot"]) == 2  # the failure and the rollback
    assert ledger.threshold("hotspot") == pytest.approx(ledger.default_threshold - 2 * ledger.step)
    assert ledger.threshold("fix-forecast") == pytest.approx(ledger.default_threshold)
    assert adapt_from_deploys(ledger, at=T0) == []  # each deploy is used once


def test_experiment_validation() -> None:
    with pytest.raises(ValueError, match="two different"):
        Experiment("x", ("a", "a"))
    with pytest.raises(ValueError, match="unit"):
        Experiment("x", ("a", "b"), unit="hour")
    with pytest.raises(ValueError, match="two names"):
        Experiment.from_settings({"arms": "value"})
