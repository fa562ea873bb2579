"""The FastAPI application: subscriptions, the message log, inbound events, the live stream, the gate.

:func:`create_app` builds the app around one :class:`Service` (store, bus,
listener binding, GitHub queue, optionally an in-process delivery worker).
Everything a test or a benchmark needs to control is a parameter: the gate
runner, the retry policy, the HTTP transport of GitHub callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as FPath
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, text, true
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from empathy import __version__
from empathy.core.agents.orchestrator import EventBus
from empathy.core.errors import EmpathyError, ServiceConfigError
from empathy.core.helpers import json_safe
from empathy.core.host import CallResult, PluginHost, default_host
from empathy.core.model import Event
from empathy.core.store.store import Store, open_store
from empathy.core.store.tables import (
    WebhookApiKeyRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
    WebhookMessageRow,
)
from empathy.webhooks import listener, outbox
from empathy.webhooks.catalog import CATALOG, OPERATIONAL, valid_type
from empathy.webhooks.config import PLUGIN_ID, ServiceConfig
from empathy.webhooks.delivery import DeliveryWorker, RetryPolicy
from empathy.webhooks.docs_ui import mount_docs
from empathy.webhooks.github import GateRunner, GithubProcessor
from empathy.webhooks.guard import KEY_CHECKED, RequestGuard
from empathy.webhooks.keys import ApiKey, check_api_key, key_is_live
from empathy.webhooks.models import (
    AttemptOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointSecret,
    EventIn,
    EventTypeOut,
    GateOut,
    MessageOut,
    QueuedOut,
    RecoverIn,
    ResendIn,
    RotateIn,
)
from empathy.webhooks.signing import SignatureError, new_secret, verify_github, verify_standard
from empathy.webhooks.ssrf import BlockedAddress

__all__ = ["Caller", "Service", "create_app"]

log = logging.getLogger("empathy.webhooks")

#: GitHub caps payloads at 25 MB; anything larger is refused before it is read further.
MAX_BODY = 25 * 1024 * 1024


class Service:
    """The running service's parts, shared by the routes (``app.state.service``)."""

    def __init__(
        self,
        config: ServiceConfig,
        *,
        gate_runner: GateRunner | None = None,
        retry: RetryPolicy | None = None,
        deliver_in_process: bool = True,
        github_transport: httpx.BaseTransport | None = None,
        host: PluginHost | None = None,
    ) -> None:
        self.config = config
        self.policy = config.policy()
        try:
            self.store: Store = open_store(config.database_url, None)
        except EmpathyError as exc:
            raise ServiceConfigError(f"cannot open the service database: {exc.message}", exc.hint) from None
        self.bus: Any
        if config.redis_url:
            from empathy.webhooks.bus import RedisStreamBus

            self.bus = RedisStreamBus(config.redis_url, config.stream)
            if not self.bus.ping():
                raise ServiceConfigError(f"Redis at {config.redis_url} does not answer")
        else:
            self.bus = EventBus()
        self.host = host or default_host()
        if "webhooks" not in self.host.implementations("handle_event"):
            self.host.register(listener, "webhooks")
        self.retry = retry or RetryPolicy(config.retry_schedule)
        self.worker: DeliveryWorker | None = None
        if deliver_in_process:
            self.worker = DeliveryWorker(
                self.store,
                self.policy,
                self.retry,
                timeout=config.timeout,
                batch_size=config.batch_size,
                poll_interval=config.poll_interval,
                disable_after=config.disable_after_hours * 3600,
                emit=self.emit,
            )
        self.github = GithubProcessor(config, self.store, self.emit, gate_runner, github_transport)
        self._github_wake = threading.Event()
        self._stopping = threading.Event()
        self._seen_inbound: OrderedDict[str, float] = OrderedDict()
        self._seen_lock = threading.Lock()

    # -- events -----------------------------------------------------------------
    def emit(self, event: Event) -> list[CallResult]:
        """Hand an event to every ``handle_event`` listener (the webhooks one stores it); their results."""
        return self.host.call_each("handle_event", timeout=10.0, event=event)

    def _stored(self, event: Event, message_id: str | None) -> None:
        """After the listener stored an event: wake the local worker, tell the other processes."""
        if message_id is not None and self.worker is not None:
            self.worker.wake()
        try:
            self.bus.publish(event)
        except Exception as exc:  # noqa: BLE001 - the outbox has it; the live stream is best effort
            log.warning("could not publish %s: %s", event.type, exc)

    def seen_inbound(self, msg_id: str) -> bool:
        """Whether an inbound ``webhook-id`` was stored in the last 10 minutes (then drop the repeat)."""
        now = time.time()
        with self._seen_lock:
            while self._seen_inbound and next(iter(self._seen_inbound.values())) < now - 600:
                self._seen_inbound.popitem(last=False)
            return msg_id in self._seen_inbound

    def mark_inbound(self, msg_id: str) -> None:
        """Remember ``msg_id`` as stored: only after the store committed it, so a failed try can be retried."""
        with self._seen_lock:
            self._seen_inbound[msg_id] = time.time()

    # -- background work ----------------------------------------------------------
    def _github_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.github.process_pending() > 0
            except Exception:
                log.exception("GitHub queue round failed")
                busy = False
            if not busy:
                self._github_wake.wait(timeout=1.0)
                self._github_wake.clear()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        listener.bind(self.store, self._stored)
        await asyncio.to_thread(self.github.requeue_stale)
        if hasattr(self.bus, "subscribe") and self.worker is not None and self.config.redis_url:
            worker = self.worker
            unsubscribe = self.bus.subscribe(lambda _e: worker.wake())
        else:
            unsubscribe = None
        thread = threading.Thread(target=self._github_loop, name="github-queue", daemon=True)
        thread.start()
        stop = asyncio.Event()
        task = asyncio.create_task(self.worker.run(stop)) if self.worker is not None else None
        try:
            yield
        finally:
            stop.set()
            self._stopping.set()
            self._github_wake.set()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=self.config.timeout + 5)
            thread.join(timeout=5)
            if unsubscribe is not None:
                unsubscribe()
            if hasattr(self.bus, "close"):
                self.bus.close()
            listener.unbind()


