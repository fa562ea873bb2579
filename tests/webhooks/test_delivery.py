"""Signed, durable delivery to a real loopback receiver, on SQLite and PostgreSQL.

Every delivered request is checked by the independent ``standardwebhooks``
library (the reference implementation), never by our own verifier.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from standardwebhooks import Webhook

from empathy.core.model import Event
from empathy.webhooks.catalog import OPERATIONAL
from empathy.webhooks.delivery import RetryPolicy
from tests.webhooks.conftest import Running
from tests.webhooks.receiver import Received, Receiver


def _verify(secret: str, request: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def _emit(running: Running, event_type: str = "forecast.made", **data: Any) -> None:
    running.service.emit(Event(event_type, data or {"repo": "r", "path": "a.py"}, time.time()))


def test_event_is_delivered_signed_and_logged(
    make_service: Callable[..., Running], receiver: Receiver, store_url: str
) -> None:
    running = make_service(store_url)
    endpoint = running.subscribe(receiver.url + "/hook", event_types=["forecast.made"])
    _emit(running, "forecast.made", repo="r", path="a.py", probability=0.4, horizon_days=90)
    _emit(running, "cycle.detected", repo="r", paths=["a", "b"])  # filtered out
    (got,) = receiver.wait_for(1)
    payload = _verify(endpoint["secret"], got)
    assert payload["type"] == "forecast.made"
    assert payload["data"]["probability"] == 0.4
    assert got.headers["webhook-id"].startswith("msg_")
    assert json.loads(got.body) == payload  # the signature covers the exact bytes sent
    time.sleep(0.3)
    assert len(receiver.received) == 1
    log = running.client.get(f"/v1/endpoints/{endpoint['id']}/attempts", headers=running.auth).json()
    assert [(a["status_code"], a["error"]) for a in log] == [(200, None)]
    assert log[0]["message_id"] == got.headers["webhook-id"]


def test_failures_are_retried_with_the_same_id(make_service: Callable[..., Running], receiver: Receiver) -> None:
    answers = iter([500, 503, 200])
    receiver.responder = lambda _r: (next(answers), {}, b"nope", 0.0)
    running = make_service(retry=RetryPolicy([0, 0.1, 0.1, 0.1], jitter=lambda d: d))
    endpoint = running.subscribe(receiver.url)
    _emit(running)
    got = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    for request in got:
        _verify(endpoint["secret"], request)
    time.sleep(0.3)
    log = running.client.get(f"/v1/endpoints/{endpoint['id']}/attempts", headers=running.auth).json()
    assert sorted(a["status_code"] for a in log) == [200, 500, 503]
    failed = [a for a in log if a["status_code"] != 200]
    assert all(a["next_attempt_at"] is not None and a["response"] == "nope" for a in failed)


def test_retries_stop_when_the_schedule_is_exhausted(make_service: Callable[..., Running], receiver: Receiver) -> None:
    receiver.responder = lambda _r: (500, {}, b"", 0.0)
    running = make_service(retry=RetryPolicy([0, 0.05], jitter=lambda d: d))
    running.subscribe(receiver.url)
    _emit(running)
    receiver.wait_for(2)
    time.sleep(0.5)
    assert len(receiver.received) == 2
    counts = running.client.get("/v1/messages", headers=running.auth).json()
    assert len(counts) == 1


def test_redirects_are_failures_and_not_followed(make_service: Callable[..., Running], receiver: Receiver) -> None:
    receiver.responder = lambda r: (
        (302, {"location": receiver.url + "/elsewhere"}, b"", 0.0) if r.path == "/hook" else (200, {}, b"", 0.0)
    )
    running = make_service(retry=RetryPolicy([0], jitter=lambda d: d))
    endpoint = running.subscribe(receiver.url + "/hook")
    _emit(running)
    receiver.wait_for(1)
    time.sleep(0.4)
    assert [r.path for r in receiver.received] == ["/hook"]
    (attempt,) = running.client.get(f"/v1/endpoints/{endpoint['id']}/attempts", headers=running.auth).json()
    assert attempt["status_code"] == 302 and "redirects are not followed" in attempt["error"]


def test_gone_disables_the_endpoint_and_says_so(make_service: Callable[..., Running], receiver: Receiver) -> None:
    receiver.responder = lambda r: (410, {}, b"", 0.0) if r.path == "/gone" else (200, {}, b"", 0.0)
    running = make_service()
    gone = running.subscribe(receiver.url + "/gone", event_types=["forecast.made"])
    watcher = running.subscribe(receiver.url + "/ops", event_types=["endpoint.disabled"])
    _emit(running)
    (notice,) = receiver.wait_for(1, path="/ops")
    payload = _verify(watcher["secret"], notice)
    assert payload["data"]["endpoint_id"] == gone["id"] and "410" in payload["data"]["reason"]
    jsonschema.validate(payload["data"], OPERATIONAL["endpoint.disabled"].schema)
    state = running.client.get(f"/v1/endpoints/{gone['id']}", headers=running.auth).json()
    assert state["disabled"] is True
    _emit(running)
    time.sleep(0.4)
    assert len([r for r in receiver.received if r.path == "/gone"]) == 1


def test_sustained_failure_disables_after_the_window(make_service: Callable[..., Running], receiver: Receiver) -> None:
    receiver.responder = lambda r: (500, {}, b"", 0.0) if r.path == "/down" else (200, {}, b"", 0.0)
    running = make_service(disable_after_hours=0.4 / 3600, retry=RetryPolicy([0, 0.3, 0.3, 0.3], jitter=lambda d: d))
    down = running.subscribe(receiver.url + "/down", event_types=["forecast.made"])
    running.subscribe(receiver.url + "/ops", event_types=["endpoint.disabled"])
    _emit(running)
    (notice,) = receiver.wait_for(1, path="/ops", timeout=10)
    assert json.loads(notice.body)["data"]["endpoint_id"] == down["id"]
    assert "failed for" in json.loads(notice.body)["data"]["reason"]
    # Re-enabling clears the failure run.
    patched = running.client.patch(f"/v1/endpoints/{down['id']}", json={"disabled": False}, headers=running.auth)
    assert patched.json()["disabled"] is False and patched.json()["failing_since"] is None


def test_retry_after_is_honoured(make_service: Callable[..., Running], receiver: Receiver) -> None:
    answers = iter([(429, {"retry-after": "1"}), (200, {})])

    def respond(_r: Received) -> tuple[int, dict[str, str], bytes, float]:
        status, headers = next(answers)
        return status, headers, b"", 0.0

    receiver.responder = respond
    running = make_service(retry=RetryPolicy([0, 0.05, 0.05], jitter=lambda d: d))
    running.subscribe(receiver.url)
    _emit(running)
    first, second = receiver.wait_for(2, timeout=5)
    assert second.at - first.at >= 0.95


def test_time_out_is_an_error_and_retried(make_service: Callable[..., Running], receiver: Receiver) -> None:
    answers = iter([2.0, 0.0])
    receiver.responder = lambda _r: (200, {}, b"", next(answers))
    running = make_service(timeout=0.5, retry=RetryPolicy([0, 0.05], jitter=lambda d: d))
    endpoint = running.subscribe(receiver.url)
    _emit(running)
    receiver.wait_for(2, timeout=5)
    time.sleep(0.3)
    log = running.client.get(f"/v1/endpoints/{endpoint['id']}/attempts", headers=running.auth).json()
    errors = sorted((a["error"] or "") for a in log)
    assert errors[0] == "" and "timed out" in errors[1]


def test_rotation_sends_both_signatures_during_the_overlap(
    make_service: Callable[..., Running], receiver: Receiver
) -> None:
    running = make_service()
    endpoint = running.subscribe(receiver.url)
    rotated = running.client.post(
        f"/v1/endpoints/{endpoint['id']}/rotate-secret", json={"overlap_seconds": 3600}, headers=running.auth
    ).json()
    assert rotated["secret"] != endpoint["secret"]
    _emit(running)
    (got,) = receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split()) == 2
    _verify(endpoint["secret"], got)  # a receiver still on the old secret accepts it
    _verify(rotated["secret"], got)  # and one already on the new secret too
    # After the overlap only the new secret signs.
    running.client.post(
        f"/v1/endpoints/{endpoint['id']}/rotate-secret",
        json={"overlap_seconds": 0, "secret": rotated["secret"]},
        headers=running.auth,
    )
    _emit(running)
    second = receiver.wait_for(2)[1]
    assert len(second.headers["webhook-signature"].split()) == 1
    _verify(rotated["secret"], second)


def test_resend_and_recover(make_service: Callable[..., Running], receiver: Receiver) -> None:
    running = make_service()
    endpoint = running.subscribe(receiver.url)
    _emit(running)
    (first,) = receiver.wait_for(1)
    message_id = first.headers["webhook-id"]
    assert running.client.post(f"/v1/messages/{message_id}/resend", json={}, headers=running.auth).json() == {
        "queued": 1
    }
    again = receiver.wait_for(2)[1]
    assert again.headers["webhook-id"] == message_id and again.body == first.body
    # Disabled: events are kept; recover sends what the endpoint missed in the range.
    running.client.patch(f"/v1/endpoints/{endpoint['id']}", json={"disabled": True}, headers=running.auth)
    since = time.time()
    _emit(running)
    _emit(running)
    time.sleep(0.3)
    assert len(receiver.received) == 2
    running.client.patch(f"/v1/endpoints/{endpoint['id']}", json={"disabled": False}, headers=running.auth)
    queued = running.client.post(
        f"/v1/endpoints/{endpoint['id']}/recover", json={"since": since}, headers=running.auth
    ).json()
    assert queued == {"queued": 2}
    got = receiver.wait_for(4)
    assert len({r.headers["webhook-id"] for r in got}) == 3


def test_per_endpoint_concurrency_limit(make_service: Callable[..., Running], receiver: Receiver) -> None:
    receiver.responder = lambda _r: (200, {}, b"", 0.15)
    running = make_service()
    running.subscribe(receiver.url, max_concurrency=2)
    for _ in range(8):
        _emit(running)
    receiver.wait_for(8, timeout=10)
    assert receiver.max_in_flight == 2


def test_api_requires_a_key(make_service: Callable[..., Running]) -> None:
    running = make_service()
    assert running.client.get("/v1/endpoints").status_code == 401
    assert running.client.get("/v1/endpoints", headers={"Authorization": "Bearer emp_wrong"}).status_code == 401
    assert running.client.get("/v1/endpoints", headers=running.auth).status_code == 200


@pytest.mark.parametrize("bad", [{"event_types": ["no.such"]}, {"secret": "whsec_short"}, {"max_concurrency": 0}])
def test_bad_subscriptions_are_422(make_service: Callable[..., Running], receiver: Receiver, bad: Any) -> None:
    running = make_service()
    answer = running.client.post("/v1/endpoints", json={"url": receiver.url, **bad}, headers=running.auth)
    assert answer.status_code == 422


@pytest.mark.parametrize("raw", ['{"url": NaN}', '{"url": "%s", "max_concurrency": Infinity}', '{"url": -Infinity}'])
def test_nan_and_infinity_are_a_422_not_a_500(
    make_service: Callable[..., Running], receiver: Receiver, raw: str
) -> None:
    """Python's JSON reader accepts them; the 422 that names the field must still be valid JSON."""
    running = make_service()
    body = raw % receiver.url if "%s" in raw else raw
    headers = {**running.auth, "content-type": "application/json"}
    answer = running.client.post("/v1/endpoints", content=body, headers=headers)
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"][0] == "body" and error["input"] is None


def test_the_key_is_checked_before_the_body_and_every_body_is_capped(
    make_service: Callable[..., Running], receiver: Receiver
) -> None:
    """An unknown caller's body is never read (no key: 401, even for a body that is not JSON); a big one is 413."""
    from empathy.webhooks.guard import MAX_API_BODY

    running = make_service()
    json_type = {"content-type": "application/json"}
    assert running.client.post("/v1/endpoints", content=b"{not json", headers=json_type).status_code == 401
    big = b'{"url": "' + b"x" * (2 * MAX_API_BODY) + b'"}'
    refused = running.client.post("/v1/endpoints", content=big, headers=json_type)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    too_big = running.client.post("/v1/endpoints", content=big, headers={**running.auth, **json_type})
    assert too_big.status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit is counted while reading
        for _ in range(3):
            yield b" " * MAX_API_BODY

    streamed = running.client.post("/v1/endpoints", content=chunks(), headers={**running.auth, **json_type})
    assert streamed.status_code == 413
    ok = running.client.post("/v1/endpoints", json={"url": receiver.url}, headers=running.auth)
    assert ok.status_code == 201  # a normal request still passes
