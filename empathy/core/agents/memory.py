"""The memory other agents read context through: four layers, two of them persisted.

- **working**: the current request (its paths, the change under review, the
  open documents).  Kept in this object only, set by :meth:`Memory.begin` and
  cleared by :meth:`Memory.end`, so nothing of one request leaks into the
  next and a server's memory does not grow with the requests it answers.
- **short-term**: what was seen recently (paths asked about, findings shown),
  one row per thing with a count and the last time it was seen.  The layer
  is capped at ``short_term_max`` rows: a long-running editor session or a
  busy CI server keeps a bounded table however many requests it answers.
- **long-term**: what recurred.  :meth:`Memory.consolidate` moves a
  short-term item seen ``long_term_min_count`` times (or one already known
  long-term) into this layer, merging the counts, and forgets short-term
  items older than ``short_term_days`` and long-term items not seen for
  ``long_term_stale_days``.
- **meta**: what this user or team acts on and dismisses, per rule and per
  level.  It is *not* stored here: the trust ledger already keeps every
  outcome with decay (``empathy.core.trust``), so :meth:`Memory.meta` reads
  its estimates instead of keeping a second copy that could disagree.

Both persisted layers live in one table (``memory_item``), told apart by
``layer``; times are unix seconds like the rest of the store.  Every method
takes an optional time (``at`` / ``now``) and otherwise asks ``clock``, so a
year of activity can be simulated in a test.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Executable,
    RowMapping,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from empathy.core.store.store import Store
from empathy.core.store.tables import MemoryItemRow

if TYPE_CHECKING:
    from empathy.core.agents.orchestrator import Request
    from empathy.core.model import Finding
    from empathy.core.trust import TrustLedger

__all__ = [
    "DAY",
    "LAYERS",
    "LONG",
    "META_KINDS",
    "SHORT",
    "Consolidation",
    "Memory",
    "MemoryItem",
    "Preference",
]

DAY = 86_400
SHORT = "short"
LONG = "long"
LAYERS = (SHORT, LONG)
#: The trust subject kinds the meta layer reports (see ``empathy.core.trust``).
META_KINDS = ("rule", "level")
#: Context entries that are not the request's context, never copied into working
#: memory: the workspace is a handle, and the settings are configuration (they
#: may hold an endpoint's API key, which must not travel with the context).
_NOT_WORKING = frozenset({"workspace", "settings"})
#: Paths per ``IN (...)`` lookup, well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500

_T = MemoryItemRow.__table__  # type: ignore[attr-defined]

# The statements run on every request are built once: building a SQLAlchemy
# statement costs more Python time than SQLite takes to run it.

#: Drop every item of a layer beyond the ``keep`` most recently seen.  One
#: statement, so bounding the layer costs one indexed scan of at most
#: ``keep`` + a few rows per request.
_TRIM = delete(_T).where(
    _T.c.id.in_(
        select(_T.c.id)
        .where(_T.c.repo_id == bindparam("repo_id"), _T.c.layer == bindparam("layer"))
        .order_by(_T.c.last_at.desc(), _T.c.count.desc(), _T.c.id.desc())
        .offset(bindparam("keep"))
    )
)

#: Both layers' items concerning some paths, each within its own window.
_ABOUT_PATHS = select(_T).where(
    _T.c.repo_id == bindparam("repo_id"),
    _T.c.path.in_(bindparam("paths", expanding=True)),
    or_(
        and_(_T.c.layer == SHORT, _T.c.last_at >= bindparam("short_since")),
        and_(_T.c.layer == LONG, _T.c.last_at >= bindparam("long_since")),
    ),
)

_UPSERTS: dict[tuple[str, bool], Executable] = {}


def _upsert_statement(dialect: str, with_data: bool) -> Executable:
    """``INSERT ... ON CONFLICT DO UPDATE`` for SQLite or PostgreSQL, built once per shape.

    The row counts once more; ``first_at`` / ``last_at`` widen to include the
    new sighting (which may be late news of an earlier one); a given path
    replaces the stored one; the stored data is replaced only ``with_data``.
    """
    key = (dialect, with_data)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        base = (sqlite_insert if dialect == "sqlite" else pg_insert)(_T)
        new = base.excluded
        changes: dict[str, Any] = {
            "count": _T.c.count + 1,
            "first_at": case((new.first_at < _T.c.first_at, new.first_at), else_=_T.c.first_at),
            "last_at": case((new.last_at > _T.c.last_at, new.last_at), else_=_T.c.last_at),
            "path": func.coalesce(new.path, _T.c.path),
        }
        if with_data:
            changes["data"] = new.data
        stmt = _UPSERTS[key] = base.on_conflict_do_update(
            index_elements=["repo_id", "layer", "kind", "key"], set_=changes
        )
    return stmt


@dataclass(frozen=True)
class MemoryItem:
    """One remembered thing, as read from the short- or long-term layer."""

    layer: str
    kind: str
    key: str
    path: str | None
    count: int
    first_at: int
    last_at: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Consolidation:
    """What one :meth:`Memory.consolidate` did.

    ``promoted`` counts short-term items moved to long-term (new there, or
    merged into an item already there); ``forgotten_short`` and
    ``forgotten_long`` count items dropped for staleness; ``trimmed`` counts
    items dropped because a layer was over its size (after a bound was
    lowered, or a long-term layer that outgrew ``long_term_max``).
    """

    promoted: int = 0
    forgotten_short: int = 0
    forgotten_long: int = 0
    trimmed: int = 0

    @property
    def forgotten(self) -> int:
        return self.forgotten_short + self.forgotten_long + self.trimmed


@dataclass(frozen=True)
class Preference:
    """The meta layer's view of one rule or level: how often it is acted on.

    ``share`` is the trust ledger's decayed Beta mean (acted/useful against
    dismissed/not useful, with the ledger's prior); ``n`` the decayed number
    of outcomes behind it and ``raw_n`` the undecayed count; ``lower`` the
    ledger's conservative bound.  A reader should weigh ``share`` by ``n``:
    0.67 from one outcome is the prior talking.
    """

    share: float
    n: float
    raw_n: int
    lower: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


class Memory:
    """The four memory layers of one repository; see the module docstring.

    A ``Memory`` is cheap (it holds the store and a few numbers), so make one
    per request: the working layer then belongs to that request alone, even
    when the orchestrator answers several requests at once.
    """

    def __init__(
        self,
        store: Store,
        repo_id: int,
        short_term_days: float = 30,
        short_term_max: int = 500,
        long_term_min_count: int = 3,
        long_term_stale_days: float = 365,
        clock: Callable[[], float] = time.time,
        *,
        long_term_max: int = 5000,
        ledger: TrustLedger | None = None,
    ) -> None:
        for name, value in (
            ("short_term_days", short_term_days),
            ("short_term_max", short_term_max),
            ("long_term_min_count", long_term_min_count),
            ("long_term_stale_days", long_term_stale_days),
            ("long_term_max", long_term_max),
        ):
            _positive(name, value)
        self.store = store
        self.repo_id = repo_id
        self.short_term_days = short_term_days
        self.short_term_max = int(short_term_max)
        self.long_term_min_count = int(long_term_min_count)
        self.long_term_stale_days = long_term_stale_days
        self.long_term_max = int(long_term_max)
        self.clock = clock
        self.working: dict[str, Any] = {}
        self._ledger = ledger

    @property
    def ledger(self) -> TrustLedger:
        """The trust ledger the meta layer reads (made on first use, on the same clock)."""
        if self._ledger is None:
            from empathy.core.trust import TrustLedger

            self._ledger = TrustLedger(self.store, self.repo_id, clock=self.clock)
        return self._ledger

    # -- working memory ----------------------------------------------------------
    def begin(self, request: Request) -> dict[str, Any]:
        """Make ``request`` the working memory (replacing any earlier one) and return it.

        The change is copied as a plain dict and the request's context entries
        are kept except the workspace (a handle) and the settings
        (configuration, possibly with secrets), so the working layer can be
        handed to any agent or serialised as it is.
        """
        change = request.change
        self.working = {
            "kind": request.kind,
            "paths": list(request.paths),
            "change": None if change is None else dataclasses.asdict(change),
            "context": {k: v for k, v in request.context.items() if k not in _NOT_WORKING},
        }
        return self.working

    def end(self) -> None:
        """Forget the working memory: the request is answered."""
        self.working = {}

    # -- short-term: remembering -------------------------------------------------
    def remember(
        self,
        kind: str,
        key: str,
        data: Mapping[str, Any] | None = None,
        at: float | None = None,
        path: str | None = None,
    ) -> None:
        """Note that ``key`` (of ``kind``) was seen: count it once more in short-term.

        ``data`` replaces the stored data when given and is kept otherwise;
        ``path`` is the file the item concerns (a ``"path"`` item's key is
        its path).  When the layer then holds more than ``short_term_max``
        items, the least recently seen are dropped.
        """
        self.remember_many(kind, [key], at=at, data=data, path=path)

    def remember_many(
        self,
        kind: str,
        keys: Iterable[str],
        at: float | None = None,
        data: Mapping[str, Any] | None = None,
        path: str | None = None,
    ) -> int:
        """:meth:`remember` each distinct key once, in one transaction; returns how many."""
        unique = [k for k in dict.fromkeys(keys) if k]
        if not unique:
            return 0
        when = self._time(at)
        items = [
            {"kind": kind, "key": key, "path": path if path is not None else (key if kind == "path" else None)}
            for key in unique
        ]
        self._upsert(items, None if data is None else dict(data), when)
        return len(unique)

    def remember_findings(self, findings: Iterable[Finding], at: float | None = None) -> int:
        """Remember findings a surface showed, by fingerprint, with their file, rule and level."""
        when = self._time(at)
        unique = {f.fingerprint: f for f in findings}
        items = [
            {
                "kind": "finding",
                "key": f.fingerprint,
                "path": f.location.path,
                "data": {"code": f.code, "level": int(f.level), "source": f.source},
            }
            for f in unique.values()
        ]
        if items:
            self._upsert(items, None, when)
        return len(unique)

    # -- consolidation ------------------------------------------------------------
    def consolidate(self, now: float | None = None) -> Consolidation:
        """Move what recurs to long-term, forget what is stale; one transaction.

        A short-term item moves when it was seen at least
        ``long_term_min_count`` times, or when long-term already knows it (it
        recurred once more; merging keeps the long-term ``last_at`` current,
        so a path still in use is not forgotten as stale).  Promotion comes
        before forgetting: an item that recurred enough is kept even when its
        last sighting has just left the short-term window.  Then short-term
        items not seen within ``short_term_days`` and long-term items not seen
        within ``long_term_stale_days`` are deleted, and both layers are
        trimmed to their maximum size.
        """
        when = self._time(now)
        s, lt = _T.alias("s"), _T.alias("l")
        joined = s.outerjoin(
            lt,
            and_(lt.c.repo_id == s.c.repo_id, lt.c.layer == LONG, lt.c.kind == s.c.kind, lt.c.key == s.c.key),
        )
        candidates = (
            select(s.c.id, s.c.path, s.c.count, s.c.first_at, s.c.last_at, s.c.data, lt.c.id)
            .select_from(joined)
            .where(
                s.c.repo_id == self.repo_id,
                s.c.layer == SHORT,
                or_(s.c.count >= self.long_term_min_count, lt.c.id.is_not(None)),
            )
            # Locks the short-term rows on PostgreSQL, so two processes
            # consolidating at once cannot merge one row's count twice.
            .with_for_update(of=s)
        )
        promoted = 0
        with self.store.engine.begin() as conn:
            merged_ids: list[int] = []
            for sid, path, count, first_at, last_at, data, lid in conn.execute(candidates).all():
                promoted += 1
                if lid is None:
                    conn.execute(update(_T).where(_T.c.id == sid).values(layer=LONG))
                    continue
                # Relative updates, so a concurrent merge into the same row adds up.
                values: dict[str, Any] = {
                    "count": _T.c.count + int(count),
                    "first_at": case((_T.c.first_at > first_at, first_at), else_=_T.c.first_at),
                    "last_at": case((_T.c.last_at < last_at, last_at), else_=_T.c.last_at),
                }
                if data:
                    values["data"] = data
                if path is not None:
                    values["path"] = path
                conn.execute(update(_T).where(_T.c.id == lid).values(**values))
                merged_ids.append(int(sid))
            for chunk in _chunks(merged_ids):
                conn.execute(delete(_T).where(_T.c.id.in_(chunk)))
            forgotten_short = self._forget(conn, SHORT, self._since(when, self.short_term_days))
            forgotten_long = self._forget(conn, LONG, self._since(when, self.long_term_stale_days))
            trimmed = self._trim(conn, SHORT, self.short_term_max) + self._trim(conn, LONG, self.long_term_max)
        return Consolidation(promoted, forgotten_short, forgotten_long, trimmed)

    # -- reading -------------------------------------------------------------------
    def items(self, layer: str, kind: str | None = None, paths: Iterable[str] | None = None) -> list[MemoryItem]:
        """Every item of one layer (optionally of one kind, or concerning ``paths``), newest first."""
        _check_layer(layer)
        base = select(_T).where(_T.c.repo_id == self.repo_id, _T.c.layer == layer)
        if kind is not None:
            base = base.where(_T.c.kind == kind)
        stmts = [base] if paths is None else [base.where(_T.c.path.in_(c)) for c in _chunks(list(dict.fromkeys(paths)))]
        out: list[MemoryItem] = []
        with self.store.engine.connect() as conn:
            for stmt in stmts:
                out.extend(_item(row) for row in conn.execute(stmt).mappings())
        out.sort(key=lambda i: (-i.last_at, i.kind, i.key))
        return out

    def size(self, layer: str) -> int:
        """How many items one layer holds."""
        _check_layer(layer)
        stmt = select(func.count()).select_from(_T).where(_T.c.repo_id == self.repo_id, _T.c.layer == layer)
        with self.store.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def meta(self, now: float | None = None) -> dict[str, dict[str, Preference]]:
        """Per rule and per level: the share of outcomes acted on, from the trust ledger.

        Returns ``{"rule": {code: Preference}, "level": {"4": Preference}}``;
        a rule or level without recorded outcomes is absent (nothing is known).
        """
        out: dict[str, dict[str, Preference]] = {kind: {} for kind in META_KINDS}
        for est in self.ledger.estimates(now=now):  # one query for every kind
            if est.subject_kind in out:
                out[est.subject_kind][est.subject] = Preference(
                    share=est.mean, n=est.effective_n, raw_n=est.raw_n, lower=est.lower
                )
        return out

    def context(self, paths: Iterable[str] = (), limit: int = 50, now: float | None = None) -> dict[str, Any]:
        """What other agents read: the layers, narrowed to ``paths``, as plain data.

        ``short_term`` lists items seen within ``short_term_days`` (newest
        first) and ``long_term`` items seen within ``long_term_stale_days``
        (most frequent first), both concerning ``paths`` (every item when no
        path is given), at most ``limit`` each; the windows are applied here
        too, so a stale item is not reported between two consolidations.
        ``preferences`` maps each rule to the share of its findings acted on;
        ``meta`` has the full :meth:`meta` (rules and levels, with sample sizes).
        """
        when = self._time(now)
        wanted = list(dict.fromkeys(paths))
        short, long = self._recent(wanted, when, limit)
        meta = self.meta(now=when)
        return {
            "working": dict(self.working),
            "short_term": [i.to_dict() for i in short],
            "long_term": [i.to_dict() for i in long],
            "preferences": {rule: p.share for rule, p in meta["rule"].items()},
            "meta": {kind: {s: p.to_dict() for s, p in prefs.items()} for kind, prefs in meta.items()},
        }

    # -- internals -------------------------------------------------------------------
    def _time(self, at: float | None) -> int:
        return int(self.clock() if at is None else at)

    @staticmethod
    def _since(when: int, days: float) -> int:
        """The oldest ``last_at`` still inside a window of ``days`` ending at ``when``."""
        return when - int(days * DAY)

    def _recent(self, paths: list[str], when: int, limit: int) -> tuple[list[MemoryItem], list[MemoryItem]]:
        """Short- and long-term items within their windows, concerning ``paths`` (or all), ranked.

        Short-term ranks the most recent first, long-term the most frequent.
        For given paths, one query fetches both layers (the items about a few
        files are few) and the ranking is done here; without paths, each
        layer is ranked and cut by the database.
        """
        short_since = self._since(when, self.short_term_days)
        long_since = self._since(when, self.long_term_stale_days)
        found: list[MemoryItem] = []
        with self.store.engine.connect() as conn:
            if paths:
                for chunk in _chunks(paths):
                    params = {
                        "repo_id": self.repo_id,
                        "paths": chunk,
                        "short_since": short_since,
                        "long_since": long_since,
                    }
                    found.extend(_item(row) for row in conn.execute(_ABOUT_PATHS, params).mappings())
            else:
                for layer, since, order in (
                    (SHORT, short_since, (_T.c.last_at.desc(), _T.c.count.desc(), _T.c.id)),
                    (LONG, long_since, (_T.c.count.desc(), _T.c.last_at.desc(), _T.c.id)),
                ):
                    stmt = (
                        select(_T)
                        .where(_T.c.repo_id == self.repo_id, _T.c.layer == layer, _T.c.last_at >= since)
                        .order_by(*order)
                        .limit(limit)
                    )
                    found.extend(_item(row) for row in conn.execute(stmt).mappings())
        short = sorted((i for i in found if i.layer == SHORT), key=lambda i: (-i.last_at, -i.count, i.kind, i.key))
        long = sorted((i for i in found if i.layer == LONG), key=lambda i: (-i.count, -i.last_at, i.kind, i.key))
        return short[:limit], long[:limit]

    def _upsert(self, items: list[dict[str, Any]], data: dict[str, Any] | None, when: int) -> None:
        """Count each item once more in short-term (inserting it with count 1), then bound the layer.

        ``items`` carry ``kind``, ``key``, ``path`` and optionally their own
        ``data``; ``data`` given here applies to all of them.  Items without
        data keep their stored data.  SQLite and PostgreSQL do each upsert in
        one atomic statement (``ON CONFLICT DO UPDATE``), so two processes
        remembering the same path at once both count; other databases fall
        back to update-then-insert.  One transaction for all of it.
        """
        with_data = data is not None or any("data" in i for i in items)
        rows = [
            {
                "repo_id": self.repo_id,
                "layer": SHORT,
                "kind": i["kind"],
                "key": i["key"],
                "path": i["path"],
                "count": 1,
                "first_at": when,
                "last_at": when,
                "data": dict(i.get("data", data) or {}),
            }
            for i in items
        ]
        with self.store.engine.begin() as conn:
            dialect = conn.dialect.name
            if dialect in ("sqlite", "postgresql"):
                conn.execute(_upsert_statement(dialect, with_data), rows)
            else:
                for row in rows:
                    self._update_or_insert(conn, row, with_data)
            self._trim(conn, SHORT, self.short_term_max)

    @staticmethod
    def _update_or_insert(conn: Connection, row: dict[str, Any], with_data: bool) -> None:
        when = row["last_at"]
        match = and_(
            _T.c.repo_id == row["repo_id"],
            _T.c.layer == row["layer"],
            _T.c.kind == row["kind"],
            _T.c.key == row["key"],
        )
        changes: dict[str, Any] = {
            "count": _T.c.count + 1,
            "first_at": case((_T.c.first_at > when, when), else_=_T.c.first_at),
            "last_at": case((_T.c.last_at < when, when), else_=_T.c.last_at),
        }
        if row["path"] is not None:
            changes["path"] = row["path"]
        if with_data:
            changes["data"] = row["data"]
        if conn.execute(update(_T).where(match).values(**changes)).rowcount == 0:
            conn.execute(insert(_T).values(**row))

    def _trim(self, conn: Connection, layer: str, keep: int) -> int:
        """Drop the least recently seen items of ``layer`` beyond ``keep``; returns how many."""
        return int(conn.execute(_TRIM, {"repo_id": self.repo_id, "layer": layer, "keep": keep}).rowcount)

    def _forget(self, conn: Connection, layer: str, before: int) -> int:
        """Delete the items of ``layer`` last seen before ``before``; returns how many."""
        stmt = delete(_T).where(_T.c.repo_id == self.repo_id, _T.c.layer == layer, _T.c.last_at < before)
        return int(conn.execute(stmt).rowcount)


def _check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise ValueError(f"unknown memory layer {layer!r}; the stored layers are {', '.join(LAYERS)}")


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _item(row: RowMapping) -> MemoryItem:
    return MemoryItem(
        layer=str(row["layer"]),
        kind=str(row["kind"]),
        key=str(row["key"]),
        path=row["path"],
        count=int(row["count"]),
        first_at=int(row["first_at"]),
        last_at=int(row["last_at"]),
        data=dict(row["data"] or {}),
    )
