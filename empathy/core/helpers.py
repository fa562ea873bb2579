"""Small helpers the built-in plugins share, public through :mod:`empathy.plugin`.

They are here (not in a plugin) so a third-party plugin computes dates,
percentiles and confidences exactly as the built-ins do, and no plugin
imports another plugin's private module.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from empathy.core.context import MiningContext
from empathy.core.history.blobs import BlobReader, count_loc
from empathy.core.history.view import DAY, FileInfo

__all__ = ["DAY", "date", "head_loc", "json_safe", "module_of", "percentile_ranks", "saturate", "source_files"]


def json_safe(value: Any) -> Any:
    """``value`` with NaN and the infinities as null (tuples as lists): what strict JSON can carry.

    A metric that could not be computed is NaN in Python and null in every JSON
    empathy writes (``--json``, stored records, the service's 422).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def date(ts: int) -> str:
    """A unix time as the UTC day users read in evidence (``2026-05-03``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def percentile_ranks(values: Mapping[int, float]) -> dict[int, float]:
    """Rank in (0, 1] of each value among all (ties share the higher rank)."""
    if not values:
        return {}
    ordered = sorted(values.values())
    n = len(ordered)
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


def module_of(path: str) -> str:
    """The module a path belongs to: its first two directories (``src/pkg``), its top directory, or ``.``.

    One definition, so the coupling miner's ``cross_module`` flag and the
    systemic level's advice name the same modules.
    """
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0] if len(parts) > 1 else "."
