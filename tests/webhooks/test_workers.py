"""Several `empathy worker` processes on the real PostgreSQL: SKIP LOCKED claims, lease recovery after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from empathy.core.model import Event
from empathy.core.store.store import Store, open_store
from empathy.core.store.tables import WebhookEndpointRow
from empathy.webhooks import outbox
from empathy.webhooks.signing import new_secret
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.postgres


def _endpoint(store: Store, url: str, max_concurrency: int = 50) -> str:
    secret = new_secret()
    now = time.time()
    with store.session() as s:
        s.add(
            WebhookEndpointRow(
                uid=outbox.new_endpoint_uid(),
                url=url,
                secret=secret,
                max_concurrency=max_concurrency,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()
    return secret


def _worker(database_url: str, tmp_path: Path, name: str, timeout: float = 15.0) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EMPATHY_PLUGIN_WEBHOOKS_TIMEOUT": str(timeout), "EMPATHY_PLUGIN_WEBHOOKS_BATCH_SIZE": "20"}
    command = [sys.executable, "-m", "empathy", "worker", "--repo", str(tmp_path), "--database-url", database_url]
    command += ["--allow-subnet", "127.0.0.0/8", "--name", name]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_two_workers_share_the_outbox_without_duplicates(postgres_url: str, receiver: Receiver, tmp_path: Path) -> None:
    store = open_store(postgres_url, None)
    secret = _endpoint(store, receiver.url)
    ids = [outbox.enqueue(store, Event("forecast.made", {"i": i}, time.time())) for i in range(300)]
    workers = [_worker(postgres_url, tmp_path, f"w{i}") for i in range(2)]
    try:
        got = receiver.wait_for(300, timeout=60)
    finally:
        _stop(*workers)
    counts = Counter(r.headers["webhook-id"] for r in got)
    assert set(counts) == set(ids) and max(counts.values()) == 1
    Webhook(secret).verify(got[0].body, got[0].headers)
    with store.engine.connect() as conn:
        from sqlalchemy import text

        names = {w for (w,) in conn.execute(text("SELECT DISTINCT worker FROM webhook_attempt"))}
    assert names == {"w0", "w1"}  # both took part
    assert outbox.delivery_counts(store) == {"succeeded": 300}
    store.engine.dispose()


@pytest.mark.slow
def test_a_killed_worker_loses_nothing(postgres_url: str, receiver: Receiver, tmp_path: Path) -> None:
    receiver.responder = lambda _r: (200, {}, b"", 0.02)
    store = open_store(postgres_url, None)
    _endpoint(store, receiver.url)
    ids = [outbox.enqueue(store, Event("forecast.made", {"i": i}, time.time())) for i in range(600)]
    victim = _worker(postgres_url, tmp_path, "victim", timeout=1.0)
    survivor = _worker(postgres_url, tmp_path, "survivor", timeout=1.0)
    try:
        receiver.wait_for(100, timeout=60)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        got = receiver.wait_for(600, timeout=90)
        time.sleep(4)  # any lease the victim held has lapsed and been re-sent by now
    finally:
        _stop(victim, survivor)
    counts = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert set(counts) == set(ids)  # every event delivered
    assert len(got) >= 600
    assert outbox.delivery_counts(store) == {"succeeded": 600}
    store.engine.dispose()


def test_a_slow_receiver_gets_no_duplicates(postgres_url: str, receiver: Receiver, tmp_path: Path) -> None:
    """Batches queue behind an endpoint's concurrency limit longer than a lease lasts (2 x timeout + 1 s = 3 s).

    Leases used to lapse while a request waited its turn, another worker claimed the row, and both sent it.
    Now a request goes out only after its lease was renewed, and each result is recorded as it arrives.
    """
    receiver.responder = lambda _r: (200, {}, b"", 0.4)
    store = open_store(postgres_url, None)
    _endpoint(store, receiver.url, max_concurrency=1)
    ids = [outbox.enqueue(store, Event("forecast.made", {"i": i}, time.time())) for i in range(24)]
    workers = [_worker(postgres_url, tmp_path, f"w{i}", timeout=1.0) for i in range(2)]
    try:
        receiver.wait_for(24, timeout=60)
        time.sleep(4)  # a lapsed lease would have been re-sent by now
    finally:
        _stop(*workers)
    counts = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, {k: v for k, v in counts.items() if v > 1}
    assert outbox.delivery_counts(store) == {"succeeded": 24}
    store.engine.dispose()
