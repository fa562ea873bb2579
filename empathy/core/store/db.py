"""Engines and migrations: SQLite in the git directory by default, any URL otherwise.

The default database lives at ``<git-common-dir>/empathy/store.db`` so the work
tree stays clean and every worktree of a repository shares one store.  Schema
changes are Alembic migrations, applied on open when the database is behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from empathy.core.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["default_sqlite_url", "make_engine", "migrate"]

_MIGRATIONS = Path(__file__).with_name("migrations")


#: What to do when the default store cannot be written where it belongs.
READ_ONLY_HINT = (
    "make the repository's .git writable, or keep the store elsewhere: "
    "EMPATHY_DATABASE_URL=sqlite:////tmp/empathy-store.db (or database_url in [tool.empathy])"
)


def default_sqlite_url(git_dir: Path) -> str:
    """SQLite inside the git directory; a folder that cannot be created is a store error (5), not a crash."""
    from empathy.core.errors import StoreError

    folder = git_dir / "empathy"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the store's folder {folder}: {exc.strerror}", READ_ONLY_HINT) from None
    return f"sqlite:///{folder / 'store.db'}"


def _open_hint(url: str) -> str:
    """The likely fix: a file that cannot be opened or written, or a server that does not answer."""
    if url.startswith("sqlite"):
        return "check that the store's file and its folder can be written; " + READ_ONLY_HINT
    return "check the database URL and that the server is running"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL keeps readers (the language server) unblocked during an ingest, and
    # committed transactions survive a killed process; NORMAL sync is enough
    # for that (only power loss could drop the last transaction).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``, with a clear error for a bad URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"database URL {url!r} is not valid",
            "use e.g. sqlite:////path/store.db or postgresql+psycopg://user@host/db",
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, future=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration, read from the file names (``NNNN_description.py``).

    Lets an up-to-date store open without importing Alembic (a fifth of the
    start-up time of a command); a test checks it against Alembic's own view.
    """
    names = sorted(p.name for p in (_MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return names[-1].split("_", 1)[0]


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None  # no table yet (a new store) or an unreachable one: migrate() reports it


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (no-op when it is current)."""
    if _current_revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from empathy.core.store.locks import repository_lock

    cfg = _alembic_config()
    try:
        # two processes opening a new store at once would both create its tables: one migrates, one waits
        with repository_lock(engine, "store migration"), engine.begin() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head_revision():
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise StoreError(
            f"cannot open the store at {engine.url.render_as_string(hide_password=True)}: {exc.orig}",
            _open_hint(str(engine.url)),
        ) from None
    except SQLAlchemyError as exc:
        raise StoreError(f"store migration failed: {exc}") from None
