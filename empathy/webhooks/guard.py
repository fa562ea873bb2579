"""Authenticate first, cap every body: nothing reads a request an unknown caller sent.

FastAPI reads and parses a JSON body before it resolves the dependencies that
check the API key, so a 200 MB body with no key was parsed (and held in
memory) before its 401.  This ASGI middleware runs in front: for the routes
that need a key it checks the key from the headers (or ``?api_key=``) first,
and for every route it refuses a body over the route's limit, by its
``Content-Length`` or, for a streamed body, as soon as the bytes read pass it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException

__all__ = ["KEY_CHECKED", "MAX_API_BODY", "RequestGuard", "needs_key"]

#: The request state's entry holding who the guard found the API key to be (set once it accepted the key).
KEY_CHECKED = "empathy_api_key_checked"

#: The JSON API's requests are small (an endpoint, a patch); inbound events and GitHub's have their own cap.
MAX_API_BODY = 1024 * 1024
#: Routes that authenticate otherwise (a signature on the body, or none: health, the gate's verdict,
#: the catalog, and the API's own documentation: ``/docs``, ``/redoc``, their assets, ``/openapi.json``).
_PUBLIC = ("/v1/events", "/v1/gate/", "/v1/event-types")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def needs_key(path: str) -> bool:
    """Whether the route at ``path`` (a request path or an OpenAPI template) takes an API key."""
    return path.startswith("/v1/") and not path.startswith(_PUBLIC)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit (FastAPI passes HTTPExceptions on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes")


class RequestGuard:
    """ASGI middleware: the API key before the body, and a size limit on every body."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        check_key: Callable[[str], object | None],
        max_body: int,
    ) -> None:
        """``check_key(key)`` returns who the key is (kept for the route), or None for no valid key."""
        self.app = app
        self.check_key = check_key
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.max_body if path in ("/github", "/v1/events") else MAX_API_BODY
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if needs_key(path):
            key = _key(headers, scope)
            caller = await asyncio.to_thread(self.check_key, key)
            if caller is None:
                await _answer(send, 401, {"detail": "a valid API key is required"}, {b"www-authenticate": b"Bearer"})
                return
            scope.setdefault("state", {})[KEY_CHECKED] = caller  # the route's own check need not ask again
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _answer(send, 413, {"detail": f"the body is larger than {limit} bytes"})
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _key(headers: dict[bytes, bytes], scope: Scope) -> str:
    auth = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    return (query.get("api_key") or [""])[0]


async def _answer(send: Send, status: int, body: dict[str, Any], extra: dict[bytes, bytes] | None = None) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers += list((extra or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
