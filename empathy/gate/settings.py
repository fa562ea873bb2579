"""The gate's settings: ``[tool.empathy.plugins.gate]``, ``EMPATHY_PLUGIN_GATE_<KEY>``.

The gate registers itself as the built-in plugin ``gate`` only to declare
these defaults (the ``settings_defaults`` hook), so they appear in
``empathy config show`` and follow the same precedence as every plugin
setting.  Each number is a policy choice, explained where it is used
(:mod:`empathy.gate.decide`, :mod:`empathy.gate.track_record`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from empathy.core.errors import ConfigError
from empathy.core.hookspecs import hookimpl

__all__ = ["DECISIONS", "GATE_PLUGIN", "GateSettings", "settings_defaults"]

#: The plugin id (entry-point name) under which the settings live.
GATE_PLUGIN = "gate"
#: Every decision, mildest first; ``inconclusive`` is mapped by ``inconclusive_as``.
DECISIONS = ("pass", "warn", "block", "inconclusive")


@dataclass(frozen=True)
class GateSettings:
    """Effective gate policy (validated once, hashed into the report)."""

    #: risk (the deploy's percentile among the repository's past deploys) at or above which it is a warn:
    #: 0.70 would have warned on at most 30% of past deploys
    warn_threshold: float = 0.70
    #: ... and blocked: 0.90 would have blocked at most 10% of past deploys
    block_threshold: float = 0.90
    #: how much one history signal of score 1 adds (noisy-OR share of the remaining headroom); 0 keeps the
    #: signals as reasons only, so the count of past deploys this policy would have blocked stays exact
    signal_weight: float = 0.0
    #: the change failure rate the team accepts: the error budget
    target_failure_rate: float = 0.15
    #: the most the track record may move both thresholds (up with budget left, down when spent)
    budget_room: float = 0.10
    #: decayed outcomes at which the track record has half its say over the thresholds
    evidence_n: float = 10.0
    #: decayed outcomes the record needs before its error budget can be "spent"
    min_budget_n: float = 5.0
    #: what an inconclusive decision counts as for --fail-on and annotations: pass, warn or block
    inconclusive_as: str = "warn"
    #: the service whose deploy outcomes form the track record; empty: the repository key
    service: str = ""
    #: a fix or revert this many days after a release tag makes the release a failure (inferred record)
    hotfix_days: int = 7
    #: regular expression for release tags in the inferred record (pre-releases do not match)
    release_tag_pattern: str = r"^v?\d+(\.\d+)+$"
    #: half-life of an outcome's weight in the track record, days
    half_life_days: float = 90.0
    #: seconds a run may spend linking fixes to their causes (SZZ), less the time it spent mining;
    #: later runs continue
    szz_seconds: float = 20.0
    #: re-mine the patterns when an ingest adds at least this many commits (always when none are stored)
    remine_commits: int = 50
    #: annotations per level (GitHub keeps 10 warnings and 10 errors per step)
    max_annotations: int = 10

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GateSettings:
        """Build from the plugin section (and overrides); a bad value is a ConfigError naming the key."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            raw = values[f.name]
            default = getattr(cls, f.name)
            try:
                if isinstance(default, bool) or isinstance(raw, bool):
                    raise ValueError
                if isinstance(default, int) and not isinstance(default, bool):
                    value: Any = int(raw)
                    if isinstance(raw, float) and raw != value:
                        raise ValueError
                elif isinstance(default, float):
                    value = float(raw)
                    if not math.isfinite(value):
                        raise ValueError
                else:
                    value = str(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"gate setting {f.name} = {raw!r} should be {type(default).__name__}",
                    "see `empathy config show` and docs/gate.md",
                ) from None
            kwargs[f.name] = value
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0.0 < self.warn_threshold <= self.block_threshold <= 1.0:
            raise ConfigError(
                f"gate thresholds need 0 < warn_threshold <= block_threshold <= 1, "
                f"got {self.warn_threshold} and {self.block_threshold}"
            )
        for name in ("signal_weight", "target_failure_rate", "budget_room"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"gate setting {name} must be in [0, 1], got {getattr(self, name)}")
        if self.target_failure_rate <= 0.0:
            raise ConfigError("gate setting target_failure_rate must be above 0")
        if self.evidence_n <= 0 or self.half_life_days <= 0:
            raise ConfigError("gate settings evidence_n and half_life_days must be positive")
        if self.inconclusive_as not in ("pass", "warn", "block"):
            raise ConfigError(f"gate setting inconclusive_as must be pass, warn or block, got {self.inconclusive_as!r}")
        if self.hotfix_days < 0 or self.remine_commits < 0 or self.max_annotations < 0 or self.szz_seconds < 0:
            raise ConfigError("gate settings hotfix_days, remine_commits, max_annotations and szz_seconds must be >= 0")
        import re

        try:
            re.compile(self.release_tag_pattern)
        except re.error as exc:
            raise ConfigError(f"gate setting release_tag_pattern is not a regular expression: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        """A short hash of the policy, so two reports can be told to come from the same settings."""
        raw = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return GateSettings().to_dict()
