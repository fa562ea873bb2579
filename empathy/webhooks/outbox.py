"""The durable outbox: messages, deliveries and attempts in the store.

An event becomes a ``webhook_message`` (the exact bytes to send) and one
``webhook_delivery`` row per matching, enabled endpoint, in one transaction,
before any attempt.  Workers claim due rows with ``UPDATE ... WHERE id IN
(SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL (several
workers never take the same row); SQLite runs the same statement, which it
serialises with its write lock.  A claim is a lease: a worker killed mid-send
leaves rows ``delivering`` until ``claimed_until`` passes, then another worker
takes them again.  That is why delivery is at least once: a receiver dedupes on
``webhook-id``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Integer, and_, bindparam, delete, func, insert, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import col

from empathy.core.model import Event
from empathy.core.store.store import Store
from empathy.core.store.tables import (
    WebhookApiKeyRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
    WebhookMessageRow,
)
from empathy.webhooks.catalog import OPERATIONAL, envelope_bytes
from empathy.webhooks.keys import ADMIN

__all__ = [
    "AttemptResult",
    "Claim",
    "claim_due",
    "enqueue",
    "matches",
    "new_endpoint_uid",
    "record_results",
    "recover",
    "resend",
]

PENDING, DELIVERING, SUCCEEDED, FAILED = "pending", "delivering", "succeeded", "failed"
#: Response bodies kept in the attempt log are cut to this many characters.
RESPONSE_LIMIT = 2048


def _int(value: object) -> int:
    """A database integer (ids and counts are never NULL where this is used)."""
    assert isinstance(value, int), value
    return value


def new_endpoint_uid() -> str:
    return "ep_" + uuid.uuid4().hex


def new_message_uid() -> str:
    return "msg_" + uuid.uuid4().hex


def matches(event_types: Sequence[str], event_type: str) -> bool:
    """An endpoint's filter: empty means every type; ``group.*`` means every type of a group."""
    if not event_types:
        return True
    for wanted in event_types:
        if wanted == event_type:
            return True
        if wanted.endswith(".*") and event_type.startswith(wanted[:-1]):
            return True
    return False


def enqueue(store: Store, event: Event, now: float | None = None) -> str | None:
    """Store ``event`` for every endpoint that wants it; return the message id (None: nobody subscribed).

    A message is kept when any endpoint's filter matches, even a disabled one,
    so a later ``recover`` can still send it; deliveries are created for the
    enabled endpoints only.
    """
    when = time.time() if now is None else now
    with store.engine.begin() as conn:
        stmt = sa_select(
            col(WebhookEndpointRow.id), col(WebhookEndpointRow.event_types), col(WebhookEndpointRow.disabled)
        )
        if event.type in OPERATIONAL:
            stmt = stmt.where(_told_about(conn, event))
        rows = conn.execute(stmt).all()
        wanted = [(_int(r[0]), bool(r[2])) for r in rows if matches(list(r[1] or []), event.type)]
        if not wanted:
            return None
        uid = new_message_uid()
        body = envelope_bytes(event.type, event.data, event.timestamp)
        message_id = conn.execute(
            insert(WebhookMessageRow)
            .values(uid=uid, event_type=event.type, payload=body.decode("utf-8"), created_at=when)
            .returning(col(WebhookMessageRow.id))
        ).scalar_one()
        deliveries = [
            {
                "message_id": message_id,
                "endpoint_id": endpoint_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": when,
                "created_at": when,
                "updated_at": when,
            }
            for endpoint_id, disabled in wanted
            if not disabled
        ]
        if deliveries:
            conn.execute(insert(WebhookDeliveryRow), deliveries)
    return uid


def _told_about(conn: Connection, event: Event) -> ColumnElement[bool]:
    """Which endpoints may hear an operational event about an endpoint (``endpoint.disabled``).

    Its data names the endpoint and its URL, which belong to the key that
    created it: the event goes to that key's endpoints and to admin keys'
    endpoints, never to another key's (docs/webhooks.md, "Isolation").
    """
    e, k = WebhookEndpointRow, WebhookApiKeyRow
    admins = sa_select(col(k.id)).where(col(k.scope) == ADMIN)
    to_admins = col(e.owner_key_id).in_(admins)
    subject = conn.execute(
        sa_select(col(e.owner_key_id)).where(col(e.uid) == str(event.data.get("endpoint_id", "")))
    ).first()
    if subject is None:
        return to_admins  # an endpoint nobody can name: only admins hear of it
    owner = subject[0]
    return or_(to_admins, col(e.owner_key_id).is_(None) if owner is None else col(e.owner_key_id) == owner)


