"""`empathy serve`, `empathy worker` and `empathy api-key` as users run them (real processes)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from tests.gitrepo import RepoBuilder
from tests.webhooks.receiver import Receiver


def _empathy(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "empathy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def _children(parent: int) -> list[int]:
    """Process ids whose parent is ``parent`` (Linux ``/proc``; no procps needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_in_use_is_exit_12_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _empathy("serve", "--port", str(port), "--database-url", f"sqlite:///{tmp_path / 's.db'}")
    assert done.returncode == 12
    assert done.stderr.startswith("error: cannot bind to 127.0.0.1:") and "Traceback" not in done.stderr


def test_no_database_outside_a_checkout_is_exit_12(tmp_path: Path) -> None:
    done = _empathy("serve", "--check", "--repo", str(tmp_path))
    assert done.returncode == 12 and "no database for the service" in done.stderr


def test_bad_allowlist_entry_is_exit_12(tmp_path: Path) -> None:
    done = _empathy("serve", "--check", "--allow-subnet", "not-a-net", "--database-url", f"sqlite:///{tmp_path / 's'}")
    assert done.returncode == 12 and "not an IP network" in done.stderr


def test_unreachable_redis_is_exit_12(tmp_path: Path) -> None:
    done = _empathy(
        "serve", "--check", "--redis-url", "redis://127.0.0.1:1/0", "--database-url", f"sqlite:///{tmp_path / 's'}"
    )
    assert done.returncode == 12 and "does not answer" in done.stderr


def test_serve_in_a_checkout_delivers_events_from_another_command(repo: RepoBuilder, receiver: Receiver) -> None:
    """The single-machine path: `empathy serve` in a checkout; `empathy feedback` there raises an event."""
    repo.commit("init", {"a.py": "x = 1\n"})
    repo.write("pyproject.toml", '[tool.empathy.plugins.webhooks]\nallowed_subnets = ["127.0.0.0/8"]\n')
    check = _empathy("serve", "--check", "--json", cwd=repo.path)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["database"].endswith("empathy/store.db")
    key = _empathy("api-key", "tests", "--json", cwd=repo.path)
    assert key.returncode == 0, key.stderr
    auth = {"Authorization": f"Bearer {json.loads(key.stdout)['key']}"}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "empathy", "serve", "--port", str(port)], cwd=repo.path, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        endpoint = httpx.post(
            base + "/v1/endpoints", json={"url": receiver.url, "event_types": ["trust.*"]}, headers=auth
        ).json()
        # "Useful" lowers the rule's threshold from 0.5 to 0.45: across the 0.5 mark, an event.
        fed = _empathy("feedback", "hotspot", "--useful", cwd=repo.path)
        assert fed.returncode == 0, fed.stderr
        (got,) = receiver.wait_for(1, timeout=15)
        payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert payload["type"] == "trust.threshold_reached" and payload["data"]["rule"] == "hotspot"
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_serve_with_workers_stops_its_workers_on_sigterm(postgres_url: str, tmp_path: Path) -> None:
    """`empathy serve --workers 2` starts two worker processes and takes them down with it."""
    import signal

    port = _free_port()
    command = [sys.executable, "-m", "empathy", "serve", "--port", str(port), "--workers", "2"]
    command += ["--database-url", postgres_url, "--redis-url", "redis://127.0.0.1:6379/0", "--repo", str(tmp_path)]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        children: list[int] = []
        while time.time() < deadline and len(children) < 2:
            children = _children(server.pid)
            time.sleep(0.2)
        assert len(children) == 2
        # the URLs (which may carry passwords) are not on the workers' command lines, where `ps` shows them
        for pid in children:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            assert "worker" in cmdline and "postgresql" not in cmdline and "redis://" not in cmdline
        while time.time() < deadline:
            try:
                checks = httpx.get(f"http://127.0.0.1:{port}/readyz").json()["checks"]
                if checks == {"database": True, "redis": True, "workers": True}:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # still running a few seconds on (not exited, not a zombie): they found their database through
        # the environment (a worker without one exits at once with code 12)
        for _ in range(10):
            time.sleep(0.5)
            assert all(Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] in "RS" for pid in children)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 128 + signal.SIGTERM
        time.sleep(0.5)
        assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    finally:
        if server.poll() is None:
            server.kill()


def test_a_dead_worker_is_started_again_and_orphans_exit(postgres_url: str, tmp_path: Path) -> None:
    """SIGKILL a worker: `serve` starts another and /readyz says whether any runs; SIGKILL `serve`: its workers stop."""
    import os
    import signal

    port = _free_port()
    command = [sys.executable, "-m", "empathy", "serve", "--port", str(port), "--workers", "1"]
    command += ["--database-url", postgres_url, "--repo", str(tmp_path)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        first: list[int] = []
        while time.time() < deadline and not first:
            first = _children(server.pid)
            time.sleep(0.2)
        (worker,) = first
        os.kill(worker, signal.SIGKILL)
        replaced: list[int] = []
        while time.time() < deadline + 15 and not [p for p in replaced if p != worker]:
            replaced = [p for p in _children(server.pid) if Path(f"/proc/{p}/stat").exists()]
            time.sleep(0.3)
        (new_worker,) = [p for p in replaced if p != worker]
        ready = None
        while time.time() < deadline + 30:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz").json()
                if ready["checks"].get("workers"):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready["checks"]["workers"] is True and ready["ready"] is True
        server.send_signal(signal.SIGKILL)  # no chance to stop its worker itself
        server.wait(timeout=10)
        gone = time.time() + 15
        while time.time() < gone and Path(f"/proc/{new_worker}").exists():
            state = Path(f"/proc/{new_worker}/stat").read_text().split(") ", 1)[1][0]
            if state == "Z":
                break
            time.sleep(0.3)
        assert (
            not Path(f"/proc/{new_worker}").exists()
            or Path(f"/proc/{new_worker}/stat").read_text().split(") ", 1)[1][0] == "Z"
        )
    finally:
        if server.poll() is None:
            server.kill()
        for pid in _children(server.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
