"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from empathy.core.store import tables  # noqa: F401  (registers the tables)
from empathy.core.store.db import make_engine, migrate


def test_migrations_match_models(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"
    names = set(inspect(engine).get_table_names())
    assert {"repository", "commit", "file", "change", "pattern", "plugin_run", "szz_link"} <= names


def test_migrate_is_idempotent_and_records_revision(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None


def test_upgrade_keeps_existing_data(store_url: str) -> None:
    """A store created by an older release is upgraded in place, rows kept."""
    from alembic import command
    from sqlalchemy import text

    from empathy.core.store.db import _alembic_config

    engine = make_engine(store_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO repository (key, path, shallow, commit_count, next_seq) VALUES ('k', '/p', false, 7, 7)")
        )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT key, commit_count, shallow_marker FROM repository")).one()
    assert tuple(row) == ("k", 7, None)


def test_head_revision_matches_alembic() -> None:
    """The fast path's idea of the newest migration is Alembic's."""
    from alembic.script import ScriptDirectory

    from empathy.core.store.db import _alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
