"""Signatures: published vectors, and malformed headers answered 401 (never 500) over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from empathy.webhooks.signing import SignatureError, new_secret, sign, verify_github, verify_standard
from tests.webhooks.conftest import Running
from tests.webhooks.receiver import Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_standard_webhooks_published_vector() -> None:
    """The vector of the reference library's own test suite."""
    ours = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert ours == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    theirs = Webhook(SECRET).sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(1614265330, tz=UTC), '{"test": 2432232314}'
    )
    assert ours == theirs


def test_github_documented_vector() -> None:
    """docs.github.com "Validating webhook deliveries": secret, payload and expected digest."""
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    verify_github("It's a Secret to Everybody", expected, b"Hello, World!")
    with pytest.raises(SignatureError):
        verify_github("It\u2019s a Secret to Everybody", expected, b"Hello, World!")  # typographic apostrophe
    with pytest.raises(SignatureError):
        verify_github("It's a Secret to Everybody", expected, b"Hello, World?")


def test_our_signer_is_accepted_by_the_reference_verifier() -> None:
    secret = new_secret()
    body = b'{"type":"x.y","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    ts = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, "msg_1", ts, body),
    }
    assert Webhook(secret).verify(body, headers)["type"] == "x.y"
    assert verify_standard(secret, headers, body) == "msg_1"


def _signed(secret: str, body: bytes) -> dict[str, str]:
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


BODY = json.dumps({"type": "forecast.made", "data": {"repo": "r", "path": "a.py"}}).encode()


def _malformed(secret: str) -> dict[str, dict[str, str]]:
    good = _signed(secret, BODY)
    sig = good["webhook-signature"].split(",", 1)[1]
    return {
        "no comma": {**good, "webhook-signature": "v1=" + sig},
        "bad base64": {**good, "webhook-signature": "v1,@@not-base64@@"},
        "short signature": {**good, "webhook-signature": "v1,AAAA"},
        "non-numeric timestamp": {**good, "webhook-timestamp": "NaN"},
        "negative timestamp": {**good, "webhook-timestamp": "-1"},
        "stale timestamp": _stale(secret),
        "non-ASCII signature": {**good, "webhook-signature": "v1,\u00e9\u00e9"},
        "non-ASCII id": {**good, "webhook-id": "msg_\u00e9"},
        "missing signature": {k: v for k, v in good.items() if k != "webhook-signature"},
        "wrong secret": _signed(new_secret(), BODY),
        "only v1a": {**good, "webhook-signature": "v1a," + sig},
        "empty": {**good, "webhook-signature": ""},
    }


def _stale(secret: str) -> dict[str, str]:
    ts = int(time.time()) - 600
    return {
        "content-type": "application/json",
        "webhook-id": "msg_old",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, "msg_old", ts, BODY),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no comma",
        "bad base64",
        "short signature",
        "non-numeric timestamp",
        "negative timestamp",
        "stale timestamp",
        "non-ASCII signature",
        "non-ASCII id",
        "missing signature",
        "wrong secret",
        "only v1a",
        "empty",
    ],
)
def test_malformed_standard_signatures_get_401(make_service: Callable[..., Running], case: str) -> None:
    secret = new_secret()
    running = make_service(inbound_secret=secret)
    headers = _malformed(secret)[case]
    encoded = {k: v.encode("utf-8") for k, v in headers.items()}  # raw non-ASCII bytes on the wire
    answer = running.client.post("/v1/events", content=BODY, headers=encoded)
    assert answer.status_code == 401, answer.text


def test_signed_inbound_event_reaches_subscribers_once(
    make_service: Callable[..., Running], receiver: Receiver
) -> None:
    secret = new_secret()
    running = make_service(inbound_secret=secret)
    endpoint = running.subscribe(receiver.url)
    headers = _signed(secret, BODY)
    assert running.client.post("/v1/events", content=BODY, headers=headers).json() == {
        "accepted": True,
        "duplicate": False,
    }
    assert running.client.post("/v1/events", content=BODY, headers=headers).json()["duplicate"] is True
    (got,) = receiver.wait_for(1)
    assert Webhook(endpoint["secret"]).verify(got.body, got.headers)["data"] == {"repo": "r", "path": "a.py"}
    time.sleep(0.3)
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "header",
    ["", "sha256", "sha256=", "sha1=abc", "sha256=zz", "sha256=\u00e9", "md5=757107ea0eb2509fc211221cce984b8a"],
)
def test_malformed_github_signatures_get_401(make_service: Callable[..., Running], header: str) -> None:
    running = make_service(github_secret="It's a Secret to Everybody")
    headers = {"x-github-event": "ping", "x-github-delivery": str(uuid.uuid4())}
    if header:
        headers["x-hub-signature-256"] = header.encode("utf-8")  # type: ignore[assignment]
    answer = running.client.post("/github", content=b'{"zen": "x"}', headers=headers)
    assert answer.status_code == 401, answer.text


def test_an_event_is_acknowledged_only_once_stored(
    make_service: Callable[..., Running], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store down: 503 with Retry-After, and the id is not remembered, so the sender's retry is accepted."""
    from empathy.webhooks import outbox

    secret = new_secret()
    running = make_service(inbound_secret=secret)
    endpoint = running.subscribe(receiver.url)
    headers = _signed(secret, BODY)
    real_enqueue = outbox.enqueue

    def busy(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(outbox, "enqueue", busy)
    refused = running.client.post("/v1/events", content=BODY, headers=headers)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    monkeypatch.setattr(outbox, "enqueue", real_enqueue)
    retried = running.client.post("/v1/events", content=BODY, headers=headers)  # same webhook-id
    assert retried.status_code == 202 and retried.json() == {"accepted": True, "duplicate": False}
    (got,) = receiver.wait_for(1)
    assert Webhook(endpoint["secret"]).verify(got.body, got.headers)["data"] == {"repo": "r", "path": "a.py"}
