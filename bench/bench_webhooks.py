"""Webhook delivery: throughput, emit-to-delivery latency, and a worker killed mid-run.

    python bench/bench_webhooks.py [--events 5000] [--latency-seconds 20] [--kill-events 10000]
                                   [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                   [--redis redis://127.0.0.1:6379/0] [--slow-events 200] [--slow-seconds 4]
                                   [--only throughput,latency,slow,kill]

Everything runs on loopback against the real PostgreSQL and Redis of the
machine.  One receiver process (a minimal asyncio HTTP/1.1 server) records every
request: its ``webhook-id``, the arrival time and the ``emitted_at`` the
benchmark put into the event's data.

1. **Throughput.**  Plain ``httpx.AsyncClient`` posts ``--events`` bodies of
   the same size to the receiver (``CONCURRENCY`` = 10 in flight, its fastest
   setting here), then the same number of
   events is put in a fresh PostgreSQL outbox and two ``empathy worker``
   processes drain it.  Rate = events / (last arrival - first arrival) for
   both, and their ratio, in the same run.  The enqueue rate (one
   transaction per event, the listener's path) is reported too.
2. **Latency at 100 events/s.**  Two workers run (Redis wake-ups on); the
   benchmark emits 100 events per second for ``--latency-seconds`` from four
   threads (enqueue into the outbox, then publish on the Redis stream, as the
   listener does)
   and reports emit-to-arrival percentiles.
3. **Slow receiver.**  ``--slow-events`` (200) events, a receiver that answers each
   request after ``--slow-seconds`` (4 s), two workers and the endpoint with every
   setting at its default: the number of requests must equal the number of events
   (issue 16: before the fix, 326 requests for 200 events).
4. **SIGKILL.**  ``--kill-events`` events are stored, two workers start, one
   is killed with SIGKILL once a third of them arrived; the other finishes
   (including the killed worker's claims after their lease lapses).  Every
   ``webhook-id`` must arrive; duplicates are counted.

Results: a Markdown table on stdout, raw numbers in
``bench/results/webhooks-<utc>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

RECEIVER = r"""
import asyncio, json, re, sys, time

# A minimal HTTP/1.1 receiver (keep-alive, Content-Length bodies) on asyncio, so the
# receiver is not what limits the measured rates; it records (webhook-id, arrival, emitted_at).
seen = []
DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
ID = re.compile(rb"\r\nwebhook-id: *([^\r]*)", re.I)
LEN = re.compile(rb"\r\ncontent-length: *([0-9]+)", re.I)
EMITTED = re.compile(rb'"emitted_at":([0-9.eE+-]+)')

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = LEN.search(head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
            now = time.time()
            if head.startswith(b"POST"):
                mid = ID.search(head)
                emitted = EMITTED.search(body)
                seen.append((mid.group(1).decode() if mid else "", now, float(emitted.group(1)) if emitted else None))
                if DELAY:
                    await asyncio.sleep(DELAY)  # a slow receiver: the request counts on arrival, answered later
                answer = b"ok"
            elif head.startswith(b"GET /reset"):
                seen.clear()
                answer = b"{}"
            else:
                answer = json.dumps(seen).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(answer)).encode() + b"\r\n\r\n" + answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


#: In-flight requests per worker (the endpoint's ``max_concurrency``), and for plain httpx.
#: httpx is fastest with a small pool on loopback (its pool scan is O(connections) per request).
CONCURRENCY = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self, delay: float = 0.0) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-c", RECEIVER, str(self.port), str(delay)])
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                httpx.get(self.url + "/stats")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("receiver did not start")

    def reset(self) -> None:
        httpx.get(self.url + "/reset")

    def seen(self) -> list[tuple[str, float, float | None]]:
        return [tuple(x) for x in httpx.get(self.url + "/stats", timeout=60).json()]  # type: ignore[misc]

    def wait(self, count: int, timeout: float) -> list[tuple[str, float, float | None]]:
        deadline = time.time() + timeout
        seen = self.seen()
        while len({s[0] for s in seen}) < count and time.time() < deadline:
            time.sleep(0.5)
            seen = self.seen()
        return seen

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"empathy_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _store_with_endpoint(url: str, target: str, max_concurrency: int | None = CONCURRENCY) -> Any:
    from empathy.core.store.store import open_store
    from empathy.core.store.tables import WebhookEndpointRow
    from empathy.webhooks.outbox import new_endpoint_uid
    from empathy.webhooks.signing import new_secret

    store = open_store(url, None)
    now = time.time()
    with store.session() as s:
        s.add(
            WebhookEndpointRow(
                uid=new_endpoint_uid(),
                url=target,
                secret=new_secret(),
                created_at=now,
                updated_at=now,
                **({} if max_concurrency is None else {"max_concurrency": max_concurrency}),
            )
        )
        s.commit()
    return store


