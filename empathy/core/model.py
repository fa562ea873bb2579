"""Plain objects that plugins return and surfaces render.

Nothing here knows about LSP, HTTP or SARIF: a miner returns :class:`Pattern`
objects, a level returns :class:`Finding` objects, and only the surfaces turn
them into diagnostics, reports or JSON.  Every field is JSON-friendly so the
objects round-trip through the store and through ``patterns export``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

__all__ = [
    "ChangeSet",
    "CodeAction",
    "Event",
    "Evidence",
    "Finding",
    "Level",
    "Location",
    "Pattern",
    "RiskFactor",
    "Severity",
    "fingerprint",
]

#: Evidence is a flat mapping of named numbers (or short strings) behind a claim.
Evidence = dict[str, Any]


class Level(IntEnum):
    """The five empathy levels; a finding says which one produced it."""

    REACTIVE = 1
    GUIDED = 2
    PROACTIVE = 3
    ANTICIPATORY = 4
    SYSTEMIC = 5


class Severity(StrEnum):
    """How loudly a surface should show a finding (maps to LSP/SARIF levels)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order for sorting: errors first."""
        return {"info": 0, "warning": 1, "error": 2}[self.value]


def fingerprint(*parts: object) -> str:
    """A stable short hash of the parts that identify a pattern or finding.

    Stable across runs and machines (no ids, no timestamps), so a dismissal or
    an exported pattern still refers to the same thing after a re-mine.
    """
    raw = json.dumps([str(p) for p in parts], separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Location:
    """A path relative to the repository root, with an optional line range.

    Lines are 1-based and inclusive; columns are code points (surfaces convert
    to UTF-16 where a protocol wants it).
    """

    path: str
    start_line: int | None = None
    end_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Location:
        return cls(
            path=str(data["path"]),
            start_line=data.get("start_line"),
            end_line=data.get("end_line"),
        )


@dataclass
class Pattern:
    """Something a miner found in the history, persisted and reused.

    ``kind`` names the shape (``hotspot``, ``coupling``, ``fix_prone``,
    ``knowledge_island``, ``code_age``, ``complexity_trend`` ...); ``subjects``
    are the paths it concerns (one for a hotspot, two for a coupled pair);
    ``score`` orders patterns of one kind; ``confidence`` in [0, 1] says how
    much data stands behind it; ``usage_count`` counts how often a surface
    showed it (the pattern library's popularity); ``active`` is False once a
    re-mine no longer finds it (kept, so feedback attached to it survives).
    """

    kind: str
    plugin: str
    subjects: list[str]
    score: float
    confidence: float
    evidence: Evidence = field(default_factory=dict)
    summary: str = ""
    usage_count: int = 0
    key: str = ""
    active: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if not self.key:
            self.key = fingerprint(self.plugin, self.kind, *self.subjects)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pattern:
        return cls(
            kind=str(data["kind"]),
            plugin=str(data["plugin"]),
            subjects=[str(s) for s in data["subjects"]],
            score=float(data["score"]),
            confidence=float(data["confidence"]),
            evidence=dict(data.get("evidence") or {}),
            summary=str(data.get("summary") or ""),
            usage_count=int(data.get("usage_count") or 0),
            key=str(data.get("key") or ""),
            active=bool(data.get("active", True)),
        )


@dataclass
class Finding:
    """What a user sees: a claim with its reason, evidence and action.

    A forecast finding (level 4) also carries ``probability`` in [0, 1] and a
    ``horizon_days``; :meth:`validate` enforces that pairing so no surface
    shows a probability without saying over what time.
    """

    code: str
    level: Level
    severity: Severity
    location: Location
    reason: str
    action: str
    source: str
    evidence: Evidence = field(default_factory=dict)
    probability: float | None = None
    horizon_days: int | None = None
    score: float = 0.0
    fingerprint: str = ""

    def __post_init__(self) -> None:
        self.level = Level(self.level)
        self.severity = Severity(self.severity)
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.source, self.code, self.location.path, self.location.start_line)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError when the finding breaks the contract."""
        if not self.reason.strip():
            raise ValueError(f"finding {self.code} has no reason")
        if not self.action.strip():
            raise ValueError(f"finding {self.code} has no action")
        if (self.probability is None) != (self.horizon_days is None):
            raise ValueError(f"finding {self.code}: probability and horizon go together")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"finding {self.code}: probability {self.probability} not in [0, 1]")

    @property
    def is_forecast(self) -> bool:
        return self.probability is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = int(self.level)
        data["severity"] = self.severity.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=str(data["code"]),
            level=Level(int(data["level"])),
            severity=Severity(data["severity"]),
            location=Location.from_dict(data["location"]),
            reason=str(data["reason"]),
            action=str(data["action"]),
            source=str(data["source"]),
            evidence=dict(data.get("evidence") or {}),
            probability=data.get("probability"),
            horizon_days=data.get("horizon_days"),
            score=float(data.get("score") or 0.0),
            fingerprint=str(data.get("fingerprint") or ""),
        )


@dataclass
class RiskFactor:
    """One plugin's contribution to a change's risk (used by the CI gate).

    ``score`` is in [0, 1]; ``weight`` tells how much the plugin trusts it.
    """

    name: str
    score: float
    reason: str
    source: str = ""
    weight: float = 1.0
    evidence: Evidence = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


@dataclass
class ChangeSet:
    """A change under review: a commit range or a working-tree diff."""

    paths: list[str]
    added: int = 0
    deleted: int = 0
    author_email: str = ""
    base: str = ""
    head: str = ""
    #: per path: (lines added, lines deleted); None counts for binary files
    lines: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    #: the commits of a range (empty for a working-tree diff): the change model leaves them out
    #: of what it learns from, so a change is never judged by its own outcome
    commits: list[str] = field(default_factory=list)
    #: the message of the range's head commit (empty for a working-tree diff)
    message: str = ""


@dataclass
class CodeAction:
    """Something a user can do about a finding, independent of any editor.

    ``command`` names an empathy command (for example ``feedback.useful``);
    ``edits`` maps a path to ``(start_line, end_line, new_text)`` replacements.
    """

    title: str
    command: str
    finding: str
    arguments: dict[str, Any] = field(default_factory=dict)
    edits: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)


@dataclass
class Event:
    """Something that happened (forecast made, gate decided ...), for listeners."""

    type: str
    data: dict[str, Any]
    timestamp: float