_bearer = HTTPBearer(auto_error=False, description="An API key from `empathy api-key create NAME`.")

#: Seconds between an open event stream's keep-alive comments; each one also checks its key is not revoked.
STREAM_TICK = 15.0


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@dataclass(frozen=True)
class Caller:
    """Who asks (the API key's id, name and scope, never the key) and the service that answers.

    A key of scope ``own`` sees only the endpoints it created, the messages
    owed to them and their attempts; anything else answers 404, as if it did
    not exist.  An ``admin`` key sees everything (docs/webhooks.md, "Isolation").
    """

    service: Service
    key: ApiKey

    @property
    def owner(self) -> int | None:
        """The key id an endpoint must be owned by for this caller to see it; None for an admin."""
        return None if self.key.admin else self.key.id

    def sees_endpoint(self) -> ColumnElement[bool]:
        """The SQL condition on ``webhook_endpoint`` for the endpoints this caller may see."""
        return true() if self.owner is None else col(WebhookEndpointRow.owner_key_id) == self.owner

    def sees_message(self) -> ColumnElement[bool]:
        """The SQL condition on ``webhook_message``: owed (a delivery row) to an endpoint this caller sees."""
        if self.owner is None:
            return true()
        d, e = WebhookDeliveryRow, WebhookEndpointRow
        owed = (
            sa_select(col(d.id))
            .join(e, col(e.id) == col(d.endpoint_id))
            .where(col(d.message_id) == col(WebhookMessageRow.id), col(e.owner_key_id) == self.owner)
        )
        return owed.exists()


