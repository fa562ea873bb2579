"""Findings of a whole repository, computed once per HEAD and settings and looked up per file.

Asking the level plugins about one file costs 0.1-0.3 s on a large
repository; an editor opening a file wants its diagnostics in a few
milliseconds.  So the server asks once for every file (in the background,
after ingestion and mining) and keeps the answer indexed by path.  What
depends on unsaved buffers, "B usually changes with A and is untouched",
is computed at lookup time from the coupling patterns already in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from empathy.core.ignore import IgnoreMap
from empathy.core.model import Finding, Level, Pattern
from empathy.core.partners import missing_partner_finding, missing_partners
from empathy.core.trust import TrustGate

__all__ = ["FindingsIndex"]

_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class FindingsIndex:
    """Every finding of one repository state, by path, plus what lookups need to add partners."""

    head: str
    by_path: dict[str, list[Finding]] = field(default_factory=dict)
    couplings: list[Pattern] = field(default_factory=list)
    partner_min_share: float = 0.5
    gate: TrustGate | None = None
    generation: int = 0
    #: path -> the file's forecast (probability, rank, drivers), for the hover
    forecasts: dict[str, dict[str, object]] = field(default_factory=dict)
    #: how many pieces of feedback the gate has seen (a newer count means: re-gate)
    trust_version: int = 0

    @classmethod
    def build(
        cls,
        head: str,
        findings: Iterable[Finding],
        patterns: Iterable[Pattern],
        partner_min_share: float,
        gate: TrustGate | None,
        generation: int,
        forecasts: dict[str, dict[str, object]] | None = None,
    ) -> FindingsIndex:
        by_path: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            if finding.level == Level.REACTIVE:
                continue  # the history of a file is the hover's business, not a diagnostic
            by_path[finding.location.path].append(finding)
        return cls(
            head=head,
            by_path=dict(by_path),
            couplings=[p for p in patterns if p.kind == "coupling" and len(p.subjects) == 2],
            partner_min_share=partner_min_share,
            gate=gate,
            generation=generation,
            forecasts=forecasts or {},
        )

    def with_gate(self, gate: TrustGate, generation: int, trust_version: int) -> FindingsIndex:
        """The same findings under new trust thresholds (after feedback)."""
        return FindingsIndex(
            trust_version=trust_version,
            head=self.head,
            by_path=self.by_path,
            couplings=self.couplings,
            partner_min_share=self.partner_min_share,
            gate=gate,
            generation=generation,
            forecasts=self.forecasts,
        )

    def partners(self, path: str, changed: Collection[str]) -> list[Finding]:
        """Missing-partner findings for ``path`` given the files changed now (work tree and buffers).

        On a changed file: its usual partners that are untouched.  On an
        untouched file: the changed files it usually changes with.
        """
        return [
            missing_partner_finding(m, on=path)
            for m in missing_partners(self.couplings, changed, self.partner_min_share)
            if path in (m.changed, m.partner)
        ]

    def lookup(
        self, path: str, changed: Collection[str], ignores: IgnoreMap, min_severity: str = "info"
    ) -> list[Finding]:
        """What surfaces on ``path`` now: trusted, not silenced by a comment in the buffer, severe enough."""
        floor = _SEVERITY_RANK.get(min_severity, 0)
        candidates = self.by_path.get(path, []) + self.partners(path, changed)
        return [
            f
            for f in candidates
            if f.severity.rank >= floor and (self.gate is None or self.gate(f)) and not ignores.silences(f)
        ]
