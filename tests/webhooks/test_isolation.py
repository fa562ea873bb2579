"""API keys are isolated (issue 16, item 5): a key sees and changes only the endpoints it created.

Two keys A and B and an admin key, over real HTTP requests to the app, on SQLite and on
the real PostgreSQL (the stream test also over the real Redis). Key B must get exactly the
404 an endpoint that does not exist gets, so it cannot even learn that A's endpoint exists.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from standardwebhooks import Webhook

from empathy.core.model import Event
from empathy.core.store.db import _alembic_config, make_engine
from empathy.webhooks import app as app_module
from empathy.webhooks.keys import ADMIN, create_api_key, revoke_api_key
from tests.webhooks.conftest import Running
from tests.webhooks.receiver import Receiver

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'isolation.db'}"
    return str(request.getfixturevalue("postgres_url"))


class As:
    """Requests made with one API key."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, json=body or {}, headers=self.headers)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(path, json=body, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self.headers)


def _keys(running: Running) -> tuple[As, As, As]:
    store = running.service.store
    a = As(running.client, create_api_key(store, "team-a"))
    b = As(running.client, create_api_key(store, "team-b"))
    admin = As(running.client, create_api_key(store, "ops", ADMIN))
    return a, b, admin


def _subscribe(who: As, url: str, **body: Any) -> dict[str, Any]:
    answer = who.post("/v1/endpoints", {"url": url, **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _emit(running: Running, event_type: str = "forecast.made", **data: Any) -> None:
    running.service.emit(Event(event_type, data or {"repo_id": 1, "path": "a.py"}, time.time()))


def _same_as_missing(answer: Any, what: str, uid: str) -> None:
    """A refused request looks exactly like one for an id that does not exist."""
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"detail": f"no {what} {uid}"}


def test_a_key_cannot_read_or_change_another_keys_endpoint(
    make_service: Callable[..., Running], receiver: Receiver, database_url: str
) -> None:
    running = make_service(database_url)
    a, b, admin = _keys(running)
    ep_a = _subscribe(a, receiver.url + "/a", event_types=["forecast.made"])
    ep_b = _subscribe(b, receiver.url + "/b", event_types=["forecast.made", "cycle.detected"])
    base = f"/v1/endpoints/{ep_a['id']}"

    # listing: each key sees its own endpoint only, the admin key both, each with its owner's name
    assert [e["id"] for e in a.get("/v1/endpoints").json()] == [ep_a["id"]]
    assert [(e["id"], e["owner"]) for e in b.get("/v1/endpoints").json()] == [(ep_b["id"], "team-b")]
    assert {(e["id"], e["owner"]) for e in admin.get("/v1/endpoints").json()} == {
        (ep_a["id"], "team-a"),
        (ep_b["id"], "team-b"),
    }

    # B gets the answer a made-up id gets, for every route about A's endpoint
    assert b.get("/v1/endpoints/ep_doesnotexist").json() == {"detail": "no endpoint ep_doesnotexist"}
    _same_as_missing(b.get(base), "endpoint", ep_a["id"])
    _same_as_missing(b.get(base + "/secret"), "endpoint", ep_a["id"])
    _same_as_missing(b.get(base + "/attempts"), "endpoint", ep_a["id"])
    _same_as_missing(b.patch(base, {"url": receiver.url + "/stolen"}), "endpoint", ep_a["id"])
    _same_as_missing(b.patch(base, {"disabled": True}), "endpoint", ep_a["id"])
    _same_as_missing(b.post(base + "/rotate-secret", {"secret": ep_b["secret"]}), "endpoint", ep_a["id"])
    _same_as_missing(b.post(base + "/recover", {"since": 0}), "endpoint", ep_a["id"])
    _same_as_missing(b.delete(base), "endpoint", ep_a["id"])

    # ...and none of it changed anything: A's endpoint, URL and secret are as A made them
    mine = a.get(base).json()
    assert mine["url"] == receiver.url + "/a" and mine["disabled"] is False and mine["owner"] == "team-a"
    assert a.get(base + "/secret").json()["secret"] == ep_a["secret"]

    # messages: one event both endpoints want, one only B's wants
    _emit(running)
    _emit(running, "cycle.detected", repo_id=1, path="b.py", reason="r")
    got = receiver.wait_for(3)
    by_path = {r.path: r for r in got}
    shared = json.loads(by_path["/a"].body)
    Webhook(ep_a["secret"]).verify(by_path["/a"].body, by_path["/a"].headers)
    shared_id = by_path["/a"].headers["webhook-id"]
    only_b = next(r.headers["webhook-id"] for r in got if json.loads(r.body)["type"] == "cycle.detected")
    assert shared["type"] == "forecast.made"
    time.sleep(0.3)  # the attempts are recorded

    assert [m["id"] for m in a.get("/v1/messages").json()] == [shared_id]
    assert [m["id"] for m in b.get("/v1/messages").json()] == [only_b, shared_id]
    _same_as_missing(a.get(f"/v1/messages/{only_b}"), "message", only_b)
    _same_as_missing(a.get(f"/v1/messages/{only_b}/attempts"), "message", only_b)
    _same_as_missing(a.post(f"/v1/messages/{only_b}/resend"), "message", only_b)
    # the shared message's attempt log shows each key only its own endpoint's attempts
    assert {x["endpoint_id"] for x in a.get(f"/v1/messages/{shared_id}/attempts").json()} == {ep_a["id"]}
    assert {x["endpoint_id"] for x in b.get(f"/v1/messages/{shared_id}/attempts").json()} == {ep_b["id"]}
    assert len(admin.get(f"/v1/messages/{shared_id}/attempts").json()) == 2
    # B cannot resend to A's endpoint; B's resend reaches B's endpoint only
    _same_as_missing(b.post(f"/v1/messages/{shared_id}/resend", {"endpoint_id": ep_a["id"]}), "endpoint", ep_a["id"])
    assert b.post(f"/v1/messages/{shared_id}/resend").json() == {"queued": 1}
    again = receiver.wait_for(4)[3]
    assert again.path == "/b" and again.headers["webhook-id"] == shared_id
    time.sleep(0.3)
    assert [r.path for r in receiver.received].count("/a") == 1

    # the admin key can do what B could not
    assert admin.get(base + "/secret").json()["secret"] == ep_a["secret"]
    assert admin.patch(base, {"description": "seen by ops"}).json()["description"] == "seen by ops"
    assert admin.get(f"/v1/messages/{only_b}").status_code == 200
    assert admin.delete(base).status_code == 204
    assert a.get(base).status_code == 404  # gone for everyone

    # a revoked key is refused at once, on every route, before any body is read
    revoke_api_key(running.service.store, "team-b")
    assert b.get("/v1/endpoints").status_code == 401
    assert b.post("/v1/endpoints", {"url": receiver.url}).status_code == 401
    assert b.get(f"/v1/endpoints/{ep_b['id']}").status_code == 401
    assert admin.get(f"/v1/endpoints/{ep_b['id']}").json()["owner"] == "team-b"  # its endpoint stays, for admins


def test_recover_goes_back_only_to_the_endpoints_creation(
    make_service: Callable[..., Running], receiver: Receiver, database_url: str
) -> None:
    """Messages stored before B's endpoint existed were never owed to it: B cannot pull them in."""
    running = make_service(database_url)
    a, b, admin = _keys(running)
    _subscribe(a, receiver.url + "/a", event_types=["forecast.made"])
    _emit(running)
    receiver.wait_for(1)
    time.sleep(0.05)
    ep_b = _subscribe(b, receiver.url + "/b", event_types=["forecast.made"])
    assert b.post(f"/v1/endpoints/{ep_b['id']}/recover", {"since": 0}).json() == {"queued": 0}
    assert b.get("/v1/messages").json() == []
    # an admin may go further back for any endpoint
    assert admin.post(f"/v1/endpoints/{ep_b['id']}/recover", {"since": 0}).json() == {"queued": 1}
    assert receiver.wait_for(2)[1].path == "/b"


def test_a_disabled_endpoint_is_announced_to_its_owner_and_admins_only(
    make_service: Callable[..., Running], receiver: Receiver, database_url: str
) -> None:
    """``endpoint.disabled`` names the endpoint and its URL: another key's endpoints never get it."""
    receiver.responder = lambda r: (410, {}, b"", 0.0) if r.path == "/gone" else (200, {}, b"", 0.0)
    running = make_service(database_url)
    a, b, admin = _keys(running)
    gone = _subscribe(a, receiver.url + "/gone", event_types=["forecast.made"])
    for who, path in ((a, "/ops-a"), (b, "/ops-b"), (admin, "/ops-admin")):
        _subscribe(who, receiver.url + path, event_types=["endpoint.*"])
    _emit(running)
    receiver.wait_for(1, path="/ops-a")
    (notice,) = receiver.wait_for(1, path="/ops-admin")
    assert json.loads(notice.body)["data"]["endpoint_id"] == gone["id"]
    time.sleep(0.5)
    assert not [r for r in receiver.received if r.path == "/ops-b"]
    assert b.get("/v1/messages?event_type=endpoint.disabled").json() == []


def _read(client: TestClient, key: str, query: str, lines: list[str]) -> None:
    with client.stream("GET", f"/v1/stream?{query}", headers={"Authorization": f"Bearer {key}"}) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            lines.append(line)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres+redis", marks=pytest.mark.postgres)], ids=["sqlite", "postgres-redis"]
)
def test_the_stream_shows_a_key_only_its_own_endpoints_notices_and_ends_when_revoked(
    make_service: Callable[..., Running],
    receiver: Receiver,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "STREAM_TICK", 0.2)
    if backend == "sqlite":
        running = make_service()
    else:
        stream = f"empathy:test:{uuid.uuid4().hex}"
        running = make_service(request.getfixturevalue("postgres_url"), redis_url=REDIS, stream=stream)
    store = running.service.store
    key_a, key_b = create_api_key(store, "team-a"), create_api_key(store, "team-b")
    ep_a = _subscribe(As(running.client, key_a), receiver.url + "/a", event_types=["cycle.detected"])
    seen_a: list[str] = []
    seen_b: list[str] = []
    query = "types=endpoint.*,forecast.made&max_events=1"
    readers = [
        threading.Thread(target=_read, args=(running.client, key, query, seen), daemon=True)
        for key, seen in ((key_a, seen_a), (key_b, seen_b))
    ]
    for reader in readers:
        reader.start()
    time.sleep(0.5)
    notice = {"endpoint_id": ep_a["id"], "url": receiver.url + "/a", "reason": "the endpoint answered 410 Gone"}
    running.service.emit(Event("endpoint.disabled", notice, time.time()))
    _emit(running)
    for reader in readers:
        reader.join(timeout=10)
    events = [[json.loads(x[6:])["type"] for x in seen if x.startswith("data: ")] for seen in (seen_a, seen_b)]
    assert events == [["endpoint.disabled"], ["forecast.made"]]

    # a stream left open when its key is revoked ends within a tick
    lines: list[str] = []
    reader = threading.Thread(target=_read, args=(running.client, key_b, "types=forecast.made", lines), daemon=True)
    reader.start()
    time.sleep(0.3)
    revoke_api_key(store, "team-b")
    reader.join(timeout=10)
    assert not reader.is_alive() and ": the API key was revoked" in lines
    if backend != "sqlite":
        running.service.bus._redis.delete(stream)


