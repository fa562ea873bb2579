"""The "usually changes with" finding and risk factor, built once from a co-change suggestion.

Suggestions come from :mod:`empathy.core.usecases.partners` (the co-change
index); only those the index warns about (``warn``: on this repository's
replayed past, a suggestion that confident was right at least 70% of the
time) become findings and risk factors.  The proactive level, the change
signals, the gate and the editor all build them here, so the words are the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection

from empathy.core.cochange import Suggestion
from empathy.core.model import Finding, Level, Location, RiskFactor, Severity

__all__ = ["Suggestion", "missing_partner_factor", "missing_partner_finding", "partner_confidence"]


def _changed_words(changed: Collection[str]) -> str:
    names = sorted(changed)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def partner_confidence(s: Suggestion) -> float:
    """The suggestion's probability relative to the calibrated warning threshold, for the trust gate.

    The threshold maps to 0.5 (the trust ledger's default rule threshold), so a
    suggestion the index warns about passes until feedback on the
    ``missing-partner`` rule raises the rule's threshold; then only the more
    confident ones still show.
    """
    threshold = s.evidence.get("warn_threshold")
    if not isinstance(threshold, int | float) or threshold <= 0:
        return 0.0
    return round(min(1.0, 0.5 * s.score / float(threshold)), 4)


def missing_partner_finding(
    s: Suggestion, changed: Collection[str], on: str | None = None, source: str = "proactive"
) -> Finding:
    """The ``missing-partner`` finding, on the untouched file (default) or on ``on`` (the editor shows both)."""
    where = s.path if on is None else on
    track = ""
    if isinstance(s.evidence.get("track_precision"), float) and s.evidence.get("track_n"):
        track = (
            f"; warnings this confident were right {s.evidence['track_precision']:.0%} of the time here "
            f"(n={s.evidence['track_n']} replayed changes)"
        )
    return Finding(
        code="missing-partner",
        level=Level.PROACTIVE,
        severity=Severity.WARNING,
        location=Location(where),
        reason=(
            f"you changed {_changed_words(changed)}; {s.path} is untouched and probably needs changing too ({s.why})"
            + track
        ),
        action=f"Open {s.path} and check whether it needs the matching change; dismiss the warning if not",
        source=source,
        evidence={
            **{k: v for k, v in s.evidence.items() if v is not None},
            "partner": s.path,
            "changed": sorted(changed)[:10],
            "probability": s.score,
            "confidence": partner_confidence(s),
        },
        score=s.score,
    )


def missing_partner_factor(s: Suggestion, changed: Collection[str], source: str = "change-signals") -> RiskFactor:
    """The ``partner-missing`` reason a change's risk gives (the gate and ``empathy risk``)."""
    return RiskFactor(
        name="partner-missing",
        score=round(s.score, 4),
        reason=f"{s.path} is untouched and probably needs changing with {_changed_words(changed)} ({s.why})"
        + (
            f"; right {s.evidence['track_precision']:.0%} of the time here (n={s.evidence['track_n']})"
            if isinstance(s.evidence.get("track_precision"), float)
            else ""
        ),
        source=source,
        evidence={k: v for k, v in s.evidence.items() if v is not None and not isinstance(v, list | dict)},
        paths=[s.path],
    )
