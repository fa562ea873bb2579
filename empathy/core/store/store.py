"""The store: one object per database, used by ingestion, miners and surfaces.

Bulk paths (ingest, loading the history) use SQLAlchemy Core for speed; small
reads and writes use SQLModel sessions.  A ``Store`` is cheap to keep open.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, delete, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from empathy.core.model import Pattern
from empathy.core.store.db import default_sqlite_url, make_engine, migrate
from empathy.core.store.tables import (
    ChangeRow,
    CommitRow,
    FileRow,
    GateDecisionRow,
    PatternRow,
    PluginRunRow,
    RepositoryRow,
)

__all__ = ["Store", "open_store"]


class Store:
    """Typed access to one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: what opening the store found worth telling the user (an empty file made into a new store ...)
        self.notes: list[str] = []

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- repositories -----------------------------------------------------
    def repository(self, key: str, path: str) -> RepositoryRow:
        """Get or create the repository row for ``key``.

        Two processes opening a new repository at once both try to create it;
        the one that loses the race (a unique-key violation) reads the winner's row.
        """
        from sqlalchemy.exc import IntegrityError

        with self.session() as s:
            row = s.exec(select(RepositoryRow).where(RepositoryRow.key == key)).first()
            if row is None:
                try:
                    row = RepositoryRow(key=key, path=path)
                    s.add(row)
                    s.commit()
                    s.refresh(row)
                    return row
                except IntegrityError:
                    s.rollback()
                    row = s.exec(select(RepositoryRow).where(RepositoryRow.key == key)).one()
            if row.path != path:
                row.path = path
                s.add(row)
                s.commit()
            return row

    def find_repository(self, key: str) -> RepositoryRow | None:
        with self.session() as s:
            return s.exec(select(RepositoryRow).where(RepositoryRow.key == key)).first()

    def newest_commit_time(self, repo_id: int) -> int | None:
        """The newest ingested commit's time (one indexed query; None before the first ingest)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa_select(func.max(CommitRow.committed_at)).where(col(CommitRow.repo_id) == repo_id)
            ).scalar()
        return None if value is None else int(value)

    def refresh_repository(self, repo_id: int) -> RepositoryRow:
        with self.session() as s:
            row = s.get(RepositoryRow, repo_id)
            if row is None:
                raise KeyError(repo_id)
            return row

    def mark_mined(self, repo_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(RepositoryRow).where(col(RepositoryRow.id) == repo_id).values(mined_at=int(time.time()))
            )

    def reset_history(self, repo_id: int) -> None:
        """Forget the ingested history of a repository (patterns and SZZ links stay)."""
        with self.engine.begin() as conn:
            for table in (ChangeRow, CommitRow, FileRow):
                conn.execute(delete(table).where(col(table.repo_id) == repo_id))
            conn.execute(
                update(RepositoryRow)
                .where(col(RepositoryRow.id) == repo_id)
                .values(head=None, commit_count=0, next_seq=0, shallow=False, shallow_marker=None)
            )

    def commit_count(self, repo_id: int, merges: bool = False) -> int:
        stmt = sa_select(func.count()).select_from(CommitRow).where(col(CommitRow.repo_id) == repo_id)
        if not merges:
            stmt = stmt.where(col(CommitRow.is_merge).is_(False))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- patterns ---------------------------------------------------------
    def save_patterns(self, repo_id: int, patterns: Iterable[Pattern], plugins: Iterable[str]) -> int:
        """Replace the active patterns of ``plugins`` with ``patterns``.

        Patterns found again keep their first-seen time and usage count;
        patterns no longer found are kept but marked inactive, so feedback
        attached to them is not lost.
        """
        now = int(time.time())
        plugin_set = set(plugins)
        fresh = {p.key: p for p in patterns}
        with self.session() as s:
            existing = {
                row.key: row
                for row in s.exec(
                    select(PatternRow).where(
                        PatternRow.repo_id == repo_id,
                        col(PatternRow.plugin).in_(plugin_set | {p.plugin for p in fresh.values()}),
                    )
                )
            }
            for key, row in existing.items():
                if key not in fresh and row.plugin in plugin_set:
                    row.active = False
                    s.add(row)
            for key, p in fresh.items():
                found = existing.get(key)
                row = (
                    found
                    if found is not None
                    else PatternRow(
                        repo_id=repo_id,
                        key=key,
                        kind=p.kind,
                        plugin=p.plugin,
                        subjects=list(p.subjects),
                        evidence=dict(p.evidence),
                        first_seen=now,
                        last_seen=now,
                        usage_count=p.usage_count,
                    )
                )
                row.kind, row.plugin, row.subjects = p.kind, p.plugin, list(p.subjects)
                row.score, row.confidence = float(p.score), float(p.confidence)
                row.evidence, row.summary = dict(p.evidence), p.summary
                row.last_seen, row.active = now, True
                s.add(row)
            s.commit()
        return len(fresh)

    def patterns(self, repo_id: int, kind: str | None = None, include_inactive: bool = False) -> list[Pattern]:
        stmt = select(PatternRow).where(PatternRow.repo_id == repo_id)
        if kind:
            stmt = stmt.where(PatternRow.kind == kind)
        if not include_inactive:
            stmt = stmt.where(PatternRow.active == True)  # noqa: E712
        with self.session() as s:
            rows = s.exec(stmt.order_by(PatternRow.kind, PatternRow.key)).all()
        return [_to_pattern(r) for r in rows]

    def import_patterns(self, repo_id: int, patterns: Iterable[Pattern]) -> int:
        """Upsert patterns exactly as given (usage counts included)."""
        now = int(time.time())
        count = 0
        with self.session() as s:
            for p in patterns:
                found = s.exec(select(PatternRow).where(PatternRow.repo_id == repo_id, PatternRow.key == p.key)).first()
                row = found or PatternRow(
                    repo_id=repo_id,
                    key=p.key,
                    kind=p.kind,
                    plugin=p.plugin,
                    subjects=[],
                    evidence={},
                    first_seen=now,
                    last_seen=now,
                )
                row.kind, row.plugin, row.subjects = p.kind, p.plugin, list(p.subjects)
                row.score, row.confidence, row.evidence = p.score, p.confidence, dict(p.evidence)
                row.summary, row.usage_count, row.active, row.last_seen = p.summary, p.usage_count, p.active, now
                s.add(row)
                count += 1
            s.commit()
        return count

    def count_usage(self, repo_id: int, keys: Iterable[str]) -> None:
        """Bump the usage count of patterns a surface just showed."""
        keys = list(keys)
        if not keys:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(PatternRow)
                .where(col(PatternRow.repo_id) == repo_id, col(PatternRow.key).in_(keys))
                .values(usage_count=PatternRow.usage_count + 1)
            )

    def clear_patterns(self, repo_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(PatternRow).where(col(PatternRow.repo_id) == repo_id))

    # -- plugin runs ------------------------------------------------------
    def record_plugin_run(
        self,
        repo_id: int,
        plugin: str,
        hook: str,
        seconds: float,
        results: int,
        error: str | None,
        commits: int | None = None,
        as_of: int | None = None,
    ) -> None:
        with self.session() as s:
            row = s.exec(
                select(PluginRunRow).where(
                    PluginRunRow.repo_id == repo_id,
                    PluginRunRow.plugin == plugin,
                    PluginRunRow.hook == hook,
                )
            ).first() or PluginRunRow(repo_id=repo_id, plugin=plugin, hook=hook, ran_at=0)
            row.ran_at, row.seconds, row.results, row.error = int(time.time()), seconds, results, error
            row.commits, row.as_of = commits, as_of
            s.add(row)
            s.commit()

    def plugin_runs(self) -> list[PluginRunRow]:
        with self.session() as s:
            return list(s.exec(select(PluginRunRow).order_by(col(PluginRunRow.ran_at))).all())

    # -- deployment gate decisions ----------------------------------------
    def save_gate_decision(self, row: GateDecisionRow) -> GateDecisionRow:
        """Keep one gate verdict (every decision is kept: the audit trail)."""
        with self.session() as s:
            s.add(row)
            s.commit()
            s.refresh(row)
            return row

    def save_gate_decision_unless_decided(self, row: GateDecisionRow, since: int) -> bool:
        """Keep ``row`` unless its repository already has a decision for the same head made at or after ``since``.

        The webhook service answers a deployment protection rule through the
        gate, which stores its own decision; when the gate failed (or a test
        injected another runner) the service keeps the verdict it gave GitHub.
        Check and insert share one transaction.  Returns True when stored.
        """
        g = GateDecisionRow
        with self.session() as s:
            exists = s.exec(
                select(g.id).where(g.repo_id == row.repo_id, g.head == row.head, g.created_at >= since)
            ).first()
            if exists is not None:
                return False
            s.add(row)
            s.commit()
        return True

    def gate_decision_for(self, sha: str) -> tuple[GateDecisionRow, str] | None:
        """The newest decision for the commit ``sha`` (a prefix of 7+ hex digits) in any repository, with its key."""
        g = GateDecisionRow
        sha = sha.lower()
        match = col(g.head).startswith(sha) if len(sha) < 40 else col(g.head) == sha
        stmt = (
            select(g, RepositoryRow.key)
            .join(RepositoryRow, col(RepositoryRow.id) == col(g.repo_id))
            .where(match)
            .order_by(col(g.created_at).desc(), col(g.id).desc())
            .limit(1)
        )
        with self.session() as s:
            found = s.exec(stmt).first()
        return None if found is None else (found[0], str(found[1]))

    def latest_gate_decision(self, head: str, repo_id: int | None = None) -> GateDecisionRow | None:
        """The newest decision for the commit ``head`` (in one repository, or any)."""
        stmt = select(GateDecisionRow).where(GateDecisionRow.head == head)
        if repo_id is not None:
            stmt = stmt.where(GateDecisionRow.repo_id == repo_id)
        with self.session() as s:
            return s.exec(stmt.order_by(col(GateDecisionRow.created_at).desc(), col(GateDecisionRow.id).desc())).first()


def _to_pattern(row: PatternRow) -> Pattern:
    return Pattern(
        kind=row.kind,
        plugin=row.plugin,
        subjects=list(row.subjects),
        score=row.score,
        confidence=row.confidence,
        evidence=dict(row.evidence),
        summary=row.summary,
        usage_count=row.usage_count,
        active=row.active,
        key=row.key,
    )


def open_store(database_url: str, git_dir: Path | None) -> Store:
    """Open (and migrate) the store named by settings, defaulting to SQLite."""
    url = database_url or (default_sqlite_url(git_dir) if git_dir else "")
    if not url:
        from empathy.core.errors import StoreError

        raise StoreError("no database URL and no repository to keep a default store in")
    engine = make_engine(url)
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    empty = bool(database) and database != ":memory:" and Path(str(database)).is_file()
    empty = empty and Path(str(database)).stat().st_size == 0
    migrate(engine)
    store = Store(engine)
    if empty:
        # SQLite takes a 0-byte file for a new database: whatever was meant to be there is not
        store.notes.append(
            f"the store {database} was an empty file (0 bytes): a new, empty store was created in it; "
            "history is ingested again, and any feedback or track record it held is gone"
        )
    return store
