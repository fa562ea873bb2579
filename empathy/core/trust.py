"""Trust as a track record: decayed Beta estimates, feedback-moved thresholds, level policy.

Every outcome (a warning found useful or dismissed, a deploy that succeeded,
failed or was rolled back) is stored raw in ``trust_outcome``.  An estimate
folds them into a Beta distribution over the subject's success rate:

    alpha = prior_alpha + sum(weight * 0.5 ** (age / half_life))   over successes
    beta  = prior_beta  + sum(weight * 0.5 ** (age / half_life))   over failures

Decay makes the ledger forgiving (a bad quarter fades) and current (an old
good record does not excuse recent failures).  Decisions never use the mean
alone: :class:`TrustEstimate` also carries the decayed sample size and a
conservative lower bound, so "0.9 from two outcomes" and "0.9 from two
hundred" are told apart.

Feedback on a rule also moves that rule's confidence threshold a step at a
time within bounds; moving across one of a few configured marks is an
``Event`` (``trust.threshold_reached``) handed to an optional ``emit``
callable, which the host wires to the ``handle_event`` hook.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from empathy.core.model import Event, Finding
from empathy.core.store.store import Store
from empathy.core.store.tables import OutcomeRow, ThresholdRow

__all__ = [
    "ALWAYS_ALLOWED_LEVELS",
    "DEFAULT_OUTCOME_WEIGHTS",
    "FAILURE_OUTCOMES",
    "FORECAST_MIN_LOWER",
    "GATED_LEVELS",
    "LEVEL_EVENT",
    "LOWER_QUANTILE",
    "MIN_EVIDENCE_N",
    "SUBJECT_KINDS",
    "SUCCESS_OUTCOMES",
    "SYSTEMIC_MIN_MEAN",
    "THRESHOLD_EVENT",
    "ThresholdChange",
    "TrustEstimate",
    "TrustGate",
    "TrustLedger",
    "UndoneFeedback",
    "beta_quantile",
    "fold_outcomes",
]

#: What a track record can be about.  ``repo`` outcomes use the repository
#: key as subject (see :attr:`TrustLedger.repo_subject`); ``level`` outcomes
#: use the level number as text.
SUBJECT_KINDS = frozenset({"repo", "team", "service", "rule", "level"})

#: Outcomes that count for the subject (the warning helped, the deploy held).
SUCCESS_OUTCOMES = frozenset({"useful", "acted", "deploy_success"})
#: Outcomes that count against it.
FAILURE_OUTCOMES = frozenset({"not_useful", "dismissed", "deploy_failure", "rollback"})

#: Multipliers applied to the caller's weight when an outcome is recorded.  A
#: rollback counts double: it is a failure that reached users and cost a
#: second change to undo, so it should dent trust more than a deploy caught
#: failing.  The multiplied weight is what is stored, so changing this policy
#: later does not rewrite history.
DEFAULT_OUTCOME_WEIGHTS: Mapping[str, float] = {"rollback": 2.0}

#: The lower bound reported with each estimate is this quantile of the Beta
#: posterior, computed exactly (:func:`beta_quantile`).  A normal
#: approximation was not used: it is optimistic for skewed Betas (a short,
#: mostly-good record, e.g. Beta(20, 1) gives 0.877 instead of 0.861), which
#: is exactly where a conservative bound matters.  Wilson's interval was not
#: used because it takes integer counts, while decayed weights are fractional.
LOWER_QUANTILE = 0.05

# -- level policy ---------------------------------------------------------
#: Levels 1-3 describe what the history already shows (hotspots, coupling,
#: owners); they are facts about the code, so trust never hides them.
ALWAYS_ALLOWED_LEVELS = frozenset({1, 2, 3})
#: Below this decayed sample size the ledger has "too little feedback" to
#: judge: forecasts (level 4) stay on so a new user sees them and can react,
#: and systemic advice (level 5) stays off until it has been earned.
MIN_EVIDENCE_N = 5.0
#: Forecasts (level 4) stay on while the repo's lower bound is at least this:
#: switching them off needs evidence that most of them were not wanted
#: (with 5 or more outcomes, a lower bound under 0.3 means the success rate
#: is probably well under one half).
FORECAST_MIN_LOWER = 0.3
#: Systemic advice (level 5: process and organisation changes) is the most
#: intrusive output, so it needs a record that is good on average (mean at
#: least this) *and* backed by at least ``MIN_EVIDENCE_N`` outcomes.
SYSTEMIC_MIN_MEAN = 0.5

#: The event type emitted when a rule's threshold crosses a mark.
THRESHOLD_EVENT = "trust.threshold_reached"
#: The event type emitted when the record switches a level on or off.
LEVEL_EVENT = "level.changed"
#: The levels whose visibility depends on the record.
GATED_LEVELS = (4, 5)

_DAY = 86_400.0
_PERIODS = {"week": 7 * _DAY, "month": 30 * _DAY}


@dataclass(frozen=True)
class TrustEstimate:
    """A subject's decayed Beta estimate as of ``as_of`` (unix seconds).

    ``effective_n`` is the decayed, weighted number of outcomes (``alpha +
    beta`` minus the prior); ``raw_n`` counts the outcomes recorded up to
    ``as_of`` without decay or weights; ``lower`` is the ``LOWER_QUANTILE``
    quantile of Beta(alpha, beta); ``last_at`` is the newest outcome's time.
    """

    subject_kind: str
    subject: str
    alpha: float
    beta: float
    mean: float
    lower: float
    effective_n: float
    raw_n: int
    last_at: int | None
    as_of: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ThresholdChange:
    """What one piece of feedback did to a rule's threshold.

    ``crossed`` lists the marks the threshold moved across, in the order it
    passed them; ``events`` are the events built for them (already emitted).
    """

    rule: str
    old: float
    new: float
    crossed: tuple[float, ...] = ()
    events: tuple[Event, ...] = field(default=(), compare=False)

    @property
    def changed(self) -> bool:
        """False when the threshold was already at the bound it was pushed to."""
        return self.new != self.old

    @property
    def direction(self) -> Literal["up", "down", "none"]:
        return "up" if self.new > self.old else "down" if self.new < self.old else "none"


@dataclass
class UndoneFeedback:
    """One piece of feedback taken back: what it was, and what taking it back moved."""

    rule: str
    useful: bool
    #: when it had been given (unix seconds) and where (cli, editor, service; empty if unknown)
    at: int
    surface: str
    change: ThresholdChange | None = None
    estimate: TrustEstimate | None = None


class TrustLedger:
    """The track record of one repository, and the decisions that rest on it.

    ``half_life_days`` sets how fast outcomes fade; ``prior`` is the Beta
    prior (1, 1: uniform, no opinion before evidence).  Thresholds start at
    ``default_threshold``, move by ``step`` per piece of feedback and stay
    within ``threshold_bounds``.  ``emit`` receives threshold-crossing events
    after the change is committed; it must not raise (the host's
    ``call_each`` never does).  ``clock`` supplies "now" (tests pin it).
    """

    def __init__(
        self,
        store: Store,
        repo_id: int,
        half_life_days: float = 90.0,
        prior: tuple[float, float] = (1.0, 1.0),
        *,
        default_threshold: float = 0.5,
        threshold_bounds: tuple[float, float] = (0.2, 0.9),
        step: float = 0.05,
        marks: Iterable[float] = (0.3, 0.5, 0.7),
        emit: Callable[[Event], object] | None = None,
        outcome_weights: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (math.isfinite(half_life_days) and half_life_days > 0):
            raise ValueError(f"half_life_days must be a positive number, got {half_life_days}")
        if not all(math.isfinite(p) and p > 0 for p in prior):
            raise ValueError(f"the prior's alpha and beta must be positive, got {prior}")
        low, high = threshold_bounds
        if not 0.0 <= low <= default_threshold <= high <= 1.0:
            raise ValueError(
                f"need 0 <= low <= default <= high <= 1 for thresholds, got bounds {threshold_bounds}"
                f" and default {default_threshold}"
            )
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"step must be a positive number, got {step}")
        weights = dict(DEFAULT_OUTCOME_WEIGHTS if outcome_weights is None else outcome_weights)
        for name, w in weights.items():
            _check_outcome(name)
            if not (math.isfinite(w) and w > 0):
                raise ValueError(f"weight multiplier for {name!r} must be positive, got {w}")
        self.store = store
        self.repo_id = repo_id
        self.half_life_days = float(half_life_days)
        self.prior = (float(prior[0]), float(prior[1]))
        self.default_threshold = float(default_threshold)
        self.threshold_bounds = (float(low), float(high))
        self.step = float(step)
        self.marks = tuple(sorted(set(float(m) for m in marks)))
        self.emit = emit
        self.outcome_weights = weights
        self.clock = clock
        self._repo_subject: str | None = None

    # -- recording and estimating -------------------------------------------
    @property
    def repo_subject(self) -> str:
        """The subject under which repo-level outcomes are kept: the repository key."""
        if self._repo_subject is None:
            self._repo_subject = self.store.refresh_repository(self.repo_id).key
        return self._repo_subject

    def record(
        self,
        subject_kind: str,
        subject: str,
        outcome: str,
        at: float | None = None,
        weight: float = 1.0,
        detail: Mapping[str, Any] | None = None,
    ) -> TrustEstimate:
        """Store one outcome and return the subject's estimate right after it (as of ``at``).

        Success or failure follows from ``outcome``; ``weight`` is multiplied
        by the outcome's multiplier (a rollback counts double by default).
        Recording feedback on a rule here does not move its threshold; use
        :meth:`apply_feedback` for that.
        """
        when = self._when(at)
        with self.store.session() as s:
            s.add(self._outcome_row(subject_kind, subject, outcome, when, weight, detail))
            s.commit()
        return self.estimate(subject_kind, subject, now=when)

    def estimate(self, subject_kind: str, subject: str, now: float | None = None) -> TrustEstimate:
        """The decayed Beta estimate of one subject from the outcomes up to ``now``."""
        _check_kind(subject_kind)
        as_of = self._now(now)
        stmt = sa_select(col(OutcomeRow.success), col(OutcomeRow.weight), col(OutcomeRow.at)).where(
            col(OutcomeRow.repo_id) == self.repo_id,
            col(OutcomeRow.subject_kind) == subject_kind,
            col(OutcomeRow.subject) == subject,
            col(OutcomeRow.at) <= as_of,
        )
        with self.store.engine.connect() as conn:
            rows = [(bool(ok), float(w), int(t)) for ok, w, t in conn.execute(stmt)]
        return self._fold(subject_kind, subject, rows, as_of)

    def estimates(self, subject_kind: str | None = None, now: float | None = None) -> list[TrustEstimate]:
        """Every subject's estimate (of one kind, or all), sorted by kind and subject."""
        if subject_kind is not None:
            _check_kind(subject_kind)
        as_of = self._now(now)
        stmt = sa_select(
            col(OutcomeRow.subject_kind),
            col(OutcomeRow.subject),
            col(OutcomeRow.success),
            col(OutcomeRow.weight),
            col(OutcomeRow.at),
        ).where(col(OutcomeRow.repo_id) == self.repo_id, col(OutcomeRow.at) <= as_of)
        if subject_kind is not None:
            stmt = stmt.where(col(OutcomeRow.subject_kind) == subject_kind)
        groups: dict[tuple[str, str], list[tuple[bool, float, int]]] = {}
        with self.store.engine.connect() as conn:
            for kind, subject, ok, w, t in conn.execute(stmt):
                groups.setdefault((str(kind), str(subject)), []).append((bool(ok), float(w), int(t)))
        return [self._fold(kind, subject, rows, as_of) for (kind, subject), rows in sorted(groups.items())]

    def history(
        self,
        subject_kind: str,
        subject: str,
        buckets: int,
        period: Literal["week", "month"] = "week",
        now: float | None = None,
    ) -> list[TrustEstimate]:
        """The estimate at the end of each of the last ``buckets`` periods, oldest first.

        Periods are fixed lengths counted back from ``now`` (a month is 30
        days), so every point of the trend covers the same span and the last
        point is the current estimate.
        """
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {buckets}")
        if period not in _PERIODS:
            raise ValueError(f"period must be 'week' or 'month', got {period!r}")
        as_of = self._now(now)
        length = _PERIODS[period]
        return [self.estimate(subject_kind, subject, now=as_of - k * length) for k in range(buckets - 1, -1, -1)]

    def repo_estimate(self, now: float | None = None) -> TrustEstimate:
        """The repository's own track record (subject kind ``repo``)."""
        return self.estimate("repo", self.repo_subject, now)

    # -- thresholds -----------------------------------------------------------
    def threshold(self, rule: str) -> float:
        """The rule's current confidence threshold (the default until feedback moves it)."""
        with self.store.session() as s:
            row = s.exec(
                select(ThresholdRow).where(ThresholdRow.repo_id == self.repo_id, ThresholdRow.rule == rule)
            ).first()
        return self.default_threshold if row is None else self._clip(row.threshold)

    def thresholds(self) -> dict[str, float]:
        """Every rule whose threshold feedback has moved, with its threshold (one query)."""
        with self.store.session() as s:
            rows = s.exec(select(ThresholdRow).where(ThresholdRow.repo_id == self.repo_id)).all()
        return {row.rule: self._clip(row.threshold) for row in rows}

    def gate(self) -> TrustGate:
        """The trust rule as it stands now (thresholds and level policy read once)."""
        return TrustGate(
            default_threshold=self.default_threshold,
            thresholds=self.thresholds(),
            levels_allowed={level: self.level_allowed(level) for level in range(2, 6)},
        )

    def should_surface(self, rule: str, confidence: float) -> bool:
        """Show a finding of ``rule`` only when its confidence reaches the rule's threshold."""
        return confidence >= self.threshold(rule)

    def apply_feedback(
        self, rule: str, useful: bool, at: float | None = None, detail: Mapping[str, Any] | None = None
    ) -> ThresholdChange:
        """Record feedback on a rule and move its threshold one step.

        Useful feedback lowers the threshold (show more of this rule), not
        useful raises it (show less), clipped to the bounds.  The outcome and
        the new threshold are committed together.  Each mark crossed builds
        one ``trust.threshold_reached`` event, passed to ``emit`` after the
        commit.  A mark counts as crossed when the threshold moves from below
        it to at-or-above it, or back; so oscillating around a mark emits on
        every crossing, and moving within a band emits nothing.
        """
        when = self._when(at)
        outcome = "useful" if useful else "not_useful"
        old = new = self.default_threshold
        for attempt in range(2):
            try:
                with self.store.session() as s:
                    row = s.exec(
                        select(ThresholdRow)
                        .where(ThresholdRow.repo_id == self.repo_id, ThresholdRow.rule == rule)
                        .with_for_update()
                    ).first()
                    if row is None:
                        row = ThresholdRow(
                            repo_id=self.repo_id, rule=rule, threshold=self.default_threshold, updated_at=when
                        )
                    old = self._clip(row.threshold)
                    # Rounding keeps repeated steps landing exactly on the marks
                    # (0.55 - 0.05 is 0.5000000000000001 in binary floating point).
                    new = self._clip(round(old - self.step if useful else old + self.step, 9))
                    row.threshold, row.updated_at = new, when
                    s.add(row)
                    # what `empathy feedback --undo` needs to put the threshold back exactly
                    moved = {**(detail or {}), "threshold_old": old, "threshold_new": new}
                    s.add(self._outcome_row("rule", rule, outcome, when, 1.0, moved))
                    s.commit()
                break
            except IntegrityError:
                # Another process inserted this rule's first threshold row at the
                # same time; the retry finds (and locks) that row.
                if attempt:
                    raise
        return self._moved(rule, old, new, when, outcome)

    def _moved(self, rule: str, old: float, new: float, when: int, feedback: str) -> ThresholdChange:
        """The change of ``rule``'s threshold from ``old`` to ``new``, its crossing events emitted."""
        crossed = self._crossed(old, new)
        direction = "down" if new < old else "up"
        events = tuple(
            Event(
                type=THRESHOLD_EVENT,
                data={
                    "repo_id": self.repo_id,
                    "rule": rule,
                    "mark": mark,
                    "direction": direction,
                    "old": old,
                    "new": new,
                    "feedback": feedback,
                },
                timestamp=float(when),
            )
            for mark in crossed
        )
        if self.emit is not None:
            for event in events:
                self.emit(event)
        return ThresholdChange(rule=rule, old=old, new=new, crossed=crossed, events=events)

    def feedback(
        self, rule: str, useful: bool, at: float | None = None, detail: Mapping[str, Any] | None = None
    ) -> tuple[ThresholdChange, TrustEstimate]:
        """What every surface records when a user says a warning helped or not.

        The rule's threshold moves (:meth:`apply_feedback`), the outcome counts
        for the repository's own record, and when that switches level 4 or 5
        on or off a ``level.changed`` event goes to ``emit``.  Returns the
        threshold change and the repository's estimate after it.
        """
        when = self._when(at)
        before = {level: self.level_allowed(level, when) for level in GATED_LEVELS}
        change = self.apply_feedback(rule, useful, at=when, detail=detail)
        outcome = "useful" if useful else "not_useful"
        estimate = self.record("repo", self.repo_subject, outcome, at=when, detail={**(detail or {}), "rule": rule})
        self._announce_levels(before, estimate, rule, when)
        return change, estimate

    def _announce_levels(self, before: Mapping[int, bool], estimate: TrustEstimate, rule: str, when: int) -> None:
        """A ``level.changed`` event for each gated level that the last change switched on or off."""
        for level in GATED_LEVELS:
            allowed = self.level_allowed(level, when)
            if allowed != before[level] and self.emit is not None:
                data = {"repo_id": self.repo_id, "level": level, "allowed": allowed, "rule": rule}
                data.update(trust_mean=round(estimate.mean, 4), trust_lower=round(estimate.lower, 4))
                self.emit(Event(type=LEVEL_EVENT, data=data, timestamp=float(when)))

    def undo_feedback(self, rule: str | None = None) -> UndoneFeedback | None:
        """Take back the newest feedback (on ``rule``, or on any rule), as if it had not been given.

        Both its outcomes go (the rule's and the repository's, so the trust estimate and
        an A/B arm's count forget it too) and the threshold returns to where that feedback
        found it; when later moves make that impossible to know (feedback recorded before
        this was kept), it moves one step back. The reversal emits the same events as any
        other move. None when there is nothing to take back. Repeating it walks further back.
        """
        now = self._when(None)
        before = {level: self.level_allowed(level, now) for level in GATED_LEVELS}
        with self.store.session() as s:
            query = select(OutcomeRow).where(
                OutcomeRow.repo_id == self.repo_id,
                OutcomeRow.subject_kind == "rule",
                col(OutcomeRow.outcome).in_(["useful", "not_useful"]),
            )
            if rule is not None:
                query = query.where(OutcomeRow.subject == rule)
            last = s.exec(query.order_by(col(OutcomeRow.at).desc(), col(OutcomeRow.id).desc()).limit(1)).first()
            if last is None:
                return None
            # its twin on the repository's record: same moment, same rule, same outcome
            twins = s.exec(
                select(OutcomeRow).where(
                    OutcomeRow.repo_id == self.repo_id,
                    OutcomeRow.subject_kind == "repo",
                    OutcomeRow.outcome == last.outcome,
                    OutcomeRow.at == last.at,
                )
            ).all()
            twin = max(
                (r for r in twins if r.detail.get("rule") == last.subject), key=lambda r: r.id or 0, default=None
            )
            threshold = s.exec(
                select(ThresholdRow)
                .where(ThresholdRow.repo_id == self.repo_id, ThresholdRow.rule == last.subject)
                .with_for_update()
            ).first()
            useful = last.outcome == "useful"
            old = self._clip(threshold.threshold) if threshold is not None else self.default_threshold
            if "threshold_old" in last.detail and last.detail.get("threshold_new") == old:
                new = float(last.detail["threshold_old"])
            else:
                new = self._clip(round(old + self.step if useful else old - self.step, 9))
            if threshold is not None:
                threshold.threshold, threshold.updated_at = new, now
                s.add(threshold)
            undone = UndoneFeedback(
                rule=last.subject, useful=useful, at=last.at, surface=str(last.detail.get("surface") or "")
            )
            s.delete(last)
            if twin is not None:
                s.delete(twin)
            s.commit()
        undone.change = self._moved(undone.rule, old, new, now, "undone")
        undone.estimate = self.repo_estimate(now)
        self._announce_levels(before, undone.estimate, undone.rule, now)
        return undone

    # -- level policy -----------------------------------------------------------
    def level_allowed(self, level: int, now: float | None = None) -> bool:
        """Whether findings of an empathy level should be shown, given the repo's record.

        Levels 1-3: always.  Level 4 (forecasts): while there is too little
        feedback to judge (``effective_n < MIN_EVIDENCE_N``, so new users see
        them) or the repo's lower bound is at least ``FORECAST_MIN_LOWER``.
        Level 5 (systemic): only with ``effective_n >= MIN_EVIDENCE_N`` and a
        mean of at least ``SYSTEMIC_MIN_MEAN``.
        """
        if level in ALWAYS_ALLOWED_LEVELS:
            return True
        if level not in (4, 5):
            raise ValueError(f"empathy levels are 1 to 5, got {level}")
        est = self.repo_estimate(now)
        if level == 4:
            return est.effective_n < MIN_EVIDENCE_N or est.lower >= FORECAST_MIN_LOWER
        return est.effective_n >= MIN_EVIDENCE_N and est.mean >= SYSTEMIC_MIN_MEAN

    # -- internals --------------------------------------------------------------
    def _now(self, now: float | None) -> float:
        return float(self.clock() if now is None else now)

    def _when(self, at: float | None) -> int:
        return int(self._now(at))

    def _clip(self, value: float) -> float:
        low, high = self.threshold_bounds
        return min(high, max(low, value))

    def _crossed(self, old: float, new: float) -> tuple[float, ...]:
        # bisect_right counts the marks at or below a value: its "band".
        lo, hi = sorted((bisect.bisect_right(self.marks, old), bisect.bisect_right(self.marks, new)))
        passed = self.marks[lo:hi]
        return passed if new >= old else tuple(reversed(passed))

    def _outcome_row(
        self,
        subject_kind: str,
        subject: str,
        outcome: str,
        when: int,
        weight: float,
        detail: Mapping[str, Any] | None,
    ) -> OutcomeRow:
        _check_kind(subject_kind)
        success = _check_outcome(outcome)
        if not subject:
            raise ValueError(f"a {subject_kind} outcome needs a subject")
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"weight must be a positive number, got {weight}")
        return OutcomeRow(
            repo_id=self.repo_id,
            subject_kind=subject_kind,
            subject=subject,
            outcome=outcome,
            success=success,
            weight=weight * self.outcome_weights.get(outcome, 1.0),
            at=when,
            detail=dict(detail or {}),
        )

    def _fold(
        self, subject_kind: str, subject: str, rows: list[tuple[bool, float, int]], as_of: float
    ) -> TrustEstimate:
        return fold_outcomes(subject_kind, subject, rows, as_of, self.half_life_days, self.prior)