def test_endpoints_from_before_ownership_are_admin_only(
    make_service: Callable[..., Running], database_url: str
) -> None:
    """A store from before migration 0011: its endpoints have no owner; its keys see none of them."""
    from alembic import command

    engine = make_engine(database_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    old_key = "emp_" + uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO webhook_api_key (name, prefix, key_hash, created_at, revoked)"
                " VALUES ('old', :prefix, :hash, 0, false)"
            ),
            {"prefix": old_key[:10], "hash": hashlib.sha256(old_key.encode()).hexdigest()},
        )
        conn.execute(
            text(
                "INSERT INTO webhook_endpoint (uid, url, description, event_types, secret, max_concurrency,"
                " disabled, created_at, updated_at)"
                " VALUES ('ep_legacy', 'https://example.com/hook', '', '[]', 'whsec_x', 10, false, 0, 0)"
            )
        )
    engine.dispose()
    running = make_service(database_url)  # opening the store migrates it
    old = As(running.client, old_key)
    admin = As(running.client, create_api_key(running.service.store, "ops", ADMIN))
    assert old.get("/v1/endpoints").json() == []
    _same_as_missing(old.get("/v1/endpoints/ep_legacy/secret"), "endpoint", "ep_legacy")
    (legacy,) = admin.get("/v1/endpoints").json()
    assert legacy["id"] == "ep_legacy" and legacy["owner"] is None
    assert admin.get("/v1/endpoints/ep_legacy/secret").json()["secret"] == "whsec_x"
