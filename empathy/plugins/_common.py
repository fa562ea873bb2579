"""Helpers shared by the built-in miners (not a public API)."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from empathy.core.context import MiningContext
from empathy.core.history.blobs import BlobReader, count_loc
from empathy.core.history.view import DAY, FileInfo
from empathy.core.model import Pattern

__all__ = [
    "DAY",
    "MissingPartner",
    "date",
    "head_loc",
    "missing_partners",
    "percentile_ranks",
    "saturate",
    "source_files",
]


def date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def percentile_ranks(values: Mapping[int, float]) -> dict[int, float]:
    """Rank in (0, 1] of each value among all (ties share the higher rank)."""
    if not values:
        return {}
    ordered = sorted(values.values())
    n = len(ordered)
    import bisect

    return {k: bisect.bisect_right(ordered, v) / n for k, v in values.items()}


def saturate(x: float, half: float) -> float:
    """0 at 0, 0.5 at ``half``, approaching 1: how much data stands behind a claim."""
    return 1.0 - math.exp(-math.log(2) * max(x, 0.0) / half) if half > 0 else 1.0


def source_files(context: MiningContext) -> list[FileInfo]:
    """Files alive at HEAD that the settings call source code."""
    return [f for f in context.history.alive_files() if context.is_source(f.path)]


def head_loc(context: MiningContext, files: list[FileInfo]) -> dict[int, int]:
    """Non-blank lines at HEAD for each file (0 for binary or unreadable)."""
    reader = BlobReader(context.repo.git_repo)
    out: dict[int, int] = {}
    for f in files:
        text = reader.read(context.repo.head, f.path)
        out[f.id] = count_loc(text) if text is not None else 0
    return out


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
