"""The event catalog: every event type the service sends, with a JSON schema for its ``data``.

Subscribers filter on these names and validate payloads against the schemas
(served at ``GET /v1/event-types``).  Names follow the Standard Webhooks rule:
dot-separated, built from ``[a-zA-Z0-9_]``.  The envelope is always
``{"type", "timestamp", "data"}`` serialised compactly: those bytes are what
is signed and posted, on every attempt.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["CATALOG", "OPERATIONAL", "EventType", "envelope_bytes", "valid_type"]

_TYPE_RE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")


def valid_type(name: str) -> bool:
    """Whether ``name`` is a well-formed event type (``group.action``)."""
    return bool(_TYPE_RE.match(name)) and len(name) <= 128


def _obj(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": True,
    }


_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_PROB = {"type": "number", "minimum": 0, "maximum": 1}
_STRS = {"type": "array", "items": {"type": "string"}}


class EventType:
    """One catalog entry: its name, what it means, who emits it today, and its schema."""

    def __init__(self, name: str, description: str, emitted_by: str, schema: dict[str, Any]) -> None:
        self.name = name
        self.description = description
        self.emitted_by = emitted_by
        self.schema = schema

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "emitted_by": self.emitted_by,
            "schema": self.schema,
        }


_TOP = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["path", "probability"],
        "properties": {"path": _STR, "probability": _PROB},
    },
}

#: Every type of ``empathy.core.events.CATALOG`` (the names and meanings live there;
#: these schemas describe the ``data`` the core's emitters build).  Every ``data``
#: also holds ``repo_id``, the repository's id in the store that emitted it.
CATALOG: dict[str, EventType] = {
    e.name: e
    for e in [
        EventType(
            "pattern.discovered",
            "Mining found a pattern not stored before (at most the 100 most notable per run).",
            "Workspace.mine (empathy analyze, the service after a push)",
            _obj(
                ["repo_id", "key", "kind", "plugin", "subjects", "score", "confidence"],
                {
                    "repo_id": _INT,
                    "key": _STR,
                    "kind": _STR,
                    "plugin": _STR,
                    "subjects": _STRS,
                    "score": _NUM,
                    "confidence": _PROB,
                    "summary": _STR,
                },
            ),
        ),
        EventType(
            "forecast.made",
            "A file forecast was computed for a new head or new settings: base rate and the riskiest files.",
            "the forecast (empathy forecast, the language server, the agents), not on a cache hit",
            _obj(
                ["repo_id", "head", "horizon_days", "files", "base_rate", "top"],
                {"repo_id": _INT, "head": _STR, "horizon_days": _INT, "files": _INT, "base_rate": _PROB, "top": _TOP},
            ),
        ),
        EventType(
            "cycle.detected",
            "A fix-begets-fix cycle was found for the first time.",
            "Workspace.findings (the systemic level)",
            _obj(
                ["repo_id", "path", "reason"],
                {"repo_id": _INT, "path": _STR, "reason": _STR, "action": _STR, "evidence": {"type": "object"}},
            ),
        ),
        EventType(
            "trust.threshold_reached",
            "Feedback moved a rule's confidence threshold across a mark (0.3, 0.5, 0.7).",
            "the trust ledger (empathy feedback, the language server's code actions)",
            _obj(
                ["repo_id", "rule", "mark", "direction", "old", "new"],
                {
                    "repo_id": _INT,
                    "rule": _STR,
                    "mark": _NUM,
                    "direction": {"enum": ["up", "down"]},
                    "old": _NUM,
                    "new": _NUM,
                    "feedback": _STR,
                },
            ),
        ),
        EventType(
            "level.changed",
            "The track record switched level 4 (forecasts) or 5 (systemic advice) on or off.",
            "the trust ledger's feedback",
            _obj(
                ["repo_id", "level", "allowed"],
                {
                    "repo_id": _INT,
                    "level": _INT,
                    "allowed": {"type": "boolean"},
                    "rule": _STR,
                    "trust_mean": _NUM,
                    "trust_lower": _NUM,
                },
            ),
        ),
        EventType(
            "deployment_gate.decided",
            "The deployment gate decided pass, warn, block or inconclusive for a change.",
            "empathy gate / evaluate_gate (also when the service answers a protection rule)",
            _obj(
                ["head", "decision"],
                {
                    "repo_id": _INT,
                    "repository": _STR,
                    "base": _STR,
                    "head": _STR,
                    "environment": {"type": ["string", "null"]},
                    "service": {"type": ["string", "null"]},
                    "decision": {"enum": ["pass", "warn", "block", "inconclusive"]},
                    "treated_as": _STR,
                    # None when inconclusive: no risk figure is shown without evidence.
                    "risk": {"type": ["number", "null"]},
                    "trust": {"type": ["number", "null"]},
                    "summary": _STR,
                },
            ),
        ),
        EventType(
            "analysis.completed",
            "A mining run finished: the head, how many patterns, how many new, plugin errors.",
            "Workspace.mine (empathy analyze, the service after a push)",
            _obj(
                ["repo_id", "repository", "head", "patterns", "new_patterns"],
                {
                    "repo_id": _INT,
                    "repository": _STR,
                    "head": _STR,
                    "patterns": _INT,
                    "new_patterns": _INT,
                    "errors": {"type": "object"},
                },
            ),
        ),
    ]
}

#: Operational events about the service itself, sent like any other event.
OPERATIONAL: dict[str, EventType] = {
    "endpoint.disabled": EventType(
        "endpoint.disabled",
        "An endpoint was disabled: it answered 410 Gone, or failed for longer than the failure window.",
        "the delivery workers",
        _obj(
            ["endpoint_id", "url", "reason"],
            {"endpoint_id": _STR, "url": _STR, "reason": _STR, "failing_since": {"type": ["number", "null"]}},
        ),
    ),
}


def envelope_bytes(event_type: str, data: dict[str, Any], timestamp: float) -> bytes:
    """The exact body of a message: compact JSON, keys in a fixed order, UTC ISO-8601 timestamp."""
    when = datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    body = {"type": event_type, "timestamp": when, "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
