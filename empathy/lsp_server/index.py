"""Findings of a whole repository, computed once per HEAD and settings and looked up per file.

Asking the level plugins about one file costs 0.1-0.3 s on a large
repository; an editor opening a file wants its diagnostics in a few
milliseconds.  So the server asks once for every file (in the background,
after ingestion and mining) and keeps the answer indexed by path.  What
depends on unsaved buffers, "B usually changes with A and is untouched",
is computed at lookup time from the co-change index already in memory
(:meth:`FindingsIndex.with_partners`, once the background build is done).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from empathy.core.cochange import Suggestion
from empathy.core.ignore import IgnoreMap
from empathy.core.model import Finding, Level
from empathy.core.partners import missing_partner_finding
from empathy.core.trust import TrustGate

__all__ = ["FindingsIndex"]

_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class FindingsIndex:
    """Every finding of one repository state, by path, plus what lookups need to add partners."""

    head: str
    by_path: dict[str, list[Finding]] = field(default_factory=dict)
    #: the workspace's partners use-case (warned suggestions for a set of changed files), once built
    partners_of: Callable[[frozenset[str]], list[Suggestion]] | None = None
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
            partners_of=self.partners_of,
            gate=gate,
            generation=generation,
            forecasts=self.forecasts,
        )

    def with_partners(self, partners_of: Callable[[frozenset[str]], list[Suggestion]]) -> FindingsIndex:
        """The same findings, now able to say which untouched files the current change probably needs."""
        return dataclasses.replace(self, partners_of=partners_of)

    def partners(self, path: str, changed: Collection[str]) -> list[Finding]:
        """Missing-partner findings for ``path`` given the files changed now (work tree and buffers).

        On a changed file: the untouched files the index warns about (at most
        three).  On such an untouched file: the warning itself.
        """
        if self.partners_of is None or not changed:
            return []
        warned = self.partners_of(frozenset(changed))[:3]
        if path in changed:
            return [missing_partner_finding(s, changed, on=path) for s in warned]
        return [missing_partner_finding(s, changed, on=path) for s in warned if s.path == path]

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
