"""Shared fixtures: real git repositories and real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from empathy.core.host import AUTOLOAD_ENV
from empathy.core.store.store import Store, open_store
from tests.envs import SESSION_VARS
from tests.gitrepo import RepoBuilder

#: The gate's learned-from histories are shared by tests/gate and tests/ci_action (built once a session).
pytest_plugins = ["tests.gate_fixtures"]

# Set for the whole session, not only per test: module-scoped fixtures (a workspace shared by a
# module's tests) are built before the per-test fixture below runs.
os.environ["EMPATHY_AS_OF"] = "last-commit"
# Only empathy's own plugins load in the tests (and in the processes they start): a third-party
# plugin installed beside it must not change what they see. Tests of third-party loading unset it.
os.environ[AUTOLOAD_ENV] = "1"

#: The test suite's own settings (where PostgreSQL is, which browser, where screenshots go), never the product's.
TEST_SETTINGS = ("EMPATHY_TEST_POSTGRES_URL", "EMPATHY_SKIP_BROWSER", "EMPATHY_CHROMIUM", "EMPATHY_TEST_ARTIFACTS")

POSTGRES_ADMIN_URL = os.environ.get("EMPATHY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit the developer's EMPATHY_* settings.

    Their histories are dated from 2020 (``tests.gitrepo.EPOCH``): they replay
    as of the newest commit (``as_of = "last-commit"``), as a replay does; the
    tests of the clock itself set ``as_of`` back to "".
    """
    for name in list(os.environ):
        if name.startswith("EMPATHY_") and name not in (*TEST_SETTINGS, *SESSION_VARS):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EMPATHY_AS_OF", "last-commit")
    monkeypatch.setenv(AUTOLOAD_ENV, "1")


@pytest.fixture
def repo(tmp_path: Path) -> RepoBuilder:
    return RepoBuilder(tmp_path / "repo")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards.

    PostgreSQL must be running (CI starts it); this fixture fails rather than
    skips when it is not, because the store must work on it.
    """
    name = f"empathy_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends: every store test runs on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened, migrated store on each backend."""
    opened = open_store(store_url, None)
    try:
        yield opened
    finally:
        opened.engine.dispose()
