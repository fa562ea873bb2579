"""``empathy serve``, ``empathy worker`` and ``empathy api-key``: the webhook service's commands.

Exit codes beyond the common ones (see ``empathy.cli.app``): 12 when the
service cannot start as configured (bind address in use or invalid,
database or Redis unreachable, a bad setting).  ``api-key revoke`` of a name
no key has, and ``api-key create`` of a name a live key has, are usage
errors (4).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from empathy.cli._common import JsonOpt, emit_json, err, handle_errors, out
from empathy.core.errors import ConfigError, EmpathyError, ServiceConfigError

__all__ = ["register"]

RepoOpt = Annotated[
    Path,
    typer.Option("--repo", "-C", help="A checkout whose webhooks plugin settings (and store) to use."),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Service database (default: the checkout's SQLite store; a team: PostgreSQL)."),
]
RedisOpt = Annotated[
    str | None, typer.Option("--redis-url", help="Redis for events between processes (e.g. redis://127.0.0.1:6379/0).")
]
AllowOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-subnet",
        help="Admit this network past the SSRF guard (repeatable; e.g. 127.0.0.0/8 for local testing only).",
    ),
]


def _config(repo: Path, database_url: str | None, redis_url: str | None, allow: list[str] | None, **more: Any) -> Any:
    from empathy.webhooks.config import load_service_config

    return load_service_config(
        repo, database_url=database_url, redis_url=redis_url, allowed_subnets=list(allow or []), **more
    )


def _check_bind(host: str, port: int) -> None:
    """Fail with exit 12 and one line when the address cannot be bound, before starting anything."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ServiceConfigError(f"cannot bind to {host}:{port}: {exc}", "pass --host 127.0.0.1 or 0.0.0.0") from None
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise ServiceConfigError(
                f"cannot bind to {host}:{port}: {exc.strerror}", "choose another --port or stop the other server"
            ) from None


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="Delivery worker processes to start; 0 delivers inside this process (the single-machine default).",
        ),
    ] = 0,
    repo: RepoOpt = Path("."),
    database_url: DbOpt = None,
    redis_url: RedisOpt = None,
    allow_subnet: AllowOpt = None,
    repository: Annotated[
        list[str] | None,
        typer.Option(
            "--repository", help="Map a GitHub repository to a local checkout: owner/name=/path (repeatable)."
        ),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Validate the configuration and exit.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Run the webhook service: subscriptions API, signed delivery, inbound GitHub, live stream.

    Single machine: `empathy serve` in a checkout (SQLite, one process).  A
    team: `empathy serve --database-url postgresql+psycopg://... --redis-url
    redis://... --workers 2`, or API processes plus `empathy worker` on other
    hosts.  Create an API key first with `empathy api-key create NAME`.
    """
    config = _config(repo, database_url, redis_url, allow_subnet, repositories=list(repository or []))
    _check_bind(host, port)
    from empathy.webhooks.app import create_app

    app = create_app(config, deliver_in_process=workers == 0)
    summary = {
        "listening": f"http://{host}:{port}",
        "database": app.state.service.store.url,
        "redis": config.redis_url or None,
        "workers": workers,
        "allowed_subnets": config.allowed_subnets,
        "repositories": config.repositories,
    }
    if check:
        if json_output:
            print(json.dumps(summary, indent=2))
        else:
            out.print("configuration is valid; `empathy serve` would run with:")
            for key, value in summary.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                if isinstance(value, dict):
                    shown = ", ".join(f"{k}={v}" for k, v in value.items())
                out.print(f"  {key}: {shown if shown not in (None, '') else '-'}", highlight=False)
        return
    supervisor = _Supervisor(lambda i: _spawn_worker(repo, config, i), workers)
    if workers:
        app.state.workers_alive = supervisor.alive
        supervisor.start()
    if json_output:
        print(json.dumps(summary), flush=True)
    else:
        err.print(f"empathy webhooks on {summary['listening']} (database {summary['database']}, workers {workers})")
    import uvicorn

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the
    # handler it found; a handler that raises SystemExit lets the `finally` below stop
    # the worker processes instead of leaving them orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")).run()
    finally:
        supervisor.stop()


class _Supervisor:
    """Keeps ``count`` worker processes running: a worker that dies is started again (at most every 5 s).

    ``/readyz`` asks :meth:`alive`; the workers watch this process and exit when
    it is gone (killed with SIGKILL, it cannot stop them itself).
    """

    RESTART_EVERY = 5.0

    def __init__(self, spawn: Callable[[int], subprocess.Popen[bytes]], count: int) -> None:
        self._spawn = spawn
        self.children = [spawn(i) for i in range(count)]
        self._started = [time.monotonic()] * count
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="empathy-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> int:
        return sum(child.poll() is None for child in self.children)

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for i, child in enumerate(self.children):
                code = child.poll()
                if code is None or time.monotonic() - self._started[i] < self.RESTART_EVERY:
                    continue
                err.print(f"worker {i} exited with code {code}; starting it again")
                self.children[i] = self._spawn(i)
                self._started[i] = time.monotonic()

    def stop(self) -> None:
        self._stopping.set()
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _spawn_worker(repo: Path, config: Any, index: int) -> subprocess.Popen[bytes]:
    """A worker process; the database and Redis URLs (which may hold passwords) go by environment.

    On a command line they would be readable by every user of the machine (``ps``).
    """
    command = [sys.executable, "-m", "empathy", "worker", "--repo", str(repo)]
    for subnet in config.allowed_subnets:
        command += ["--allow-subnet", subnet]
    command += ["--name", f"{socket.gethostname()}:worker-{index}"]
    env = dict(os.environ, EMPATHY_PLUGIN_WEBHOOKS_DATABASE_URL=config.database_url)
    env[_PARENT_ENV] = str(os.getpid())  # the worker exits when this process is gone
    if config.redis_url:
        env["EMPATHY_PLUGIN_WEBHOOKS_REDIS_URL"] = config.redis_url
    return subprocess.Popen(command, env=env)


def worker(
    repo: RepoOpt = Path("."),
    database_url: DbOpt = None,
    redis_url: RedisOpt = None,
    allow_subnet: AllowOpt = None,
    name: Annotated[str | None, typer.Option(help="Name in the attempt log (default host:pid).")] = None,
) -> None:
    """Run one delivery worker: claims due outbox rows (FOR UPDATE SKIP LOCKED) and delivers them.

    Start as many as needed on PostgreSQL; they never take the same row, and a
    killed worker's rows return to the queue when its lease lapses.
    """
    config = _config(repo, database_url, redis_url, allow_subnet)
    from empathy.core.store.store import open_store
    from empathy.webhooks.delivery import DeliveryWorker, RetryPolicy

    try:
        store = open_store(config.database_url, None)
    except EmpathyError as exc:
        raise ServiceConfigError(f"cannot open the service database: {exc.message}", exc.hint) from None
    delivery = DeliveryWorker(
        store,
        config.policy(),
        RetryPolicy(config.retry_schedule),
        timeout=config.timeout,
        batch_size=config.batch_size,
        poll_interval=config.poll_interval,
        disable_after=config.disable_after_hours * 3600,
        emit=_enqueue_to(store),
        name=name,
    )
    asyncio.run(_run_worker(delivery, config))


def _enqueue_to(store: Any) -> Any:
    from empathy.webhooks import outbox

    return lambda event: outbox.enqueue(store, event)


async def _run_worker(delivery: Any, config: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bus = None
    if config.redis_url:
        from empathy.webhooks.bus import RedisStreamBus

        bus = RedisStreamBus(config.redis_url, config.stream)
        if not bus.ping():
            raise ServiceConfigError(f"Redis at {config.redis_url} does not answer")
        bus.subscribe(lambda _event: delivery.wake())
    err.print(f"empathy worker {delivery.name} delivering from {delivery.store.url}")
    parent = os.environ.get(_PARENT_ENV, "")
    watcher = asyncio.create_task(_exit_with_parent(int(parent), stop)) if parent.isdigit() else None
    try:
        await delivery.run(stop)
    finally:
        if watcher is not None:
            watcher.cancel()
        if bus is not None:
            bus.close()


#: Set by `serve --workers` for its workers: the process id whose end ends them too.
_PARENT_ENV = "EMPATHY_WORKER_PARENT"


async def _exit_with_parent(parent: int, stop: asyncio.Event) -> None:
    """Stop when the supervising `serve` is gone (its workers would otherwise deliver on as orphans)."""
    while not stop.is_set():
        if os.getppid() != parent:
            err.print("the empathy serve process that started this worker is gone; stopping")
            stop.set()
            return
        await asyncio.sleep(1.0)


class _CreateByDefault(TyperGroup):
    """``empathy api-key NAME [--admin] [--json]`` means ``empathy api-key create NAME ...``.

    The first release had only that spelling, and scripts use it; a key named
    like a subcommand (``list``, ``revoke``, ``create``) needs ``create`` spelled out.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


api_key_app = typer.Typer(
    help=(
        "The webhook service's API keys: create (the default: `empathy api-key NAME`), list and revoke. "
        "A key sees only the endpoints it created; `--admin` makes one that sees all (docs/webhooks.md, Isolation)."
    ),
    cls=_CreateByDefault,
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Who the key is for (shown in listings; not secret).")]


def _key_store(repo: Path, database_url: str | None) -> Any:
    """The service's store, as `empathy serve` would open it with the same options."""
    config = _config(repo, database_url, None, None)
    from empathy.core.store.store import open_store

    try:
        return open_store(config.database_url, None)
    except EmpathyError as exc:
        raise ServiceConfigError(f"cannot open the service database: {exc.message}", exc.hint) from None


def _clean_name(name: str, example: str) -> str:
    if not name.strip():
        raise ConfigError("give the key a name", f"e.g. `{example}`")
    return name.strip()


@api_key_app.command("create")
@handle_errors
def api_key_create(
    name: NameArg,
    admin: Annotated[
        bool, typer.Option("--admin", help="A key that sees and changes every endpoint, not only its own.")
    ] = False,
    repo: RepoOpt = Path("."),
    database_url: DbOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once and only its hash is stored (exit 4 if a live key has the name)."""
    from empathy.webhooks.keys import ADMIN, OWN, create_api_key

    name = _clean_name(name, "empathy api-key create dashboards")
    scope = ADMIN if admin else OWN
    key = create_api_key(_key_store(repo, database_url), name, scope)
    if json_output:
        print(json.dumps({"name": name, "key": key, "scope": scope}))
    else:
        print(key)
        sees = "every endpoint" if admin else "only the endpoints it creates"
        err.print(f"store it now: only its hash is kept (use it as `Authorization: Bearer <key>`); it sees {sees}")


@api_key_app.command("list")
@handle_errors
def api_key_list(repo: RepoOpt = Path("."), database_url: DbOpt = None, json_output: JsonOpt = False) -> None:
    """Every API key, live and revoked: name, prefix (the key's first characters), scope, created, revoked."""
    from empathy.webhooks.keys import list_api_keys

    keys = list_api_keys(_key_store(repo, database_url))
    if json_output:
        emit_json([k.to_dict() for k in keys])
        return
    if not keys:
        err.print("no API keys yet; create one with `empathy api-key create NAME`")
        return
    table = Table("name", "prefix", "scope", "created", "revoked", header_style="bold")
    for k in keys:
        revoked = ("yes " + _when(k.revoked_at) if k.revoked_at else "yes") if k.revoked else "-"
        table.add_row(escape(k.name), k.prefix, k.scope, _when(k.created_at), revoked)
    out.print(table)


@api_key_app.command("revoke")
@handle_errors
def api_key_revoke(
    name: NameArg, repo: RepoOpt = Path("."), database_url: DbOpt = None, json_output: JsonOpt = False
) -> None:
    """Revoke the key named NAME: the next request with it gets 401 (exit 4 if no key has the name).

    Its endpoints keep receiving deliveries; only admin keys can see or change them now.
    """
    from empathy.webhooks.keys import revoke_api_key

    name = _clean_name(name, "empathy api-key revoke dashboards")
    count = revoke_api_key(_key_store(repo, database_url), name)
    if json_output:
        print(json.dumps({"name": name, "revoked": count, "already_revoked": count == 0}))
    elif count:
        err.print(f"revoked {name!r}; requests with it now get 401")
    else:
        err.print(f"{name!r} was already revoked")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def register(app: typer.Typer) -> None:
    """Add the service's commands to the ``empathy`` app."""
    app.command()(handle_errors(serve))
    app.command()(handle_errors(worker))
    app.add_typer(api_key_app, name="api-key")