def _event(i: int) -> Any:
    from empathy.core.model import Event

    now = time.time()
    return Event(
        "forecast.made",
        {"repo": "bench", "path": f"src/file_{i}.py", "probability": 0.31, "horizon_days": 90, "emitted_at": now},
        now,
    )


def _workers(
    database_url: str, redis_url: str | None, n: int, timeout: float | None = 15.0
) -> list[subprocess.Popen[bytes]]:
    """``n`` worker processes; ``timeout=None`` leaves every webhook setting at its default."""
    workdir = tempfile.mkdtemp(prefix="empathy-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPATHY_PLUGIN_WEBHOOKS_")}
    if timeout is not None:
        env.update(
            EMPATHY_PLUGIN_WEBHOOKS_TIMEOUT=str(timeout),
            EMPATHY_PLUGIN_WEBHOOKS_BATCH_SIZE="100",
            EMPATHY_PLUGIN_WEBHOOKS_POLL_INTERVAL="0.1",
        )
    procs = []
    for i in range(n):
        command = [
            sys.executable,
            "-m",
            "empathy",
            "worker",
            "--repo",
            workdir,
            "--database-url",
            database_url,
            "--allow-subnet",
            "127.0.0.0/8",
            "--name",
            f"bench-{i}",
        ]
        if redis_url:
            command += ["--redis-url", redis_url]
        procs.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL))
    return procs


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux ``/proc``), so rates can be put per CPU-second."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _httpx_baseline(url: str, bodies: list[bytes], concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for b in bodies:
            queue.put_nowait(b)

        async def one(n: int) -> None:
            while not queue.empty():
                body = queue.get_nowait()
                mid = f"msg_{uuid.uuid4().hex}"
                r = await client.post(
                    url, content=body, headers={"webhook-id": mid, "content-type": "application/json"}
                )
                r.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(concurrency)))


def throughput(args: argparse.Namespace, receiver: Receiver) -> dict[str, Any]:
    from empathy.webhooks.catalog import envelope_bytes
    from empathy.webhooks.outbox import delivery_counts, enqueue

    n = args.events
    bodies = [envelope_bytes(e.type, e.data, e.timestamp) for e in (_event(i) for i in range(n))]
    receiver.reset()
    cpu0 = time.process_time()
    asyncio.run(_httpx_baseline(receiver.url, bodies, CONCURRENCY))
    httpx_cpu = time.process_time() - cpu0
    seen = receiver.seen()
    times = sorted(s[1] for s in seen)
    httpx_rate = (len(times) - 1) / (times[-1] - times[0])

    with fresh_database(args.postgres) as url:
        store = _store_with_endpoint(url, receiver.url)
        t0 = time.perf_counter()
        for i in range(n):
            enqueue(store, _event(i))
        enqueue_rate = n / (time.perf_counter() - t0)
        receiver.reset()
        started = time.time()
        procs = _workers(url, None, 2)
        try:
            seen = receiver.wait(n, timeout=600)
            workers_cpu = sum(_cpu_seconds(p.pid) for p in procs)
        finally:
            _stop(procs)
        times = sorted(s[1] for s in seen)
        ids = [s[0] for s in seen]
        outbox_rate = (len(times) - 1) / (times[-1] - times[0])
        counts = delivery_counts(store)
        store.engine.dispose()
    return {
        "events": n,
        "httpx_per_s": round(httpx_rate, 1),
        "outbox_2_workers_per_s": round(outbox_rate, 1),
        "ratio": round(outbox_rate / httpx_rate, 3),
        "outbox_including_start_per_s": round(n / (times[-1] - started), 1),
        "enqueue_per_s": round(enqueue_rate, 1),
        "httpx_cpu_ms_per_request": round(httpx_cpu * 1000 / n, 3),
        "workers_cpu_ms_per_delivery": round(workers_cpu * 1000 / n, 3),
        "delivered_unique": len(set(ids)),
        "duplicates": len(ids) - len(set(ids)),
        "statuses": counts,
    }


