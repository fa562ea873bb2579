"""Partners: "a file that usually changes with the ones you changed is untouched".

One implementation for every surface: the proactive level (findings for a
change), the change-risk signal, the gate and the language server (unsaved
buffers) all ask :meth:`empathy.core.workspace.Workspace.partners` or
``context.partners(...)``, and the finding's words are built here once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from empathy.core.model import Finding, Level, Location, Pattern, RiskFactor, Severity

__all__ = ["MissingPartner", "missing_partner_factor", "missing_partner_finding", "missing_partners"]


@dataclass(frozen=True)
class MissingPartner:
    """A changed file whose usual partner (by a coupling pattern) the change leaves untouched."""

    changed: str
    partner: str
    share: float  # share of the changed file's commits that also changed the partner
    revs_changed: int
    shared_revs: int
    pattern: Pattern


def missing_partners(patterns: list[Pattern], changed: Collection[str], min_share: float) -> Iterator[MissingPartner]:
    """The absent expected changes of a change, from the coupling patterns' conditional frequencies."""
    for p in patterns:
        if p.kind != "coupling" or len(p.subjects) != 2:
            continue
        a, b = p.subjects
        ev = p.evidence
        for mine, other, share, revs in (
            (a, b, ev.get("b_given_a"), ev.get("revs_a")),
            (b, a, ev.get("a_given_b"), ev.get("revs_b")),
        ):
            if mine in changed and other not in changed and share is not None and share >= min_share:
                yield MissingPartner(mine, other, float(share), int(revs or 0), int(ev.get("shared_revs", 0)), p)


def missing_partner_finding(m: MissingPartner, on: str | None = None, source: str = "proactive") -> Finding:
    """The ``missing-partner`` finding, on the partner (default) or on ``on`` (the editor shows it on both).

The words are the same wherever it is shown, so the CLI, the gate and the
editor can be compared line by line.
"""
    where = m.partner if on is None else on
    reason = (
        f"you changed {m.changed}; {m.partner} changed with it in {m.shared_revs} of {m.revs_changed} "
        "commits and is untouched"
    )
    action = f"Check whether {m.partner} needs the matching change (open it next to {m.changed})"
    return Finding(
        code="missing-partner",
        level=Level.PROACTIVE,
        severity=Severity.WARNING,
        location=Location(where),
        reason=reason,
        action=action,
        source=source,
        evidence={
            "changed": m.changed,
            "partner": m.partner,
            "shared_revs": m.shared_revs,
            "revs_changed": m.revs_changed,
            "share": m.share,
            "degree": m.pattern.evidence.get("degree"),
        },
        score=m.share,
    )


def missing_partner_factor(m: MissingPartner, source: str = "change-signals") -> RiskFactor:
    """The ``partner-missing`` reason a change's risk gives (the gate and ``empathy risk``)."""
    return RiskFactor(
        name="partner-missing",
        score=round(m.share, 4),
        reason=f"{m.partner} changed with {m.changed} in {m.share:.0%} of its commits and is untouched",
        source=source,
        evidence={"changed": m.changed, "partner": m.partner, "shared_revs": m.shared_revs},
        paths=[m.partner],
    )
