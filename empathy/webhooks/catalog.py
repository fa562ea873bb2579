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


CATALOG: dict[str, EventType] = {
    e.name: e
    for e in [
        EventType(
            "pattern.discovered",
            "A miner found a pattern that was not in the store before (a new hotspot, coupled pair ...).",
            "the service after a push is ingested and mined",
            _obj(
                ["repo", "kind", "plugin", "subjects", "score", "confidence"],
                {
                    "repo": _STR,
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
            "A level-4 forecast: the probability of a bug fix in a file within a horizon.",
            "any plugin calling handle_event (no built-in emitter yet)",
            _obj(
                ["repo", "path", "probability", "horizon_days"],
                {"repo": _STR, "path": _STR, "probability": _PROB, "horizon_days": _INT, "reason": _STR},
            ),
        ),
        EventType(
            "cycle.detected",
            "A level-5 fix-begets-fix cycle between files.",
            "any plugin calling handle_event (no built-in emitter yet)",
            _obj(["repo", "paths"], {"repo": _STR, "paths": _STRS, "reason": _STR}),
        ),
        EventType(
            "trust.threshold_reached",
            "Feedback moved a rule's confidence threshold across a configured mark.",
            "the trust ledger (empathy.core.trust), in any process with the webhooks plugin",
            _obj(
                ["rule", "old", "new", "mark", "direction"],
                {"rule": _STR, "old": _NUM, "new": _NUM, "mark": _NUM, "direction": _STR},
            ),
        ),
        EventType(
            "level.changed",
            "Trust switched a level (4 forecasts, 5 systemic advice) on or off for a repository.",
            "any plugin calling handle_event (no built-in emitter yet)",
            _obj(["repo", "level", "allowed"], {"repo": _STR, "level": _INT, "allowed": {"type": "boolean"}}),
        ),
        EventType(
            "deployment_gate.decided",
            "The deployment gate decided on a change (pass, warn, block or inconclusive).",
            "the service when it answers a deployment_protection_rule request",
            _obj(
                ["repo", "head", "decision"],
                {
                    "repo": _STR,
                    "base": _STR,
                    "head": _STR,
                    "environment": _STR,
                    "decision": {"enum": ["pass", "warn", "block", "inconclusive"]},
                    "risk": _NUM,
                    "trust": {"type": ["number", "null"]},
                    "state": {"enum": ["approved", "rejected"]},
                    "summary": _STR,
                },
            ),
        ),
        EventType(
            "analysis.completed",
            "A push was ingested (and the miners ran): how many commits were added and the new head.",
            "the service after a push",
            _obj(
                ["repo", "head", "commits_added"],
                {"repo": _STR, "head": _STR, "commits_added": _INT, "patterns": _INT, "new_patterns": _INT},
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