def _authorised(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """API-key authentication: ``Authorization: Bearer <key>`` (or ``?api_key=`` for EventSource)."""
    service = _service(request)
    checked = getattr(request.state, KEY_CHECKED, None)
    if isinstance(checked, ApiKey):
        return Caller(service, checked)  # the request guard checked this key before the body was read
    key = credentials.credentials if credentials is not None else request.query_params.get("api_key", "")
    found = check_api_key(service.store, key)
    if found is None:
        raise HTTPException(401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"})
    return Caller(service, found)


Authorised = Annotated[Caller, Depends(_authorised)]


def _key_names(service: Service, ids: set[int]) -> dict[int, str]:
    """The names of the API keys with these ids (an endpoint's ``owner``), in one query."""
    if not ids:
        return {}
    k = WebhookApiKeyRow
    with service.store.session() as s:
        rows = s.exec(select(k.id, k.name).where(col(k.id).in_(ids))).all()
    return {key_id: name for key_id, name in rows if key_id is not None}


def _endpoint_out(row: WebhookEndpointRow, names: dict[int, str]) -> EndpointOut:
    return EndpointOut(
        id=row.uid,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types or []),
        max_concurrency=row.max_concurrency,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
        owner=None if row.owner_key_id is None else names.get(row.owner_key_id),
    )


def _one_out(service: Service, row: WebhookEndpointRow) -> EndpointOut:
    ids = set() if row.owner_key_id is None else {row.owner_key_id}
    return _endpoint_out(row, _key_names(service, ids))


def _find_endpoint(caller: Caller, uid: str) -> WebhookEndpointRow:
    """The endpoint ``uid`` if this caller may see it; 404 otherwise (another key's endpoint is not revealed)."""
    with caller.service.store.session() as s:
        row = s.exec(
            select(WebhookEndpointRow).where(col(WebhookEndpointRow.uid) == uid, caller.sees_endpoint())
        ).first()
    if row is None:
        raise HTTPException(404, f"no endpoint {uid}")
    return row


def _vet_url(service: Service, url: str) -> None:
    try:
        service.policy.resolve(url)
    except BlockedAddress as exc:
        raise HTTPException(422, f"endpoint URL refused: {exc}") from None


def _message_out(row: WebhookMessageRow) -> MessageOut:
    return MessageOut(id=row.uid, type=row.event_type, created_at=row.created_at, payload=json.loads(row.payload))


def create_app(
    config: ServiceConfig,
    *,
    gate_runner: GateRunner | None = None,
    retry: RetryPolicy | None = None,
    deliver_in_process: bool = True,
    github_transport: httpx.BaseTransport | None = None,
    host: PluginHost | None = None,
) -> FastAPI:
    """Build the service; ``deliver_in_process=False`` when separate ``empathy worker`` processes deliver."""
    service = Service(
        config,
        gate_runner=gate_runner,
        retry=retry,
        deliver_in_process=deliver_in_process,
        github_transport=github_transport,
        host=host,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            yield

    app = FastAPI(
        title="empathy webhooks",
        version=__version__,
        description=(
            "Signed, durable, at-least-once webhooks (Standard Webhooks) for empathy's events, "
            "inbound GitHub events, a live event stream and the deployment gate's verdicts. "
            "See docs/webhooks.md."
        ),
        lifespan=lifespan,
        # served from the package by mount_docs below, not from a CDN: the page works offline
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # the key before the body, and every body capped (docs/webhooks.md, "Secrets" and "Limits")
    app.add_middleware(RequestGuard, check_key=lambda key: check_api_key(service.store, key), max_body=MAX_BODY)
    mount_docs(app)
    _routes(app)
    _document_guard(app)
    return app


def _document_guard(app: FastAPI) -> None:
    """Say in the OpenAPI schema what the request guard answers: 401 without a key, 413 for a big body."""
    from fastapi.openapi.utils import get_openapi

    from empathy.webhooks.guard import needs_key

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for path, operations in doc.get("paths", {}).items():
                for operation in operations.values():
                    answers = operation.setdefault("responses", {})
                    if needs_key(path):
                        answers.setdefault("401", {"description": "no valid API key (checked before the body)"})
                    if "requestBody" in operation:
                        answers.setdefault("413", {"description": "the body is over the size limit"})
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 (``{"detail": [...]}``), safe for any input.

    The default handler echoes the offending input; a body with ``NaN`` or
    ``Infinity`` (which Python's JSON reader accepts) then cannot be written
    back as JSON and the client got a 500 instead of its 422.
    """
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [json_safe(jsonable_encoder(json_safe(e))) for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)


def _routes(app: FastAPI) -> None:
    # -- health -----------------------------------------------------------------
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "a dependency is down"}})
    def readyz(request: Request) -> JSONResponse:
        """The database (and Redis, when configured) answer, and with `--workers` at least one worker runs."""
        service = _service(request)
        checks: dict[str, bool] = {}
        try:
            with service.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks["database"] = False
        if service.config.redis_url:
            checks["redis"] = bool(service.bus.ping())
        workers_alive = getattr(request.app.state, "workers_alive", None)
        if workers_alive is not None:  # `serve --workers N`: ready only while some worker delivers
            checks["workers"] = workers_alive() > 0
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    # -- catalog ------------------------------------------------------------------
    @app.get("/v1/event-types", tags=["catalog"], response_model=list[EventTypeOut])
    def event_types() -> list[dict[str, Any]]:
        """Every event type with the JSON schema of its ``data``."""
        items = [{**e.to_dict(), "operational": False} for e in CATALOG.values()]
        items += [{**e.to_dict(), "operational": True} for e in OPERATIONAL.values()]
        return items

    # -- endpoints ------------------------------------------------------------------
    @app.post("/v1/endpoints", tags=["endpoints"], status_code=201, response_model=EndpointSecret)
    def create_endpoint(body: EndpointIn, caller: Authorised) -> EndpointSecret:
        """Subscribe a URL; the answer holds the endpoint's ``whsec_`` secret. The calling key owns it."""
        service = caller.service
        _vet_url(service, body.url)
        now = time.time()
        row = WebhookEndpointRow(
            uid=outbox.new_endpoint_uid(),
            url=body.url,
            description=body.description,
            event_types=body.event_types,
            secret=body.secret or new_secret(),
            max_concurrency=body.max_concurrency,
            created_at=now,
            updated_at=now,
            owner_key_id=caller.key.id,
        )
        with service.store.session() as s:
            s.add(row)
            s.commit()
        return EndpointSecret(id=row.uid, secret=row.secret)

    @app.get("/v1/endpoints", tags=["endpoints"])
    def list_endpoints(caller: Authorised) -> list[EndpointOut]:
        """The calling key's endpoints (an admin key: every endpoint)."""
        with caller.service.store.session() as s:
            rows = s.exec(
                select(WebhookEndpointRow).where(caller.sees_endpoint()).order_by(col(WebhookEndpointRow.id))
            ).all()
        names = _key_names(caller.service, {r.owner_key_id for r in rows if r.owner_key_id is not None})
        return [_endpoint_out(r, names) for r in rows]

    @app.get("/v1/endpoints/{endpoint_id}", tags=["endpoints"], responses={404: {"description": "unknown"}})
    def get_endpoint(endpoint_id: str, caller: Authorised) -> EndpointOut:
        return _one_out(caller.service, _find_endpoint(caller, endpoint_id))

    @app.patch("/v1/endpoints/{endpoint_id}", tags=["endpoints"], responses={404: {"description": "unknown"}})
    def update_endpoint(endpoint_id: str, body: EndpointPatch, caller: Authorised) -> EndpointOut:
        """Change an endpoint; ``disabled: false`` re-enables it and clears its failure run."""
        service = caller.service
        row = _find_endpoint(caller, endpoint_id)
        if body.url is not None:
            _vet_url(service, body.url)
            row.url = body.url
        if body.description is not None:
            row.description = body.description
        if body.event_types is not None:
            row.event_types = body.event_types
        if body.max_concurrency is not None:
            row.max_concurrency = body.max_concurrency
        if body.disabled is not None:
            row.disabled = body.disabled
            if body.disabled:
                row.disabled_reason = "disabled through the API"
            else:
                row.disabled_reason, row.failing_since = None, None
        row.updated_at = time.time()
        with service.store.session() as s:
            s.add(row)
            s.commit()
        return _one_out(service, row)

    @app.delete(
        "/v1/endpoints/{endpoint_id}", tags=["endpoints"], status_code=204, responses={404: {"description": "unknown"}}
    )
    def delete_endpoint(endpoint_id: str, caller: Authorised) -> Response:
        _find_endpoint(caller, endpoint_id)
        if not outbox.delete_endpoint(caller.service.store, endpoint_id):
            raise HTTPException(404, f"no endpoint {endpoint_id}")
        return Response(status_code=204)

    @app.get("/v1/endpoints/{endpoint_id}/secret", tags=["endpoints"], responses={404: {"description": "unknown"}})
    def get_secret(endpoint_id: str, caller: Authorised) -> EndpointSecret:
        row = _find_endpoint(caller, endpoint_id)
        return EndpointSecret(id=row.uid, secret=row.secret, previous_expires_at=row.previous_expires_at)

    @app.post(
        "/v1/endpoints/{endpoint_id}/rotate-secret", tags=["endpoints"], responses={404: {"description": "unknown"}}
    )
    def rotate_secret(endpoint_id: str, body: RotateIn, caller: Authorised) -> EndpointSecret:
        """New secret; the old one keeps signing (a second signature) for ``overlap_seconds``."""
        service = caller.service
        row = _find_endpoint(caller, endpoint_id)
        now = time.time()
        row.previous_secret, row.previous_expires_at = row.secret, now + body.overlap_seconds
        row.secret = body.secret or new_secret()
        row.updated_at = now
        with service.store.session() as s:
            s.add(row)
            s.commit()
        return EndpointSecret(id=row.uid, secret=row.secret, previous_expires_at=row.previous_expires_at)

    @app.post("/v1/endpoints/{endpoint_id}/recover", tags=["endpoints"], responses={404: {"description": "unknown"}})
    def recover(endpoint_id: str, body: RecoverIn, caller: Authorised) -> QueuedOut:
        """Send again every message of a time range this endpoint did not receive.

        A key of scope ``own`` recovers only messages stored since its endpoint
        was created: older ones were never owed to it (an admin key may go back further).
        """
        service = caller.service
        until = body.until if body.until is not None else time.time()
        if until < body.since:
            raise HTTPException(422, "until is before since")
        row = _find_endpoint(caller, endpoint_id)
        since = body.since if caller.key.admin else max(body.since, row.created_at)
        try:
            count = outbox.recover(service.store, endpoint_id, since, until) if since <= until else 0
        except KeyError:
            raise HTTPException(404, f"no endpoint {endpoint_id}") from None
        if service.worker is not None:
            service.worker.wake()
        return QueuedOut(queued=count)

    @app.get("/v1/endpoints/{endpoint_id}/attempts", tags=["log"], responses={404: {"description": "unknown"}})
    def endpoint_attempts(
        endpoint_id: str, caller: Authorised, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[AttemptOut]:
        """The attempt log of one endpoint, newest first."""
        row = _find_endpoint(caller, endpoint_id)
        return _attempts(caller.service, col(WebhookAttemptRow.endpoint_id) == row.id, limit)

    # -- messages -----------------------------------------------------------------
    @app.get("/v1/messages", tags=["log"])
    def list_messages(
        caller: Authorised,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        event_type: Annotated[str | None, Query(max_length=128)] = None,
    ) -> list[MessageOut]:
        """Stored messages, newest first: those owed to the calling key's endpoints (an admin key: all)."""
        stmt = (
            select(WebhookMessageRow)
            .where(caller.sees_message())
            .order_by(col(WebhookMessageRow.id).desc())
            .limit(limit)
        )
        if event_type:
            stmt = stmt.where(col(WebhookMessageRow.event_type) == event_type)
        with caller.service.store.session() as s:
            rows = s.exec(stmt).all()
        return [_message_out(r) for r in rows]

    def _message(caller: Caller, message_id: str) -> WebhookMessageRow:
        with caller.service.store.session() as s:
            row = s.exec(
                select(WebhookMessageRow).where(col(WebhookMessageRow.uid) == message_id, caller.sees_message())
            ).first()
        if row is None:
            raise HTTPException(404, f"no message {message_id}")
        return row

    @app.get("/v1/messages/{message_id}", tags=["log"], responses={404: {"description": "unknown"}})
    def get_message(message_id: str, caller: Authorised) -> MessageOut:
        return _message_out(_message(caller, message_id))

    @app.get("/v1/messages/{message_id}/attempts", tags=["log"], responses={404: {"description": "unknown"}})
    def message_attempts(
        message_id: str, caller: Authorised, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[AttemptOut]:
        """Every attempt for one message (to the calling key's endpoints only, unless it is an admin key)."""
        row = _message(caller, message_id)
        where = col(WebhookAttemptRow.message_id) == row.id
        return _attempts(caller.service, where, limit, caller.sees_endpoint())

    @app.post("/v1/messages/{message_id}/resend", tags=["log"], responses={404: {"description": "unknown"}})
    def resend(message_id: str, body: ResendIn, caller: Authorised) -> QueuedOut:
        """Deliver one message again (to one endpoint, or to every endpoint of the caller's it was owed to)."""
        service = caller.service
        _message(caller, message_id)
        if body.endpoint_id is not None:
            _find_endpoint(caller, body.endpoint_id)
        try:
            count = outbox.resend(service.store, message_id, body.endpoint_id, owner=caller.owner)
        except KeyError:
            raise HTTPException(404, f"no message {message_id}") from None
        if service.worker is not None:
            service.worker.wake()
        return QueuedOut(queued=count)

    # -- inbound events -------------------------------------------------------------
    @app.post(
        "/v1/events",
        tags=["inbound"],
        status_code=202,
        responses={401: {"description": "bad signature"}, 403: {"description": "not configured"}},
    )
    async def post_event(request: Request) -> JSONResponse:
        """Publish an event (a Standard Webhooks request signed with the service's ``inbound_secret``).

        Lets a CI job (the gate) or another empathy process hand an event to the
        subscribers.  The signature is checked on the raw body before parsing.
        """
        service = _service(request)
        if not service.config.inbound_secret:
            raise HTTPException(403, "inbound events are not configured (set inbound_secret)")
        body = await _read_body(request)
        try:
            msg_id = verify_standard(service.config.inbound_secret, dict(request.headers), body)
        except SignatureError as exc:
            raise HTTPException(401, f"signature rejected: {exc}") from None
        try:
            event = EventIn.model_validate_json(body)
        except ValueError:
            raise HTTPException(422, "the body is not an event envelope {type, timestamp, data}") from None
        if not valid_type(event.type):
            raise HTTPException(422, f"event type {event.type!r} is not of the form group.action")
        if service.seen_inbound(msg_id):
            return JSONResponse({"accepted": False, "duplicate": True}, status_code=202)
        results = await asyncio.to_thread(service.emit, Event(event.type, event.data, time.time()))
        stored = [r for r in results if r.plugin == PLUGIN_ID]
        if not stored or not stored[0].ok:
            # acknowledge only what is durably stored: the sender keeps the event and retries
            why = stored[0].error if stored else "the webhooks listener is not loaded"
            log.warning("inbound event %s not stored: %s", msg_id, why)
            raise HTTPException(503, "the event could not be stored; retry later", headers={"Retry-After": "5"})
        service.mark_inbound(msg_id)
        return JSONResponse({"accepted": True, "duplicate": False}, status_code=202)

    @app.post(
        "/github",
        tags=["inbound"],
        status_code=202,
        responses={
            400: {"description": "missing GitHub headers"},
            401: {"description": "bad signature"},
            403: {"description": "not configured"},
            413: {"description": "too large"},
        },
    )
    async def github(request: Request) -> JSONResponse:
        """A GitHub webhook: verified on the raw body, de-duplicated, queued, acknowledged at once."""
        service = _service(request)
        if not service.config.github_secret:
            raise HTTPException(403, "GitHub webhooks are not configured (set github_secret)")
        body = await _read_body(request)
        try:
            verify_github(service.config.github_secret, request.headers.get("x-hub-signature-256"), body)
        except SignatureError as exc:
            raise HTTPException(401, f"signature rejected: {exc}") from None
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if not event or not delivery or len(delivery) > 64 or len(event) > 64:
            raise HTTPException(400, "X-GitHub-Event and X-GitHub-Delivery are required")
        try:
            json.loads(body)
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None
        fresh = await asyncio.to_thread(service.github.receive, delivery, event, body)
        if fresh:
            service._github_wake.set()
        return JSONResponse({"queued": fresh, "duplicate": not fresh}, status_code=202)

    # -- live stream ------------------------------------------------------------------
    @app.get(
        "/v1/stream",
        tags=["stream"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    )
    async def stream(
        request: Request,
        caller: Authorised,
        types: Annotated[str | None, Query(max_length=2000, description="comma-separated filter")] = None,
        max_events: Annotated[int | None, Query(ge=1, le=1_000_000, description="close after this many")] = None,
    ) -> StreamingResponse:
        """Every event as it happens, as Server-Sent Events (``event:`` is the type).

        Events are the service's, shared by every key, except operational events
        about an endpoint (``endpoint.disabled``): a key of scope ``own`` sees only
        those about its own endpoints.  The stream ends within ``STREAM_TICK``
        seconds of its key being revoked.
        """
        service = caller.service
        wanted = [t.strip() for t in (types or "").split(",") if t.strip()]
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)

        def push(event: Event) -> None:
            if outbox.matches(wanted, event.type):
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_offer, queue, event)

        unsubscribe: Callable[[], None] = service.bus.subscribe(push)

        async def events() -> AsyncIterator[bytes]:
            sent = 0
            checked = time.monotonic()
            try:
                yield b": connected\n\n"
                while max_events is None or sent < max_events:
                    if await request.is_disconnected():
                        break
                    if time.monotonic() - checked >= STREAM_TICK:
                        if not await asyncio.to_thread(key_is_live, service.store, caller.key.id):
                            yield b": the API key was revoked\n\n"
                            break
                        checked = time.monotonic()
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=STREAM_TICK)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    if not await _may_see(caller, event):
                        continue
                    sent += 1
                    data = json.dumps(
                        {"type": event.type, "timestamp": event.timestamp, "data": event.data},
                        separators=(",", ":"),
                        default=str,
                    )
                    yield f"id: {sent}\nevent: {event.type}\ndata: {data}\n\n".encode()
            finally:
                unsubscribe()

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    # -- the gate -----------------------------------------------------------------------
    @app.get(
        "/v1/gate/{sha}",
        tags=["gate"],
        responses={404: {"description": "no verdict for this commit"}, 409: {"description": "strict: not approved"}},
    )
    def gate(
        request: Request,
        sha: Annotated[str, FPath(pattern=r"^[0-9a-fA-F]{7,64}$")],
        strict: bool = False,
    ) -> JSONResponse:
        """The latest gate verdict for a commit (read-only, no key, for canary tools).

        ``strict=true`` answers 409 unless the decision is approved, for hooks
        that only look at the status code (Flagger's confirm-promotion).
        """
        service = _service(request)
        found = service.store.gate_decision_for(sha)
        if found is None:
            raise HTTPException(404, f"no gate verdict for {sha}")
        row, repo_key = found
        if row.report.get("gate_failed"):
            # the gate could not decide: approved only as the service answered GitHub (gate_fail_open)
            approved = row.report.get("state") == "approved"
        else:
            approved = row.decision in service.config.approve_decisions
        out = GateOut(
            sha=row.head,
            base=row.base,
            decision=row.decision,
            risk=None if row.decision == "inconclusive" else row.risk,
            trust=row.trust,
            approved=approved,
            created_at=row.created_at,
            repo=str(repo_key),
        )
        return JSONResponse(out.model_dump(), status_code=409 if strict and not approved else 200)


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    """Queue an event for a stream; a reader too slow to keep up loses the oldest events."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(event)


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise HTTPException(413, "the body is too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, "the body is too large")
    return body


async def _may_see(caller: Caller, event: Event) -> bool:
    """Whether the stream shows ``event`` to this caller: an operational event only to its endpoint's owner."""
    if caller.owner is None or event.type not in OPERATIONAL:
        return True
    uid = str(event.data.get("endpoint_id", ""))

    def owned() -> bool:
        e = WebhookEndpointRow
        with caller.service.store.engine.connect() as conn:
            found = conn.execute(sa_select(col(e.owner_key_id)).where(col(e.uid) == uid)).first()
        return found is not None and found[0] == caller.owner

    return await asyncio.to_thread(owned)


def _attempts(
    service: Service, where: Any, limit: int, endpoints: ColumnElement[bool] | None = None
) -> list[AttemptOut]:
    """Attempts matching ``where``, newest first; ``endpoints`` limits them to endpoints a caller sees."""
    a, m, e = WebhookAttemptRow, WebhookMessageRow, WebhookEndpointRow
    stmt = (
        select(a, m.uid, e.uid)
        .join(m, col(m.id) == col(a.message_id))
        .join(e, col(e.id) == col(a.endpoint_id))
        .where(where, true() if endpoints is None else endpoints)
        .order_by(col(a.id).desc())
        .limit(limit)
    )
    with service.store.session() as s:
        rows = s.exec(stmt).all()
    return [
        AttemptOut(
            attempt=r.attempt,
            message_id=str(muid),
            endpoint_id=str(euid),
            started_at=r.started_at,
            latency_ms=r.latency_ms,
            status_code=r.status_code,
            response=r.response,
            error=r.error,
            next_attempt_at=r.next_attempt_at,
            worker=r.worker,
        )
        for r, muid, euid in rows
    ]
