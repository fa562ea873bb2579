"""One writer per repository: the lock that serialises ingests of the same history.

Two processes ingesting one repository at once (the editor opening a fresh
checkout while the user runs ``empathy analyze``) each build their own map of
paths to file entities and mark files deleted from it; interleaved, they
leave a store where most live files are flagged deleted.  Holding a lock per
repository for the whole ingest makes the second process wait, then find the
history already ingested (it re-reads everything under the lock), so the
result equals one ingest.

PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) on a key
derived from the repository, held on a dedicated connection: released by the
server when the process dies.  SQLite: an exclusive ``flock`` on a lock file
beside the database (``fcntl``; ``msvcrt`` on Windows), released by the
kernel when the process dies.  An in-memory SQLite store is private to one
process and needs none.  The same lock, under another name, serialises the
migration of a new store (two first opens would both create its tables).
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Engine

__all__ = ["repository_lock"]

def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` (stable across processes and runs)."""
    digest = hashlib.sha256(f"empathy:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _postgres_lock(engine: Engine, name: str, on_wait: Callable[[], None]) -> Iterator[None]:
    key = _key(name)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            on_wait()
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()  # leave no transaction open while the lock is held
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _try_flock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unflock(handle: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _file_lock(path: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    try:
        handle = open(path, "a+b")  # closed by the with-block below, after the lock is released
    except OSError:
        # a directory we cannot write to: SQLite cannot write there either and will say so itself
        yield
        return
    with handle:
        if not _try_flock(handle):
            on_wait()
            while not _try_flock(handle):
                time.sleep(0.05)
        try:
            yield
        finally:
            _unflock(handle)


@contextlib.contextmanager
def repository_lock(engine: Engine, name: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the ingest lock for repository ``name`` in this store; ``on_wait()`` once if another holds it."""
    waited = on_wait or (lambda: None)
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        with _postgres_lock(engine, name, waited):
            yield
        return
    database = engine.url.database
    if backend != "sqlite" or not database or database == ":memory:":
        yield  # private to this process
        return
    lock = Path(f"{database}.{_key(name) & 0xFFFFFFFF:08x}.lock")
    with _file_lock(lock, waited):
        yield