@dataclass
class Claim:
    """A delivery a worker holds until ``lease``: everything needed to send it."""

    delivery_id: int
    attempts: int
    lease: float
    message_id: int
    message_uid: str
    payload: bytes
    endpoint_id: int
    endpoint_uid: str
    url: str
    secrets: list[str]
    max_concurrency: int
    disabled: bool
    failing_since: float | None


def _relaxed_commit(conn: Connection) -> None:
    """On PostgreSQL, let this transaction commit without waiting for the WAL flush.

    Only for claims and results, never for :func:`enqueue`: if the database
    crashes before the flush, a lost claim returns the row to the queue and a
    lost result lets its lease lapse, so the message is sent again (a
    duplicate), never lost.  It takes two disk flushes off every delivery
    round, which is most of the worker's wait on a busy disk.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit TO OFF"))


def claim_due(store: Store, limit: int, lease_seconds: float, now: float | None = None) -> list[Claim]:
    """Take up to ``limit`` due deliveries (pending and due, or delivering with a lapsed lease)."""
    when = time.time() if now is None else now
    lease = when + lease_seconds
    d = WebhookDeliveryRow
    due = (
        sa_select(col(d.id))
        .where(
            or_(
                and_(col(d.status) == PENDING, col(d.next_attempt_at) <= when),
                and_(col(d.status) == DELIVERING, col(d.claimed_until) < when),
            )
        )
        .order_by(col(d.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with store.engine.begin() as conn:
        _relaxed_commit(conn)
        ids = [
            _int(r[0])
            for r in conn.execute(
                update(d)
                .where(col(d.id).in_(due.scalar_subquery()))
                .values(status=DELIVERING, claimed_until=lease, updated_at=when)
                .returning(col(d.id))
            )
        ]
        if not ids:
            return []
        m, e = WebhookMessageRow, WebhookEndpointRow
        rows = conn.execute(
            sa_select(
                col(d.id),
                col(d.attempts),
                col(m.id),
                col(m.uid),
                col(m.payload),
                col(e.id),
                col(e.uid),
                col(e.url),
                col(e.secret),
                col(e.previous_secret),
                col(e.previous_expires_at),
                col(e.max_concurrency),
                col(e.disabled),
                col(e.failing_since),
            )
            .join(m, col(m.id) == col(d.message_id))
            .join(e, col(e.id) == col(d.endpoint_id))
            .where(col(d.id).in_(ids))
            .order_by(col(d.id))
        ).all()
    claims: list[Claim] = []
    for r in rows:
        keys = [str(r[8])]
        if r[9] and r[10] is not None and float(r[10]) > when:
            keys.append(str(r[9]))
        claims.append(
            Claim(
                delivery_id=_int(r[0]),
                attempts=_int(r[1]),
                lease=lease,
                message_id=_int(r[2]),
                message_uid=str(r[3]),
                payload=str(r[4]).encode("utf-8"),
                endpoint_id=_int(r[5]),
                endpoint_uid=str(r[6]),
                url=str(r[7]),
                secrets=keys,
                max_concurrency=int(r[11]),
                disabled=bool(r[12]),
                failing_since=None if r[13] is None else float(r[13]),
            )
        )
    return claims


def renew_lease(store: Store, claim: Claim, lease_seconds: float, now: float | None = None) -> bool:
    """Extend ``claim``'s lease as its request is about to go out; False when another worker took it.

    A batch waits on per-endpoint limits before each request: against a slow
    receiver the wait alone outlasted the lease, another worker claimed the
    row, and both sent it.  Renewing right before sending (and sending only
    when the renewal held) means a request goes out only under a live lease.
    """
    d = WebhookDeliveryRow
    lease = (time.time() if now is None else now) + lease_seconds
    with store.engine.begin() as conn:
        renewed = conn.execute(
            update(d)
            .where(col(d.id) == claim.delivery_id, col(d.status) == DELIVERING, col(d.claimed_until) == claim.lease)
            .values(claimed_until=lease)
        ).rowcount
    if renewed != 1:
        return False
    claim.lease = lease
    return True


@dataclass
class AttemptResult:
    """What one attempt did, and what should happen next.

    ``outcome`` is ``succeeded``, ``retry`` (at ``next_attempt_at``), ``failed``
    (retries exhausted), ``gone`` (410: disable the endpoint) or ``skipped``
    (the endpoint was disabled or deleted; no request was made).
    """

    claim: Claim
    outcome: str
    started_at: float
    latency_ms: float = 0.0
    status_code: int | None = None
    response: str = ""
    error: str | None = None
    next_attempt_at: float | None = None


@dataclass
class EndpointDisabled:
    """An endpoint the last batch disabled, for the ``endpoint.disabled`` event."""

    endpoint_uid: str
    url: str
    reason: str
    failing_since: float | None


def record_results(
    store: Store, results: Iterable[AttemptResult], worker: str, disable_after: float, now: float | None = None
) -> list[EndpointDisabled]:
    """Log each attempt and move its delivery on, in one transaction; return endpoints disabled now.

    A delivery whose lease lapsed (another worker took it) keeps its new
    owner's state: the attempt is still logged, because the request was sent.
    """
    when = time.time() if now is None else now
    d, e = WebhookDeliveryRow, WebhookEndpointRow
    disabled: list[EndpointDisabled] = []
    results = list(results)
    with store.engine.begin() as conn:
        _relaxed_commit(conn)
        attempts = [
            {
                "delivery_id": r.claim.delivery_id,
                "endpoint_id": r.claim.endpoint_id,
                "message_id": r.claim.message_id,
                "attempt": r.claim.attempts + 1,
                "started_at": r.started_at,
                "latency_ms": round(r.latency_ms, 3),
                "status_code": r.status_code,
                "response": r.response[:RESPONSE_LIMIT],
                "error": r.error,
                "next_attempt_at": r.next_attempt_at if r.outcome == "retry" else None,
                "worker": worker[:64],
            }
            for r in results
            if r.outcome != "skipped"
        ]
        if attempts:
            conn.execute(insert(WebhookAttemptRow), attempts)
        # One executemany for the batch; ``coalesce`` keeps the due time of rows that are not retried.
        changes = [
            {
                "b_id": r.claim.delivery_id,
                "b_lease": r.claim.lease,
                "b_status": {"succeeded": SUCCEEDED, "retry": PENDING}.get(r.outcome, FAILED),
                "b_tried": 0 if r.outcome == "skipped" else 1,
                "b_next": r.next_attempt_at if r.outcome == "retry" else None,
                "b_code": r.status_code,
            }
            for r in results
        ]
        if changes:
            conn.execute(
                update(d)
                .where(
                    col(d.id) == bindparam("b_id"),
                    col(d.status) == DELIVERING,
                    col(d.claimed_until) == bindparam("b_lease"),
                )
                .values(
                    status=bindparam("b_status"),
                    attempts=col(d.attempts) + bindparam("b_tried"),
                    next_attempt_at=func.coalesce(bindparam("b_next", type_=Float), col(d.next_attempt_at)),
                    claimed_until=None,
                    updated_at=when,
                    last_status_code=bindparam("b_code", type_=Integer),
                ),
                changes,
            )
        # Endpoint health: a success ends a failing run; a failure starts one or,
        # past the window (or on 410 Gone), disables the endpoint.
        by_endpoint: dict[int, list[AttemptResult]] = {}
        for r in results:
            if r.outcome != "skipped":
                by_endpoint.setdefault(r.claim.endpoint_id, []).append(r)
        for endpoint_id, group in by_endpoint.items():
            last = max(group, key=lambda r: r.started_at)
            row = conn.execute(
                sa_select(col(e.uid), col(e.url), col(e.failing_since), col(e.disabled)).where(col(e.id) == endpoint_id)
            ).first()
            if row is None or row[3]:
                continue
            if last.outcome == "succeeded":
                if row[2] is not None:
                    conn.execute(update(e).where(col(e.id) == endpoint_id).values(failing_since=None))
                continue
            failing_since = float(row[2]) if row[2] is not None else min(r.started_at for r in group)
            reason = None
            if any(r.outcome == "gone" for r in group):
                reason = "the endpoint answered 410 Gone"
            elif when - failing_since >= disable_after:
                hours = (when - failing_since) / 3600
                reason = f"every attempt failed for {hours:.1f} h (limit {disable_after / 3600:.1f} h)"
            values: dict[str, object] = {"failing_since": failing_since}
            if reason:
                values.update(disabled=True, disabled_reason=reason, updated_at=when)
                disabled.append(EndpointDisabled(str(row[0]), str(row[1]), reason, failing_since))
            conn.execute(update(e).where(col(e.id) == endpoint_id).values(**values))
    return disabled


def resend(
    store: Store,
    message_uid: str,
    endpoint_uid: str | None = None,
    now: float | None = None,
    owner: int | None = None,
) -> int:
    """Send a message again (to one endpoint or every one it was owed to); return deliveries queued.

    ``owner`` (a key's id) limits it to that key's endpoints; None is an admin's resend, to any.
    """
    when = time.time() if now is None else now
    m, d, e = WebhookMessageRow, WebhookDeliveryRow, WebhookEndpointRow
    with store.engine.begin() as conn:
        message_id = conn.execute(sa_select(col(m.id)).where(col(m.uid) == message_uid)).scalar_one_or_none()
        if message_id is None:
            raise KeyError(message_uid)
        stmt = sa_select(col(e.id)).where(col(e.disabled).is_(False))
        if owner is not None:
            stmt = stmt.where(col(e.owner_key_id) == owner)
        if endpoint_uid is not None:
            stmt = stmt.where(col(e.uid) == endpoint_uid)
        else:
            stmt = stmt.where(col(e.id).in_(sa_select(col(d.endpoint_id)).where(col(d.message_id) == message_id)))
        endpoint_ids = [_int(r[0]) for r in conn.execute(stmt)]
        return _requeue(conn, message_id, endpoint_ids, when)


def _requeue(conn: Connection, message_id: int, endpoint_ids: list[int], when: float) -> int:
    d = WebhookDeliveryRow
    count = 0
    for endpoint_id in endpoint_ids:
        existing = conn.execute(
            sa_select(col(d.id), col(d.status)).where(
                col(d.message_id) == message_id, col(d.endpoint_id) == endpoint_id
            )
        ).first()
        if existing is None:
            conn.execute(
                insert(d).values(
                    message_id=message_id,
                    endpoint_id=endpoint_id,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=when,
                    created_at=when,
                    updated_at=when,
                )
            )
        elif existing[1] == DELIVERING:
            continue  # in flight right now: it is being sent already
        else:
            conn.execute(
                update(d)
                .where(col(d.id) == existing[0])
                .values(status=PENDING, next_attempt_at=when, claimed_until=None, updated_at=when)
            )
        count += 1
    return count


def recover(store: Store, endpoint_uid: str, since: float, until: float, now: float | None = None) -> int:
    """Queue again every message in ``[since, until]`` this endpoint wants and did not receive.

    Covers failed deliveries and messages stored while the endpoint was
    disabled (they have no delivery yet).  Returns how many were queued.
    """
    when = time.time() if now is None else now
    m, d, e = WebhookMessageRow, WebhookDeliveryRow, WebhookEndpointRow
    with store.engine.begin() as conn:
        ep = conn.execute(sa_select(col(e.id), col(e.event_types)).where(col(e.uid) == endpoint_uid)).first()
        if ep is None:
            raise KeyError(endpoint_uid)
        endpoint_id, types = _int(ep[0]), list(ep[1] or [])
        delivered = sa_select(col(d.message_id)).where(
            col(d.endpoint_id) == endpoint_id, col(d.status).in_([SUCCEEDED, PENDING, DELIVERING])
        )
        rows = conn.execute(
            sa_select(col(m.id), col(m.event_type)).where(
                col(m.created_at) >= since, col(m.created_at) <= until, col(m.id).not_in(delivered)
            )
        ).all()
        count = 0
        for message_id, event_type in rows:
            if matches(types, str(event_type)):
                count += _requeue(conn, _int(message_id), [endpoint_id], when)
        return count


def delete_endpoint(store: Store, endpoint_uid: str) -> bool:
    """Remove an endpoint with its deliveries and attempt log; messages stay for other endpoints."""
    d, a, e = WebhookDeliveryRow, WebhookAttemptRow, WebhookEndpointRow
    with store.engine.begin() as conn:
        endpoint_id = conn.execute(sa_select(col(e.id)).where(col(e.uid) == endpoint_uid)).scalar_one_or_none()
        if endpoint_id is None:
            return False
        conn.execute(delete(a).where(col(a.endpoint_id) == endpoint_id))
        conn.execute(delete(d).where(col(d.endpoint_id) == endpoint_id))
        conn.execute(delete(e).where(col(e.id) == endpoint_id))
    return True


def delivery_counts(store: Store) -> dict[str, int]:
    """How many deliveries are in each status (for ``/readyz`` and the benchmarks)."""
    d = WebhookDeliveryRow
    with store.engine.connect() as conn:
        return {str(s): int(n) for s, n in conn.execute(sa_select(col(d.status), func.count()).group_by(col(d.status)))}