def latency(args: argparse.Namespace, receiver: Receiver) -> dict[str, Any]:
    from empathy.webhooks.bus import RedisStreamBus
    from empathy.webhooks.outbox import enqueue

    rate, seconds = 100, args.latency_seconds
    total = rate * seconds
    redis_url = args.redis
    with fresh_database(args.postgres) as url:
        store = _store_with_endpoint(url, receiver.url)
        bus = RedisStreamBus(redis_url)  # the workers follow the default stream, as a service does
        procs = _workers(url, redis_url, 2)
        time.sleep(3.0)  # let the workers start and subscribe
        receiver.reset()

        def emit(i: int) -> None:
            event = _event(i)
            enqueue(store, event)
            bus.publish(event)

        start = time.perf_counter()
        try:
            # Events come from several processes in real life; four emitter threads keep
            # the 100/s pace even when one insert waits on a commit.
            with ThreadPoolExecutor(max_workers=4) as pool:
                for i in range(total):
                    pause = start + i / rate - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    pool.submit(emit, i)
            emit_seconds = time.perf_counter() - start
            seen = receiver.wait(total, timeout=120)
        finally:
            _stop(procs)
            bus.close()
        lat = [(arrived - emitted) * 1000 for _mid, arrived, emitted in seen if emitted is not None]
        store.engine.dispose()
    achieved = total / emit_seconds
    return {
        "events": total,
        "target_rate": rate,
        "emit_rate_achieved": round(achieved, 1),
        "received": len(lat),
        "p50_ms": round(_pct(lat, 50), 1),
        "p95_ms": round(_pct(lat, 95), 1),
        "p99_ms": round(_pct(lat, 99), 1),
        "max_ms": round(max(lat), 1),
        "mean_ms": round(statistics.fmean(lat), 1),
    }


def slow(args: argparse.Namespace, receiver: Receiver) -> dict[str, Any]:
    """Defaults everywhere, a receiver answering in ``--slow-seconds``: every event once, no duplicate."""
    from empathy.webhooks.outbox import delivery_counts, enqueue

    n = args.slow_events
    slow_receiver = Receiver(delay=args.slow_seconds)
    try:
        with fresh_database(args.postgres) as url:
            store = _store_with_endpoint(url, slow_receiver.url, max_concurrency=None)
            ids = {enqueue(store, _event(i)) for i in range(n)}
            started = time.time()
            procs = _workers(url, None, 2, timeout=None)
            try:
                seen = slow_receiver.wait(n, timeout=900)
                drained = time.time() - started
                # as long again as one answer and a lease: a lapsed claim would be re-sent by now
                time.sleep(args.slow_seconds + 35)
                seen = slow_receiver.seen()
            finally:
                _stop(procs)
            got = [s[0] for s in seen]
            counts = delivery_counts(store)
            store.engine.dispose()
    finally:
        slow_receiver.stop()
    return {
        "events": n,
        "answer_seconds": args.slow_seconds,
        "requests": len(got),
        "delivered_unique": len(set(got) & ids),
        "lost": len(ids - set(got)),
        "duplicates": len(got) - len(set(got)),
        "seconds_to_deliver_all": round(drained, 1),
        "statuses": counts,
    }


def kill(args: argparse.Namespace, receiver: Receiver) -> dict[str, Any]:
    from empathy.webhooks.outbox import delivery_counts, enqueue

    n = args.kill_events
    with fresh_database(args.postgres) as url:
        store = _store_with_endpoint(url, receiver.url)
        ids = set()
        for i in range(n):
            mid = enqueue(store, _event(i))
            assert mid is not None
            ids.add(mid)
        receiver.reset()
        procs = _workers(url, None, 2, timeout=5.0)
        killed_at = None
        try:
            deadline = time.time() + 300
            while time.time() < deadline:
                if len(receiver.seen()) >= n // 3:
                    procs[0].send_signal(signal.SIGKILL)
                    procs[0].wait(timeout=10)
                    killed_at = len(receiver.seen())
                    break
                time.sleep(0.05)
            seen = receiver.wait(n, timeout=600)
            time.sleep(12)  # 2 x timeout + 1: any claim of the killed worker has lapsed and been re-sent
            seen = receiver.seen()
        finally:
            _stop(procs)
        got = [s[0] for s in seen]
        counts = delivery_counts(store)
        store.engine.dispose()
    return {
        "events": n,
        "killed_after_deliveries": killed_at,
        "delivered_unique": len(set(got) & ids),
        "lost": len(ids - set(got)),
        "duplicates": len(got) - len(set(got)),
        "statuses": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--latency-seconds", type=int, default=20)
    parser.add_argument("--kill-events", type=int, default=10_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--slow-events", type=int, default=200)
    parser.add_argument("--slow-seconds", type=float, default=4.0)
    parser.add_argument("--only", default="throughput,latency,slow,kill")
    args = parser.parse_args()
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    receiver = Receiver()
    results: dict[str, Any] = {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    try:
        for name in wanted:
            run = {"throughput": throughput, "latency": latency, "slow": slow, "kill": kill}[name]
            results[name] = run(args, receiver)
            print(json.dumps({name: results[name]}), flush=True)
    finally:
        receiver.stop()
    results["loadavg_end"] = os.getloadavg()
    out = BENCH_DIR / "results" / f"webhooks-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nraw results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
