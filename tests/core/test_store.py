"""The store on both backends: migrations, patterns, usage counts, plugin runs, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text, update
from sqlmodel import select

from empathy.core.errors import StoreError
from empathy.core.model import Pattern
from empathy.core.store.db import make_engine, migrate
from empathy.core.store.store import Store, open_store
from empathy.core.store.tables import PatternRow, PluginRunRow

TABLES = {"repository", "commit", "file", "change", "pattern", "plugin_run", "szz_link", "alembic_version"}


@pytest.fixture
def repo_id(store: Store) -> int:
    row = store.repository("github.com/acme/tool", "/src/tool")
    assert row.id is not None
    return row.id


def pattern(kind: str, plugin: str, *subjects: str, **kw) -> Pattern:
    defaults = {"score": 1.0, "confidence": 0.5}
    defaults.update(kw)
    return Pattern(kind=kind, plugin=plugin, subjects=list(subjects), **defaults)


def row_of(store: Store, repo_id: int, key: str) -> PatternRow:
    with store.session() as s:
        return s.exec(select(PatternRow).where(PatternRow.repo_id == repo_id, PatternRow.key == key)).one()


def by_key(patterns: list[Pattern]) -> dict[str, Pattern]:
    return {p.key: p for p in patterns}


# -- schema and migrations ----------------------------------------------------


def test_migrate_creates_schema_and_is_idempotent(store: Store, store_url: str) -> None:
    assert TABLES <= set(inspect(store.engine).get_table_names())
    with store.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    row = store.repository("k", "/p")
    migrate(store.engine)
    migrate(store.engine)
    reopened = open_store(store_url, None)  # a second process opening the same store
    try:
        with reopened.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == version
        assert len(version) == 1
        again = reopened.find_repository("k")
        assert again is not None and again.id == row.id
    finally:
        reopened.engine.dispose()


def test_default_sqlite_store_lives_in_the_git_dir(tmp_path: Path) -> None:
    git_dir = tmp_path / ".git"
    git_dir.mkdir()
    s = open_store("", git_dir)
    try:
        assert (git_dir / "empathy" / "store.db").is_file()
        assert s.url.endswith("empathy/store.db")
    finally:
        s.engine.dispose()


def test_repository_get_or_create(store: Store) -> None:
    a = store.repository("key-a", "/one")
    b = store.repository("key-b", "/two")
    again = store.repository("key-a", "/moved")
    assert a.id != b.id and again.id == a.id
    found = store.find_repository("key-a")
    assert found is not None and found.path == "/moved"
    assert store.find_repository("nope") is None
    assert store.refresh_repository(b.id).key == "key-b"  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        store.refresh_repository(10_000)
    assert store.refresh_repository(a.id).mined_at is None  # type: ignore[arg-type]
    store.mark_mined(a.id)  # type: ignore[arg-type]
    assert store.refresh_repository(a.id).mined_at is not None  # type: ignore[arg-type]


# -- patterns ------------------------------------------------------------------


def test_save_and_load_round_trip(store: Store, repo_id: int) -> None:
    evidence = {
        "commits": 12,
        "ratio": 0.125,
        "flag": True,
        "nothing": None,
        "label": "ünïcødé ✓",
        "by_author": {"alice": 3, "bob": [1, 2, {"deep": [None, 1.5, "x"]}]},
    }
    saved = [
        pattern(
            "hotspot",
            "churn",
            "src/a.py",
            score=3.5,
            confidence=0.75,
            evidence=evidence,
            summary="changes a lot",
            usage_count=4,
        ),
        pattern("coupling", "coupling", "src/a.py", "src/b.py", score=0.9, confidence=1.0),
    ]
    assert store.save_patterns(repo_id, saved, ["churn", "coupling"]) == 2
    loaded = store.patterns(repo_id)
    assert [p.kind for p in loaded] == ["coupling", "hotspot"]  # ordered by kind, key
    assert by_key(loaded) == by_key(saved)
    hot = by_key(loaded)[saved[0].key]
    assert hot.evidence["by_author"]["bob"][2] == {"deep": [None, 1.5, "x"]}
    assert hot.subjects == ["src/a.py"] and hot.usage_count == 4
    assert store.patterns(repo_id, kind="coupling") == [saved[1]]
    assert store.patterns(repo_id, kind="absent") == []


def test_resave_keeps_first_seen_and_usage_count(store: Store, repo_id: int) -> None:
    p = pattern("hotspot", "churn", "a.py", score=1.0, evidence={"n": 1}, usage_count=0)
    store.save_patterns(repo_id, [p], ["churn"])
    store.count_usage(repo_id, [p.key])
    store.count_usage(repo_id, [p.key])
    with store.engine.begin() as conn:  # pretend it was first seen long ago
        conn.execute(update(PatternRow).where(PatternRow.key == p.key).values(first_seen=1000, last_seen=1000))

    again = pattern(
        "hotspot", "churn", "a.py", score=7.0, confidence=0.9, evidence={"n": 2}, summary="new", usage_count=99
    )
    store.save_patterns(repo_id, [again], ["churn"])
    row = row_of(store, repo_id, p.key)
    assert row.first_seen == 1000 and row.last_seen > 1000
    assert row.usage_count == 2  # the miner's count does not overwrite the stored one
    assert (row.score, row.confidence, row.evidence, row.summary) == (7.0, 0.9, {"n": 2}, "new")
    (loaded,) = store.patterns(repo_id)
    assert loaded.usage_count == 2 and loaded.score == 7.0


def test_patterns_no_longer_found_become_inactive(store: Store, repo_id: int) -> None:
    a = pattern("hotspot", "churn", "a.py")
    b = pattern("hotspot", "churn", "b.py")
    other = pattern("coupling", "coupling", "a.py", "b.py")
    store.save_patterns(repo_id, [a, b], ["churn"])
    store.save_patterns(repo_id, [other], ["coupling"])
    store.count_usage(repo_id, [b.key])

    store.save_patterns(repo_id, [a], ["churn"])  # b is gone
    assert set(by_key(store.patterns(repo_id))) == {a.key, other.key}  # other plugin untouched
    everything = by_key(store.patterns(repo_id, include_inactive=True))
    assert set(everything) == {a.key, b.key, other.key}
    assert row_of(store, repo_id, b.key).active is False
    assert everything[b.key].usage_count == 1  # kept with its feedback

    store.save_patterns(repo_id, [], ["churn", "coupling"])  # a run that found nothing
    assert store.patterns(repo_id) == []
    store.save_patterns(repo_id, [b], ["churn"])  # found again: active, count kept
    (back,) = store.patterns(repo_id)
    assert back.key == b.key and back.usage_count == 1


def test_save_without_plugin_list_touches_only_given_keys(store: Store, repo_id: int) -> None:
    a, b = pattern("hotspot", "churn", "a.py"), pattern("hotspot", "churn", "b.py")
    store.save_patterns(repo_id, [a, b], ["churn"])
    store.save_patterns(repo_id, [a], [])  # no plugin declared finished: nothing deactivated
    assert set(by_key(store.patterns(repo_id))) == {a.key, b.key}


def test_patterns_are_per_repository(store: Store, repo_id: int) -> None:
    other_id = store.repository("other", "/other").id
    p = pattern("hotspot", "churn", "a.py")
    store.save_patterns(repo_id, [p], ["churn"])
    store.save_patterns(other_id, [p], ["churn"])  # type: ignore[arg-type]
    store.count_usage(repo_id, [p.key])
    assert store.patterns(repo_id)[0].usage_count == 1
    assert store.patterns(other_id)[0].usage_count == 0  # type: ignore[arg-type]
    store.clear_patterns(other_id)  # type: ignore[arg-type]
    assert store.patterns(other_id, include_inactive=True) == []  # type: ignore[arg-type]
    assert len(store.patterns(repo_id)) == 1


def test_import_patterns_exact_round_trip(store: Store, repo_id: int) -> None:
    exported = [
        Pattern(
            kind="hotspot",
            plugin="churn",
            subjects=["x.py"],
            score=2.25,
            confidence=0.5,
            evidence={"a": [1, {"b": None}], "c": "d"},
            summary="s",
            usage_count=17,
            key="k-hot",
        ),
        Pattern(
            kind="fix_prone",
            plugin="fixes",
            subjects=["y.py", "z.py"],
            score=0.0,
            confidence=0.0,
            evidence={},
            summary="",
            usage_count=0,
            key="k-fix",
        ),
    ]
    # round trip through the export format too
    exported = [Pattern.from_dict(p.to_dict()) for p in exported]
    assert store.import_patterns(repo_id, exported) == 2
    loaded = store.patterns(repo_id)
    assert sorted(loaded, key=lambda p: p.key) == sorted(exported, key=lambda p: p.key)

    # a second import overwrites, usage counts included, and reactivates
    store.save_patterns(repo_id, [], ["churn"])
    assert [p.key for p in store.patterns(repo_id)] == ["k-fix"]
    changed = Pattern.from_dict({**exported[0].to_dict(), "usage_count": 3, "score": 9.0})
    store.import_patterns(repo_id, [changed])
    assert by_key(store.patterns(repo_id))["k-hot"] == changed


def test_count_usage_increments_only_given_keys(store: Store, repo_id: int) -> None:
    a, b, c = (pattern("hotspot", "churn", f"{n}.py") for n in "abc")
    store.save_patterns(repo_id, [a, b, c], ["churn"])
    store.count_usage(repo_id, [a.key, b.key])
    store.count_usage(repo_id, iter([a.key]))
    store.count_usage(repo_id, [])
    store.count_usage(repo_id, ["missing-key"])
    counts = {p.key: p.usage_count for p in store.patterns(repo_id)}
    assert counts == {a.key: 2, b.key: 1, c.key: 0}


def test_record_plugin_run_upserts(store: Store, repo_id: int) -> None:
    store.record_plugin_run(repo_id, "churn", "mine", 1.5, 10, None)
    store.record_plugin_run(repo_id, "churn", "mine", 0.25, 3, "boom")
    store.record_plugin_run(repo_id, "churn", "findings", 0.1, 1, None)
    runs = store.plugin_runs()
    assert len(runs) == 2
    mine = next(r for r in runs if r.hook == "mine")
    assert (mine.plugin, mine.seconds, mine.results, mine.error) == ("churn", 0.25, 3, "boom")
    assert mine.ran_at > 0
    store.record_plugin_run(repo_id, "churn", "mine", 0.5, 4, None)  # error cleared
    with store.session() as s:
        rows = s.exec(select(PluginRunRow).where(PluginRunRow.hook == "mine")).all()
    assert len(rows) == 1 and rows[0].error is None and rows[0].results == 4


# -- errors --------------------------------------------------------------------


@pytest.mark.parametrize("url", ["not a url", "nosuchdriver://host/db", "postgresql+nosuchdbapi://h/db"])
def test_bad_url_is_a_store_error(url: str) -> None:
    with pytest.raises(StoreError) as exc:
        open_store(url, None)
    assert url in str(exc.value)
    assert exc.value.exit_code != 0


def test_no_url_and_no_repository() -> None:
    with pytest.raises(StoreError, match="no database URL"):
        open_store("", None)


def test_unwritable_sqlite_location_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as exc:
        open_store(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'store.db'}", None)
    assert "cannot open the store" in str(exc.value)
    assert exc.value.hint


def test_unreachable_postgres_is_a_store_error() -> None:
    url = "postgresql://empathy:hunter2@127.0.0.1:1/nope?connect_timeout=3"
    engine = make_engine(url)
    assert engine.url.drivername == "postgresql+psycopg"  # plain postgresql uses psycopg 3
    with pytest.raises(StoreError) as exc:
        open_store(url, None)
    message = str(exc.value)
    assert "cannot open the store" in message and "127.0.0.1" in message
    assert "hunter2" not in message  # password hidden
    assert "server is running" in exc.value.hint
    assert exc.value.__cause__ is None and exc.value.__suppress_context__  # no chained traceback
