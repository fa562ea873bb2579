"""The store's schema (SQLModel). Changes go through Alembic migrations.

Times are unix seconds (integers) so SQLite and PostgreSQL compare them the
same way and the history engine never converts time zones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "AnswerRow",
    "ChangeRow",
    "CommitRow",
    "EvalRecordRow",
    "FileRow",
    "ForecastCacheRow",
    "GateDecisionRow",
    "GithubDeliveryRow",
    "GithubGateAnswerRow",
    "MemoryItemRow",
    "OutcomeRow",
    "PatternRow",
    "PluginRunRow",
    "RepositoryRow",
    "SzzRow",
    "ThresholdRow",
    "WebhookApiKeyRow",
    "WebhookAttemptRow",
    "WebhookDeliveryRow",
    "WebhookEndpointRow",
    "WebhookMessageRow",
]


class RepositoryRow(SQLModel, table=True):
    """One repository; ``head`` is the last commit whose ingest completed."""

    __tablename__ = "repository"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    head: str | None = Field(default=None, max_length=64)
    shallow: bool = False
    #: sha-1 of ``.git/shallow`` at the last ingest, so a deepened clone is noticed.
    shallow_marker: str | None = Field(default=None, max_length=64)
    commit_count: int = 0
    next_seq: int = 0
    ingested_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    mined_at: int | None = Field(default=None, sa_column=Column(BigInteger))


class CommitRow(SQLModel, table=True):
    """A commit; ``seq`` is the ingest order (parents always before children)."""

    __tablename__ = "commit"
    __table_args__ = (
        UniqueConstraint("repo_id", "sha", name="uq_commit_repo_sha"),
        Index("ix_commit_repo_seq", "repo_id", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    sha: str = Field(max_length=64)
    seq: int
    parents: str = ""
    author_name: str = Field(sa_column=Column(Text, nullable=False))
    author_email: str = Field(sa_column=Column(Text, nullable=False))
    authored_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    committed_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))
    is_merge: bool = False
    files_changed: int = 0


class FileRow(SQLModel, table=True):
    """A file followed across renames: ``path`` is its latest name."""

    __tablename__ = "file"
    __table_args__ = (Index("ix_file_repo_path", "repo_id", "path"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    path: str = Field(sa_column=Column(Text, nullable=False))
    deleted: bool = False


class ChangeRow(SQLModel, table=True):
    """One file in one non-merge commit; counts are None for binary files."""

    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_commit", "commit_id"),
        Index("ix_change_file", "file_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id", index=True)
    commit_id: int = Field(foreign_key="commit.id")
    file_id: int = Field(foreign_key="file.id")
    path: str = Field(sa_column=Column(Text, nullable=False))
    old_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    added: int | None = None
    deleted: int | None = None


class PatternRow(SQLModel, table=True):
    """A persisted pattern; ``key`` is its stable fingerprint."""

    __tablename__ = "pattern"
    __table_args__ = (UniqueConstraint("repo_id", "key", name="uq_pattern_repo_key"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id", index=True)
    key: str = Field(max_length=64)
    kind: str = Field(max_length=64, index=True)
    plugin: str = Field(max_length=128)
    subjects: list[str] = Field(sa_column=Column(JSON, nullable=False))
    score: float = 0.0
    confidence: float = 0.0
    evidence: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    usage_count: int = 0
    first_seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    active: bool = True


class PluginRunRow(SQLModel, table=True):
    """The last outcome of each plugin's hook, shown by ``empathy plugins``."""

    __tablename__ = "plugin_run"
    __table_args__ = (UniqueConstraint("repo_id", "plugin", "hook", name="uq_plugin_run"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    plugin: str = Field(max_length=128)
    hook: str = Field(max_length=128)
    ran_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    seconds: float = 0.0
    results: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: commits ingested when this run started (None before migration 0009): a miner is stale
    #: once the history has grown by ``remine_commits`` since its last successful run
    commits: int | None = None
    #: the analysis time (unix) a miner's run described (None before migration 0010): a run for
    #: another day, or another replay time, no longer describes the windows asked for now
    as_of: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class SzzRow(SQLModel, table=True):
    """One B-SZZ link: ``fix_sha`` changed lines last touched by ``inducing_sha``.

    A fix with no blamable lines still gets one row with an empty inducing
    sha, so a rerun knows it was processed and does not blame it again.
    """

    __tablename__ = "szz_link"
    __table_args__ = (Index("ix_szz_repo_fix", "repo_id", "fix_sha"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    fix_sha: str = Field(max_length=64)
    inducing_sha: str = Field(default="", max_length=64)
    path: str = Field(default="", sa_column=Column(Text, nullable=False))
    lines: int = 0


class OutcomeRow(SQLModel, table=True):
    """One observed outcome behind a trust estimate (see ``empathy.core.trust``).

    Outcomes are kept raw rather than folded into running totals, so the
    decayed estimate can be recomputed as of any time (the ``stats`` trend)
    and a changed half-life applies to the whole history.  ``weight`` is the
    weight that counts (a rollback's extra weight is already applied).
    """

    __tablename__ = "trust_outcome"
    __table_args__ = (Index("ix_trust_outcome_subject", "repo_id", "subject_kind", "subject", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    subject_kind: str = Field(sa_column=Column(Text, nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    success: bool
    weight: float = 1.0
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ThresholdRow(SQLModel, table=True):
    """A rule's confidence threshold as moved by feedback (absent: the default)."""

    __tablename__ = "trust_threshold"
    __table_args__ = (UniqueConstraint("repo_id", "rule", name="uq_trust_threshold_repo_rule"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    rule: str = Field(sa_column=Column(Text, nullable=False))
    threshold: float
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class EvalRecordRow(SQLModel, table=True):
    """A backtest's summary: the track record shown next to a forecast.

    ``kind`` is "file" or "change"; ``summary`` holds our model's and the
    baselines' mean metrics, the number of cutoffs and the calibration.
    """

    __tablename__ = "eval_record"
    __table_args__ = (Index("ix_eval_record_repo_kind", "repo_id", "kind", "horizon_days"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    kind: str = Field(max_length=16)
    horizon_days: int
    head: str = Field(max_length=64)
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AnswerRow(SQLModel, table=True):
    """A user's answer to a level-2 question ("is this file generated?")."""

    __tablename__ = "guided_answer"
    __table_args__ = (UniqueConstraint("repo_id", "question", name="uq_guided_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    question: str = Field(max_length=128)
    answer: str = Field(sa_column=Column(Text, nullable=False))
    answered_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class ForecastCacheRow(SQLModel, table=True):
    """A forecast run kept for the head it was computed at (editor and CLI reuse it).

    ``key`` hashes what the forecast depends on besides the head: horizon and the
    settings that select files and mark fixes.  A new head or new settings miss
    the cache; old rows are replaced, one per repository.
    """

    __tablename__ = "forecast_cache"
    __table_args__ = (UniqueConstraint("repo_id", name="uq_forecast_cache_repo"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    head: str = Field(max_length=64)
    key: str = Field(max_length=64)
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MemoryItemRow(SQLModel, table=True):
    """One remembered thing in the memory agent's short- or long-term layer.

    ``key`` is what is remembered (a path, a finding's fingerprint, a
    preference's name) and ``path`` the file it concerns, if any, so an agent
    asking about a file finds everything remembered about it with one indexed
    lookup.  ``count`` is how often it was seen and ``last_at`` when it was
    last seen: consolidation promotes what recurs and forgets what is stale
    from those two numbers alone (see ``empathy.core.agents.memory``).
    """

    __tablename__ = "memory_item"
    __table_args__ = (
        UniqueConstraint("repo_id", "layer", "kind", "key", name="uq_memory_item"),
        Index("ix_memory_item_recent", "repo_id", "layer", "last_at"),
        Index("ix_memory_item_path", "repo_id", "path"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    layer: str = Field(max_length=16)
    kind: str = Field(max_length=64)
    key: str = Field(sa_column=Column(Text, nullable=False))
    path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    count: int = 0
    first_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class GateDecisionRow(SQLModel, table=True):
    """One deployment-gate verdict and its full JSON report.

    Kept so the webhook service can answer ``GET /v1/gate/{sha}`` for canary
    tools and so a re-run on the same inputs can be compared with the last one.
    """

    __tablename__ = "gate_decision"
    __table_args__ = (Index("ix_gate_decision_repo_head", "repo_id", "head"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repository.id")
    base: str = Field(max_length=64)
    head: str = Field(max_length=64)
    decision: str = Field(max_length=16)
    risk: float = 0.0
    trust: float | None = None
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# -- the webhook service (empathy.webhooks) ----------------------------------
# Delivery times are float unix seconds: retries and the emit-to-delivery path
# are scheduled at sub-second precision, which integer seconds cannot express.


class WebhookApiKeyRow(SQLModel, table=True):
    """An API key of the webhook service; only its SHA-256 is stored, never the key.

    ``scope`` is ``own`` (the key sees the endpoints it created, and their
    messages) or ``admin`` (it sees every endpoint).  A revoked key is kept, not
    deleted, so the endpoints it created still name their owner.
    """

    __tablename__ = "webhook_api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: float
    last_used_at: float | None = None
    revoked: bool = False
    scope: str = Field(default="own", max_length=16)
    revoked_at: float | None = None


class WebhookEndpointRow(SQLModel, table=True):
    """A subscription: a URL, the event types it wants (empty: all) and its signing secrets.

    During a rotation ``previous_secret`` keeps signing too until
    ``previous_expires_at``, so a receiver can switch keys without dropping a delivery.
    ``failing_since`` is the start of the current run of failures (None while healthy).
    ``owner_key_id`` is the API key that created it: only that key and admin keys
    see or change it.  Endpoints created before keys had owners have none (admin only).
    """

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    url: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    previous_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    previous_expires_at: float | None = None
    max_concurrency: int = 10
    disabled: bool = False
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failing_since: float | None = None
    created_at: float
    updated_at: float
    owner_key_id: int | None = Field(default=None, foreign_key="webhook_api_key.id", index=True)


class WebhookMessageRow(SQLModel, table=True):
    """One event as sent: ``payload`` is the exact body every attempt signs and posts."""

    __tablename__ = "webhook_message"
    __table_args__ = (Index("ix_webhook_message_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    event_type: str = Field(max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: float


class WebhookDeliveryRow(SQLModel, table=True):
    """The outbox: one message owed to one endpoint, claimed by workers.

    ``status`` is pending, delivering (claimed until ``claimed_until``; a
    crashed worker's claim lapses and another worker takes the row),
    succeeded or failed (retries exhausted, endpoint gone or disabled).
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id", name="uq_webhook_delivery"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="webhook_message.id")
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id")
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: float
    claimed_until: float | None = None
    last_status_code: int | None = None
    created_at: float
    updated_at: float


class WebhookAttemptRow(SQLModel, table=True):
    """One delivery attempt, kept for the log: status, latency, truncated response, error."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        Index("ix_webhook_attempt_delivery", "delivery_id"),
        Index("ix_webhook_attempt_endpoint", "endpoint_id", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id")
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id")
    message_id: int = Field(foreign_key="webhook_message.id")
    attempt: int
    started_at: float
    latency_ms: float = 0.0
    status_code: int | None = None
    response: str = Field(default="", sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: float | None = None
    worker: str = Field(default="", max_length=64)


class GithubDeliveryRow(SQLModel, table=True):
    """An inbound GitHub delivery: de-duplicated by ``X-GitHub-Delivery``, worked off a queue."""

    __tablename__ = "github_delivery"

    id: int | None = Field(default=None, primary_key=True)
    delivery: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    event: str = Field(max_length=64)
    status: str = Field(max_length=16)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: float
    finished_at: float | None = None
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class GithubGateAnswerRow(SQLModel, table=True):
    """The answer given to one deployment protection rule request: one per (run, environment)."""

    __tablename__ = "github_gate_answer"
    __table_args__ = (UniqueConstraint("run_id", "environment", name="uq_github_gate_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    environment: str = Field(sa_column=Column(Text, nullable=False))
    sha: str = Field(max_length=64)
    state: str = Field(max_length=16)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    answered_at: float
    callback_status: int | None = None
