"""Backtest metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from empathy.core.predict.metrics import (
    brier_skill,
    expected_calibration_error,
    precision_at,
    touch_at,
    touch_at_loc,
)

RANKED = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
LABELS = {1: 3, 3: 1, 7: 2, 10: 4}  # 10 fix touches in all


def test_touch_at_shares() -> None:
    assert touch_at(RANKED, LABELS, 0.10) == pytest.approx(3 / 10)  # top 1 file
    assert touch_at(RANKED, LABELS, 0.20) == pytest.approx(3 / 10)  # files 1, 2
    assert touch_at(RANKED, LABELS, 0.30) == pytest.approx(4 / 10)  # files 1-3
    assert touch_at(list(reversed(RANKED)), LABELS, 0.20) == pytest.approx(4 / 10)
    assert math.isnan(touch_at(RANKED, {}, 0.2))


def test_touch_at_loc_stops_at_the_line_budget() -> None:
    loc = {f: 10 for f in RANKED} | {1: 50}  # 140 lines; 20% = 28 lines
    # file 1 (50 lines) alone exceeds the budget: nothing fits before it
    assert touch_at_loc(RANKED, LABELS, loc, 0.20) == 0.0
    small_first = [2, 3, 4, 1, 5, 6, 7, 8, 9, 10]
    # files 2 and 3 (20 lines) fit, file 4 would make 30 > 28
    assert touch_at_loc(small_first, LABELS, loc, 0.20) == pytest.approx(1 / 10)


def test_precision_at_k() -> None:
    assert precision_at(RANKED, LABELS, 10) == pytest.approx(0.4)
    assert precision_at([1, 3, 7], LABELS, 10) == pytest.approx(1.0)
    assert precision_at([2, 4], LABELS, 2) == 0.0


def test_expected_calibration_error_by_hand() -> None:
    probs = [0.05, 0.05, 0.95, 0.95, 0.55]
    outcomes = [0, 1, 1, 1, 0]
    # bins: [0.0,0.1): mean p 0.05 vs rate 0.5 (2/5 of samples) -> 0.45 * 0.4
    #       [0.9,1.0]: 0.95 vs 1.0 (2/5) -> 0.05 * 0.4 ; [0.5,0.6): 0.55 vs 0 (1/5) -> 0.55 * 0.2
    expected = 0.45 * 0.4 + 0.05 * 0.4 + 0.55 * 0.2
    assert expected_calibration_error(probs, outcomes) == pytest.approx(expected)
    assert expected_calibration_error([1.0, 0.0], [1, 0]) == 0.0


def test_brier_skill_by_hand() -> None:
    outcomes = [1, 0, 0, 1]
    perfect = brier_skill([1.0, 0.0, 0.0, 1.0], outcomes, 0.5)
    assert perfect == pytest.approx(1.0)
    assert brier_skill([0.5] * 4, outcomes, 0.5) == pytest.approx(0.0)
    # model 0.75/0.25: brier 0.0625 vs reference 0.25 -> skill 0.75
    assert brier_skill([0.75, 0.25, 0.25, 0.75], outcomes, 0.5) == pytest.approx(0.75)
    assert brier_skill([0.0, 1.0, 1.0, 0.0], outcomes, 0.5) < 0