def fold_outcomes(
    subject_kind: str,
    subject: str,
    rows: Iterable[tuple[bool, float, int]],
    as_of: float,
    half_life_days: float,
    prior: tuple[float, float] = (1.0, 1.0),
) -> TrustEstimate:
    """The decayed Beta estimate of outcome ``rows`` (success, weight, unix time) as of ``as_of``.

    One definition for the ledger and for records it does not store (the gate's
    record inferred from release tags); rows after ``as_of`` are left out.
    """
    half_life = half_life_days * _DAY
    good = bad = 0.0
    n = 0
    last: int | None = None
    for success, weight, at in rows:
        if at > as_of:
            continue
        n += 1
        decayed = weight * 0.5 ** (max(0.0, as_of - at) / half_life)
        if success:
            good += decayed
        else:
            bad += decayed
        last = at if last is None else max(last, at)
    alpha, beta = prior[0] + good, prior[1] + bad
    return TrustEstimate(
        subject_kind=subject_kind,
        subject=subject,
        alpha=alpha,
        beta=beta,
        mean=alpha / (alpha + beta),
        lower=beta_quantile(LOWER_QUANTILE, alpha, beta),
        effective_n=good + bad,
        raw_n=n,
        last_at=last,
        as_of=as_of,
    )


def _check_kind(subject_kind: str) -> None:
    if subject_kind not in SUBJECT_KINDS:
        raise ValueError(f"unknown subject kind {subject_kind!r}; expected one of: {', '.join(sorted(SUBJECT_KINDS))}")


