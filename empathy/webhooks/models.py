"""Request and response models of the HTTP API (they are the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from empathy.webhooks.catalog import CATALOG, OPERATIONAL
from empathy.webhooks.signing import SECRET_PREFIX

__all__ = [
    "AttemptOut",
    "EndpointIn",
    "EndpointOut",
    "EndpointPatch",
    "EndpointSecret",
    "EventIn",
    "EventTypeOut",
    "GateOut",
    "MessageOut",
    "QueuedOut",
    "RecoverIn",
    "ResendIn",
    "RotateIn",
]

_KNOWN = set(CATALOG) | set(OPERATIONAL)
_GROUPS = {name.split(".", 1)[0] for name in _KNOWN}


def _check_types(values: list[str]) -> list[str]:
    for name in values:
        if name in _KNOWN:
            continue
        if name.endswith(".*") and name[:-2] in _GROUPS:
            continue
        raise ValueError(f"unknown event type {name!r}; see GET /v1/event-types (a 'group.*' filter is allowed)")
    return sorted(set(values))


def _check_secret(value: str | None) -> str | None:
    if value is None:
        return None
    import base64
    import binascii

    raw = value[len(SECRET_PREFIX) :] if value.startswith(SECRET_PREFIX) else ""
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not 24 <= len(key) <= 64:
        raise ValueError("a secret is 'whsec_' followed by base64 of 24 to 64 random bytes")
    return value


class EndpointIn(BaseModel):
    """A new subscription."""

    url: str = Field(min_length=1, max_length=2048, description="http(s) URL; checked by the SSRF guard")
    description: str = Field("", max_length=1000)
    event_types: list[str] = Field(default_factory=list, max_length=50, description="empty: every type")
    max_concurrency: int = Field(10, ge=1, le=100, description="in-flight requests to this endpoint per worker")
    secret: str | None = Field(None, max_length=200, description="whsec_ secret; generated when absent")

    _types = field_validator("event_types")(_check_types)
    _secret = field_validator("secret")(_check_secret)


class EndpointPatch(BaseModel):
    """Fields to change; absent fields keep their value.  ``disabled: false`` re-enables."""

    url: str | None = Field(None, min_length=1, max_length=2048)
    description: str | None = Field(None, max_length=1000)
    event_types: list[str] | None = Field(None, max_length=50)
    max_concurrency: int | None = Field(None, ge=1, le=100)
    disabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_types(value)


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str]
    max_concurrency: int
    disabled: bool
    disabled_reason: str | None
    failing_since: float | None
    created_at: float
    updated_at: float
    owner: str | None = Field(
        default=None,
        description="the name of the API key that created it; null for an endpoint older than key ownership",
    )


class EndpointSecret(BaseModel):
    """An endpoint's signing secrets (the previous one signs too until ``previous_expires_at``)."""

    id: str
    secret: str
    previous_expires_at: float | None = None


class RotateIn(BaseModel):
    overlap_seconds: int = Field(86_400, ge=0, le=7 * 86_400, description="how long the old secret keeps signing")
    secret: str | None = Field(None, max_length=200)

    _secret = field_validator("secret")(_check_secret)


class RecoverIn(BaseModel):
    since: float = Field(ge=0, le=1e11, description="unix seconds")
    until: float | None = Field(None, ge=0, le=1e11, description="unix seconds; default now")


class ResendIn(BaseModel):
    endpoint_id: str | None = Field(None, max_length=40, description="one endpoint; default every endpoint owed it")


class QueuedOut(BaseModel):
    queued: int


class MessageOut(BaseModel):
    id: str
    type: str
    created_at: float
    payload: dict[str, Any]


class AttemptOut(BaseModel):
    attempt: int
    message_id: str
    endpoint_id: str
    started_at: float
    latency_ms: float
    status_code: int | None
    response: str
    error: str | None
    next_attempt_at: float | None
    worker: str


class EventTypeOut(BaseModel):
    name: str
    description: str
    emitted_by: str
    operational: bool
    schema_: dict[str, Any] = Field(alias="schema")

    model_config = {"populate_by_name": True}


class EventIn(BaseModel):
    """An event posted to ``POST /v1/events`` (Standard Webhooks envelope)."""

    type: str = Field(min_length=3, max_length=128)
    timestamp: str | None = Field(None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)


class GateOut(BaseModel):
    """The latest gate verdict for a commit, for canary tools (Argo Rollouts ``web``, Flagger)."""

    sha: str
    base: str
    decision: str
    #: None when inconclusive: a deploy that could not be compared has no risk figure
    risk: float | None
    trust: float | None
    approved: bool
    created_at: int
    repo: str
