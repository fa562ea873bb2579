"""The trust ledger on both backends: decayed Beta estimates, thresholds, events, level policy."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlmodel import col, select

from empathy.core.model import Event
from empathy.core.store.db import make_engine, migrate
from empathy.core.store.store import Store
from empathy.core.store.tables import OutcomeRow
from empathy.core.trust import (
    FAILURE_OUTCOMES,
    SUCCESS_OUTCOMES,
    THRESHOLD_EVENT,
    TrustLedger,
    beta_quantile,
)

T0 = 1_700_000_000  # a fixed "now" (2023-11-14), so decay is exact
DAY = 86_400
HALF_LIFE = 90 * DAY


@pytest.fixture
def repo_id(store: Store) -> int:
    row = store.repository("k", "/p")
    assert row.id is not None
    return row.id


def ledger(store: Store, repo_id: int, **kw: Any) -> TrustLedger:
    kw.setdefault("clock", lambda: float(T0))
    return TrustLedger(store, repo_id, **kw)


# -- estimates ------------------------------------------------------------------
def test_no_outcomes_gives_the_prior(store: Store, repo_id: int) -> None:
    est = ledger(store, repo_id).estimate("team", "core")
    assert (est.alpha, est.beta, est.mean) == (1.0, 1.0, 0.5)
    assert (est.effective_n, est.raw_n, est.last_at, est.as_of) == (0.0, 0, None, T0)
    assert est.lower == pytest.approx(0.05)  # Beta(1, 1) is uniform: its 5th percentile is 0.05


def test_decayed_beta_by_hand(store: Store, repo_id: int) -> None:
    """One success now, one failure exactly one half-life ago: alpha = 1 + 1, beta = 1 + 0.5."""
    trust = ledger(store, repo_id)
    trust.record("service", "api", "deploy_failure", at=T0 - HALF_LIFE)
    trust.record("service", "api", "deploy_success", at=T0)
    est = trust.estimate("service", "api", now=T0)
    assert est.alpha == pytest.approx(2.0)
    assert est.beta == pytest.approx(1.5)
    assert est.mean == pytest.approx(2.0 / 3.5)
    assert est.effective_n == pytest.approx(1.5)
    assert est.raw_n == 2
    assert est.last_at == T0
    assert 0.0 <= est.lower < est.mean
    assert est.lower == pytest.approx(beta_quantile(0.05, 2.0, 1.5))

    # One more half-life later everything counts half as much again.
    later = trust.estimate("service", "api", now=T0 + HALF_LIFE)
    assert later.alpha == pytest.approx(1.5)
    assert later.beta == pytest.approx(1.25)
    assert later.effective_n == pytest.approx(0.75)
    assert later.raw_n == 2


def test_half_life_and_prior_are_configurable(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id, half_life_days=10.0, prior=(2.0, 3.0))
    trust.record("team", "core", "useful", at=T0 - 20 * DAY)  # two half-lives: 0.25
    est = trust.estimate("team", "core")
    assert (est.alpha, est.beta) == (pytest.approx(2.25), pytest.approx(3.0))


def test_estimate_ignores_outcomes_after_now(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    trust.record("team", "core", "acted", at=T0)
    trust.record("team", "core", "dismissed", at=T0 + DAY)
    before = trust.estimate("team", "core", now=T0)
    assert (before.alpha, before.beta, before.raw_n, before.last_at) == (2.0, 1.0, 1, T0)


def test_record_returns_the_estimate_right_after_the_outcome(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    est = trust.record("team", "core", "useful", at=T0 - HALF_LIFE)
    assert est.as_of == T0 - HALF_LIFE and est.alpha == pytest.approx(2.0)
    now = trust.record("team", "core", "useful")  # default time: the clock
    assert now.as_of == T0 and now.alpha == pytest.approx(1.0 + 0.5 + 1.0)


def test_every_outcome_kind_counts_the_right_way(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    for outcome in sorted(SUCCESS_OUTCOMES):
        trust.record("rule", "r", outcome)
    for outcome in sorted(FAILURE_OUTCOMES - {"rollback"}):
        trust.record("rule", "r", outcome)
    est = trust.estimate("rule", "r")
    assert est.alpha == pytest.approx(1.0 + len(SUCCESS_OUTCOMES))
    assert est.beta == pytest.approx(1.0 + len(FAILURE_OUTCOMES) - 1)


def test_rollback_counts_double_by_default(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    assert trust.record("service", "a", "rollback").beta == pytest.approx(3.0)
    assert trust.record("service", "b", "deploy_failure").beta == pytest.approx(2.0)
    assert trust.record("service", "c", "rollback", weight=0.5).beta == pytest.approx(2.0)
    est = trust.estimate("service", "a")
    assert (est.effective_n, est.raw_n) == (pytest.approx(2.0), 1)
    trust.record("service", "a", "rollback", detail={"deploy": "v1.2"})
    with store.session() as s:
        rows = s.exec(select(OutcomeRow).where(OutcomeRow.subject == "a").order_by(col(OutcomeRow.id))).all()
    # The stored weight is the one that counts; the detail travels with it.
    assert [(r.outcome, r.success, r.weight, r.detail) for r in rows] == [
        ("rollback", False, 2.0, {}),
        ("rollback", False, 2.0, {"deploy": "v1.2"}),
    ]
    # The multiplier is policy, and can be switched off.
    plain = ledger(store, repo_id, outcome_weights={})
    assert plain.record("service", "d", "rollback").beta == pytest.approx(2.0)


def test_unknown_outcome_is_a_clear_error_and_stores_nothing(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    with pytest.raises(ValueError, match=r"unknown outcome 'meh'; successes are acted, deploy_success, useful"):
        trust.record("rule", "r", "meh")
    with pytest.raises(ValueError, match=r"unknown subject kind 'person'"):
        trust.record("person", "alice", "useful")
    with pytest.raises(ValueError, match="weight must be a positive number"):
        trust.record("rule", "r", "useful", weight=0.0)
    with pytest.raises(ValueError, match="needs a subject"):
        trust.record("rule", "", "useful")
    with pytest.raises(ValueError, match="unknown outcome 'oops'"):
        ledger(store, repo_id, outcome_weights={"oops": 2.0})
    assert trust.estimates() == []


def test_estimates_lists_subjects_of_this_repository(store: Store, repo_id: int) -> None:
    other = store.repository("other", "/o").id
    assert other is not None
    trust = ledger(store, repo_id)
    trust.record("team", "web", "useful")
    trust.record("rule", "hotspot", "dismissed")
    trust.record("team", "core", "acted")
    trust.record("team", "core", "acted")
    ledger(store, other).record("team", "core", "dismissed")

    listed = trust.estimates()
    assert [(e.subject_kind, e.subject, e.raw_n) for e in listed] == [
        ("rule", "hotspot", 1),
        ("team", "core", 2),
        ("team", "web", 1),
    ]
    assert [e.subject for e in trust.estimates("team")] == ["core", "web"]
    assert trust.estimates("team")[0] == trust.estimate("team", "core")
    with pytest.raises(ValueError, match="unknown subject kind"):
        trust.estimates("people")


def test_history_gives_the_estimate_at_each_period_end(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    week = 7 * DAY
    trust.record("team", "core", "useful", at=T0 - 2 * week - DAY)  # before the oldest bucket end
    trust.record("team", "core", "dismissed", at=T0 - week - DAY)  # in the second bucket
    trust.record("team", "core", "acted", at=T0 - DAY)  # in the last
    trend = trust.history("team", "core", 3)
    assert [e.as_of for e in trend] == [T0 - 2 * week, T0 - week, T0]
    assert [e.raw_n for e in trend] == [1, 2, 3]
    assert trend[-1] == trust.estimate("team", "core")
    assert trend[0].alpha == pytest.approx(1.0 + 0.5 ** (DAY / HALF_LIFE))
    assert trend[0].beta == 1.0

    months = trust.history("team", "core", 2, period="month")
    assert [e.as_of for e in months] == [T0 - 30 * DAY, T0]
    with pytest.raises(ValueError, match="buckets must be at least 1"):
        trust.history("team", "core", 0)


def test_lower_bound_is_below_the_mean_and_tightens_with_evidence(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    lowers = []
    for i in range(20):
        est = trust.record("team", "core", "useful" if i % 4 else "dismissed")
        assert 0.0 <= est.lower < est.mean <= 1.0
        lowers.append(est.lower)
    # With the same 3:1 ratio, more evidence brings the bound closer to the mean.
    assert lowers[-1] > lowers[3]


@pytest.mark.parametrize(("a", "b"), [(1.0, 1.0), (2.0, 1.5), (20.0, 1.0), (0.3, 7.5), (400.5, 120.25)])
def test_beta_quantile_is_exact(a: float, b: float) -> None:
    for p in (0.01, 0.05, 0.5, 0.95):
        q = beta_quantile(p, a, b)
        if b == 1.0:
            assert q == pytest.approx(p ** (1.0 / a), abs=1e-10)  # closed form for Beta(a, 1)
        stats = pytest.importorskip("scipy.stats")
        assert q == pytest.approx(float(stats.beta.ppf(p, a, b)), abs=1e-9)
    with pytest.raises(ValueError):
        beta_quantile(1.5, a, b)


# -- thresholds ------------------------------------------------------------------
def test_feedback_moves_the_threshold_within_bounds_and_persists(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    assert trust.threshold("hotspot") == 0.5
    change = trust.apply_feedback("hotspot", useful=True)
    assert (change.old, change.new, change.direction) == (0.5, 0.45, "down")
    assert trust.apply_feedback("hotspot", useful=False).new == 0.5

    for _ in range(10):
        last = trust.apply_feedback("hotspot", useful=True)
    assert trust.threshold("hotspot") == 0.2 and not last.changed and last.direction == "none"
    for _ in range(20):
        trust.apply_feedback("coupling", useful=False)
    assert trust.threshold("coupling") == 0.9

    again = ledger(store, repo_id)  # a later process sees the same thresholds
    assert again.threshold("hotspot") == 0.2
    assert again.thresholds() == {"hotspot": 0.2, "coupling": 0.9}
    other = store.repository("other", "/o").id
    assert other is not None
    assert ledger(store, other).threshold("hotspot") == 0.5

    # Each piece of feedback is also an outcome of the rule.
    est = again.estimate("rule", "hotspot")
    assert (est.raw_n, est.alpha, est.beta) == (12, 12.0, 2.0)


def test_threshold_bounds_and_step_are_configurable(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id, default_threshold=0.6, threshold_bounds=(0.4, 0.7), step=0.25)
    assert trust.threshold("r") == 0.6
    assert trust.apply_feedback("r", useful=False).new == 0.7
    assert trust.apply_feedback("r", useful=True).new == pytest.approx(0.45)
    assert trust.apply_feedback("r", useful=True).new == 0.4
    with pytest.raises(ValueError, match="low <= default <= high"):
        ledger(store, repo_id, default_threshold=0.1)


def test_should_surface_compares_confidence_with_the_threshold(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    assert trust.should_surface("r", 0.5) and not trust.should_surface("r", 0.49)
    trust.apply_feedback("r", useful=True)
    assert trust.should_surface("r", 0.45) and not trust.should_surface("r", 0.44)


def test_crossing_a_mark_emits_one_event(store: Store, repo_id: int) -> None:
    seen: list[Event] = []
    trust = ledger(store, repo_id, emit=seen.append)

    first = trust.apply_feedback("hotspot", useful=True, at=T0 + 1)  # 0.5 -> 0.45: below the 0.5 mark
    assert first.crossed == (0.5,)
    assert len(seen) == 1 and first.events == (seen[0],)
    event = seen[0]
    assert event.type == THRESHOLD_EVENT
    assert event.timestamp == T0 + 1
    assert event.data == {
        "repo_id": repo_id,
        "rule": "hotspot",
        "mark": 0.5,
        "direction": "down",
        "old": 0.5,
        "new": 0.45,
        "feedback": "useful",
    }

    for _ in range(3):  # 0.40, 0.35, 0.30: still at or above 0.3, no crossing
        assert trust.apply_feedback("hotspot", useful=True).crossed == ()
    assert len(seen) == 1
    assert trust.apply_feedback("hotspot", useful=True).crossed == (0.3,)  # 0.25
    assert trust.apply_feedback("hotspot", useful=True).crossed == ()  # 0.20
    assert trust.apply_feedback("hotspot", useful=True).crossed == ()  # stays at the floor
    assert trust.apply_feedback("hotspot", useful=False).crossed == ()  # 0.25
    back = trust.apply_feedback("hotspot", useful=False)  # 0.30: reaches the mark again
    assert back.crossed == (0.3,)
    assert [(e.data["mark"], e.data["direction"]) for e in seen] == [(0.5, "down"), (0.3, "down"), (0.3, "up")]


def test_a_big_step_crosses_several_marks_in_order(store: Store, repo_id: int) -> None:
    seen: list[Event] = []
    trust = ledger(store, repo_id, step=0.5, threshold_bounds=(0.0, 1.0), emit=seen.append)
    assert trust.apply_feedback("r", useful=False).crossed == (0.7,)  # 0.5 -> 1.0
    assert trust.apply_feedback("r", useful=True).crossed == (0.7,)  # 1.0 -> 0.5, still at the 0.5 mark
    assert trust.apply_feedback("r", useful=True).crossed == (0.5, 0.3)  # 0.5 -> 0.0
    assert [e.data["mark"] for e in seen] == [0.7, 0.7, 0.5, 0.3]


def test_crossings_are_reported_without_an_emitter(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id, marks=(0.45, 0.48))
    change = trust.apply_feedback("r", useful=True)  # 0.5 -> 0.45: below 0.48, at (not below) 0.45
    assert change.crossed == (0.48,) and len(change.events) == 1


# -- level policy -----------------------------------------------------------------
def test_new_users_see_forecasts_but_not_systemic_advice(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    assert all(trust.level_allowed(level) for level in (1, 2, 3, 4))
    assert not trust.level_allowed(5)
    for bad in (0, 6):
        with pytest.raises(ValueError, match="levels are 1 to 5"):
            trust.level_allowed(bad)


def test_a_good_record_unlocks_systemic_advice(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    for _ in range(4):
        trust.record("repo", trust.repo_subject, "acted")
    assert not trust.level_allowed(5)  # mean is high but 4 outcomes are too few
    trust.record("repo", "k", "acted")  # the repo subject is the repository key
    est = trust.repo_estimate()
    assert est.effective_n == pytest.approx(5.0) and est.mean >= 0.5
    assert trust.level_allowed(4) and trust.level_allowed(5)


def test_a_bad_record_turns_forecasts_off_until_it_fades(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    for _ in range(4):
        trust.record("repo", "k", "dismissed")
    assert trust.level_allowed(4)  # too little feedback yet to switch forecasts off
    trust.record("repo", "k", "dismissed")
    assert trust.repo_estimate().lower < 0.3
    assert not trust.level_allowed(4) and not trust.level_allowed(5)
    assert all(trust.level_allowed(level) for level in (1, 2, 3))
    # A half-life later the five dismissals weigh 2.5: too little to judge, forecasts return.
    assert trust.level_allowed(4, now=T0 + HALF_LIFE)


def test_mostly_useful_forecasts_stay_on(store: Store, repo_id: int) -> None:
    trust = ledger(store, repo_id)
    for i in range(10):
        trust.record("repo", "k", "dismissed" if i % 3 == 0 else "acted")  # 6 of 10 acted on
    est = trust.repo_estimate()
    assert est.lower >= 0.3 and math.isclose(est.effective_n, 10.0)
    assert trust.level_allowed(4) and trust.level_allowed(5)


# -- schema -------------------------------------------------------------------------
def test_migration_0003_downgrades_and_upgrades(store_url: str) -> None:
    from alembic import command

    from empathy.core.store.db import _alembic_config

    engine = make_engine(store_url)
    try:
        migrate(engine)
        assert {"trust_outcome", "trust_threshold"} <= set(inspect(engine).get_table_names())
        cfg = _alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        assert not {"trust_outcome", "trust_threshold"} & set(inspect(engine).get_table_names())
        migrate(engine)
        assert {"trust_outcome", "trust_threshold"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_undo_restores_a_clipped_threshold_and_announces_the_reversal(store: Store, repo_id: int) -> None:
    """At the floor a step changes nothing: undo restores what the feedback found, not a blind step."""
    seen: list[Event] = []
    trust = ledger(store, repo_id, emit=seen.append)
    for _ in range(6):  # 0.50 -> 0.20, the floor
        trust.feedback("hotspot", useful=True)
    trust.feedback("hotspot", useful=True)  # at the floor: 0.20 -> 0.20
    undone = trust.undo_feedback()
    assert undone is not None and undone.change is not None
    assert (undone.rule, undone.useful, undone.change.old, undone.change.new) == ("hotspot", True, 0.2, 0.2)
    assert trust.repo_estimate().raw_n == 6 and trust.estimate("rule", "hotspot").raw_n == 6
    seen.clear()
    for expected in (0.25, 0.3):
        step = trust.undo_feedback("hotspot")
        assert step is not None and step.change is not None and step.change.new == expected
    crossings = [(e.data["mark"], e.data["direction"], e.data["feedback"]) for e in seen if e.type == THRESHOLD_EVENT]
    assert crossings == [(0.3, "up", "undone")]
    assert trust.undo_feedback("fix-prone") is None  # nothing on that rule


def test_undo_of_feedback_recorded_before_it_was_undoable_steps_back(store: Store, repo_id: int) -> None:
    """Rows written by an older version carry no old threshold: undo moves one step the other way."""
    trust = ledger(store, repo_id)
    trust.feedback("hotspot", useful=False)  # 0.55
    with store.session() as s:
        row = s.exec(select(OutcomeRow).where(OutcomeRow.subject_kind == "rule")).one()
        row.detail = {"surface": "cli"}
        s.add(row)
        s.commit()
    undone = trust.undo_feedback()
    assert undone is not None and undone.change is not None
    assert (undone.change.old, undone.change.new, undone.surface) == (0.55, 0.5, "cli")
    assert trust.repo_estimate().raw_n == 0 and trust.thresholds() == {"hotspot": 0.5}