def _check_outcome(outcome: str) -> bool:
    """Whether ``outcome`` is a success; a clear ValueError when it is unknown."""
    if outcome in SUCCESS_OUTCOMES:
        return True
    if outcome in FAILURE_OUTCOMES:
        return False
    raise ValueError(
        f"unknown outcome {outcome!r}; successes are {', '.join(sorted(SUCCESS_OUTCOMES))}"
        f" and failures are {', '.join(sorted(FAILURE_OUTCOMES))}"
    )


# -- the Beta distribution (stdlib only: the core must not import scipy) --------
_EPS = 1e-15
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    # Converges in O(sqrt(max(a, b))) terms; the cap only guards pathological input.
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _beta_cdf(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    # The continued fraction converges fast only on this side of the mean;
    # use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) on the other.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def beta_quantile(p: float, a: float, b: float) -> float:
    """The ``p`` quantile of Beta(a, b), by bisection on the exact CDF (to about 1e-12)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if a <= 0 or b <= 0:
        raise ValueError(f"Beta parameters must be positive, got a={a}, b={b}")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if _beta_cdf(mid, a, b) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


@dataclass
class TrustGate:
    """Which findings surface: the trust rule, read from the ledger once so a lookup never touches the store.

    Level 1 (an answer to a question the user asked) always surfaces; other
    levels when the repository's record allows the level and the finding's
    value (its probability, else the evidence's confidence, else its score)
    reaches its rule's threshold.  Every surface uses this one rule
    (:meth:`TrustLedger.gate`).
    """

    default_threshold: float
    thresholds: dict[str, float] = field(default_factory=dict)
    levels_allowed: dict[int, bool] = field(default_factory=dict)

    def __call__(self, finding: Finding) -> bool:
        level = int(finding.level)
        if level == 1:
            return True
        if not self.levels_allowed.get(level, True):
            return False
        if finding.probability is not None:
            value = finding.probability
        else:
            value = float(finding.evidence.get("confidence", finding.score))
        return value >= self.thresholds.get(finding.code, self.default_threshold)
