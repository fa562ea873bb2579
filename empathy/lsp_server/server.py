"""The language server: documents in, findings looked up, diagnostics, hovers and code actions out.

The event loop never waits for git, the store or a plugin: ingestion,
mining and the whole-repository findings run on worker threads (one job at a
time per repository) and replace a finished :class:`FindingsIndex`; opening,
saving or editing a document only looks its path up in that index and adds
the cheap buffer-dependent findings.  The protocol handlers are in
:mod:`empathy.lsp_server.features`; see docs/editors.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from empathy import __version__
from empathy.core.errors import ConfigError, EmpathyError, EmptyRepositoryError, NotARepositoryError
from empathy.core.ignore import MAX_SCAN_BYTES, IgnoreMap, parse_ignores
from empathy.lsp_server.convert import diagnostic
from empathy.lsp_server.protocol import EmpathyProtocol
from empathy.lsp_server.repository import RepoState, find_root
from empathy.lsp_server.settings import EditorSettings, parse_settings

__all__ = ["EmpathyServer"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long a pull request waits for a repository's first findings before answering with what there is.
PULL_WAIT_SECONDS = 60.0

#: Documents larger than this get file-level findings only (no comment scan, no line ranges).
LARGE_DOCUMENT = 5_000_000


class Cancelled(Exception):
    """The user cancelled the background work from the progress UI."""


class EmpathyServer(LanguageServer):
    """pygls server holding one :class:`RepoState` per repository of the workspace."""

    def __init__(self) -> None:
        super().__init__(
            "empathy",
            __version__,
            text_document_sync_kind=t.TextDocumentSyncKind.Incremental,
            protocol_cls=EmpathyProtocol,
        )
        self.editor = EditorSettings()
        self.repos: dict[Path, RepoState] = {}
        self.roots_by_dir: dict[Path, Path | None] = {}
        self.loading: dict[Path, asyncio.Task[None]] = {}
        self.debounce: dict[str, asyncio.Task[None]] = {}
        self.edited: set[str] = set()
        self.pull = False
        self.refresh_support = False
        self.progress_support = False
        self.configuration_support = False
        self.background: set[asyncio.Task[Any]] = set()
        self.poller: asyncio.Task[None] | None = None
        self.progress_count = 0
        self.main_loop: asyncio.AbstractEventLoop | None = None

    # -- plumbing ------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop without waiting for a worker that is halfway through an ingest or a miner.

        pygls joins its thread pool here, which would keep an editor's exit
        waiting for the slowest miner; the store keeps every completed batch,
        so the work is simply resumed next time.
        """
        if self._stop_event is not None:
            self._stop_event.set()
        if self._thread_pool is not None:
            self._thread_pool.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            self._server.close()

    def log_message(self, message: str, kind: t.MessageType = t.MessageType.Info) -> None:
        """A line in the editor's log for this server (``window/logMessage``)."""
        self.window_log_message(t.LogMessageParams(type=kind, message=f"empathy: {message}"))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """An out-of-band error (a malformed notification ...) is one line in the log, not a popup.

        pygls shows every such error as an error message to the user; a client
        that sends one malformed notification per keystroke would bury the user
        in popups, and the traceback helps nobody there.
        """
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        self.log_message(f"ignored a message the server could not handle: {first[:300]}", t.MessageType.Warning)

    def log_from_thread(self, message: str) -> None:
        if self.main_loop is not None:
            self.main_loop.call_soon_threadsafe(self.log_message, message)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking work on the worker pool."""
        return await asyncio.get_running_loop().run_in_executor(self.thread_pool, func, *args)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    # -- repositories ---------------------------------------------------------------
    def root_for(self, path: Path) -> Path | None:
        directory = path.parent
        if directory not in self.roots_by_dir:
            self.roots_by_dir[directory] = find_root(directory)
        return self.roots_by_dir[directory]

    def state_for(self, uri: str) -> tuple[RepoState | None, str | None]:
        """The repository of a document and the document's path in it (None, None outside any).

        ``uri`` may be a key of ``workspace.text_documents``, which pygls stores
        unquoted: read as a URI, a "#" in it would start a fragment and cut the
        path.  An open document's own URI (as the client sent it) is used instead.
        """
        opened = self.workspace.text_documents.get(uri)
        if opened is not None:
            uri = opened.uri
        fs = to_fs_path(uri)
        if not fs or not uri.startswith("file:"):
            return None, None
        path = Path(fs)
        root = self.root_for(path)
        if root is None:
            return None, None
        state = self.repos.get(root)
        if state is None:
            state = self.start_repo(root)
        return state, state.relpath(path)

    def start_repo(self, root: Path) -> RepoState:
        state = RepoState(root=root, settings=self.editor, log=self.log_from_thread)
        self.repos[root] = state
        self.schedule_load(state, "opened")
        return state

    def schedule_load(self, state: RepoState, reason: str) -> None:
        running = self.loading.get(state.root)
        if running is not None and not running.done():
            return
        self.loading[state.root] = self.spawn(self.load(state, reason))

    async def load(self, state: RepoState, reason: str) -> None:
        """Open, ingest, mine (quick miners first) and index one repository, with progress."""
        token: str | None = None
        if self.editor.progress and self.progress_support:
            self.progress_count += 1
            token = f"empathy-{self.progress_count}"
            try:
                await self.work_done_progress.create_async(token)
                self.work_done_progress.begin(
                    token,
                    t.WorkDoneProgressBegin(
                        title=f"empathy: {state.root.name}", message=reason, cancellable=True, percentage=0
                    ),
                )
            except Exception as exc:  # noqa: BLE001 - a client that refuses progress still gets diagnostics
                log.info("progress refused: %s", exc)
                token = None
        started = time.monotonic()
        outcome = "done"
        try:
            state.seen_head = await self.run(state.head_now)
            await self._load_steps(state, token)
        except Cancelled:
            if state.index is None:
                state.status = "cancelled"
            outcome = "cancelled; diagnostics show what was ready"
            self.log_message(f"{state.root.name}: background work cancelled")
        except EmptyRepositoryError as exc:
            state.status, state.error, outcome = "empty", exc.message, "no history yet"
            self.log_message(f"{state.root.name}: {exc.message}; no diagnostics until the first commit")
        except NotARepositoryError as exc:
            state.status, state.error, outcome = "failed", exc.message, "not a repository"
            self.log_message(f"{state.root.name}: {exc.message}", t.MessageType.Warning)
        except ConfigError as exc:
            state.status, state.error, outcome = "failed", exc.message, "configuration error"
            self.log_message(f"{state.root.name}: {exc.message}", t.MessageType.Error)
            self.window_show_message(
                t.ShowMessageParams(type=t.MessageType.Error, message=f"empathy: {exc.message} ({exc.hint})")
            )
        except EmpathyError as exc:
            state.status, state.error, outcome = "failed", exc.message, exc.message
            self.log_message(f"{state.root.name}: {exc.message}", t.MessageType.Error)
        except Exception as exc:
            state.status, state.error, outcome = "failed", str(exc), "internal error"
            log.exception("background work failed for %s", state.root)
            self.log_message(f"{state.root.name}: internal error {type(exc).__name__}: {exc}", t.MessageType.Error)
        finally:
            if state.index is None:
                self.refresh(state)  # open documents get an (empty) answer rather than none
            if token is not None:
                self.work_done_progress.end(
                    token, t.WorkDoneProgressEnd(message=f"{outcome} ({time.monotonic() - started:.1f} s)")
                )

    async def _load_steps(self, state: RepoState, token: str | None) -> None:
        loop = asyncio.get_running_loop()
        last_report = [0.0]

        def report(message: str, percentage: int | None = None) -> None:
            if token is None:
                return
            if token in self.work_done_progress.tokens and self.work_done_progress.tokens[token].cancelled():
                raise Cancelled
            self.work_done_progress.report(token, t.WorkDoneProgressReport(message=message, percentage=percentage))

        def report_threadsafe(message: str, percentage: int | None = None, throttle: bool = False) -> None:
            now = time.monotonic()
            if throttle and now - last_report[0] < 0.25:
                return
            last_report[0] = now
            loop.call_soon_threadsafe(_quiet(report), message, percentage)

        def ingest_progress(done: int, total: int) -> None:
            pct = int(60 * done / total) if total else None
            report_threadsafe(f"ingesting history: {done} of {total} commits", pct, throttle=True)

        def mine_progress(message: str) -> None:
            report_threadsafe(message)

        clock = time.monotonic()

        def lap(what: str) -> None:
            nonlocal clock
            now = time.monotonic()
            self.log_message(f"{state.root.name}: {what} in {now - clock:.2f} s")
            clock = now

        old = state.ws
        await self.run(self._locked(state, state.open))
        if old is not None:
            old.store.engine.dispose()
        report("reading history", 0)
        refreshed = await self.run(self._locked(state, state.refresh), ingest_progress, mine_progress)
        ingested = refreshed.ingest
        mined_now = [r.plugin for r in refreshed.mined.results] if refreshed.mined else []
        lap(f"read {ingested.new_commits} new commits" + (f", mined with {', '.join(mined_now)}" if mined_now else ""))
        for warning in ingested.warnings[:5]:
            self.log_message(f"{state.root.name}: {warning}", t.MessageType.Warning)
        self.report_plugin_errors(state, "mining", refreshed.errors)
        report("history read", 60)
        if ingested.new_commits:
            # After new commits a slow level (the forecast retrains) would hold every diagnostic
            # back: show the quick levels' findings first, then all of them.
            quick_levels, slow_levels = await self.run(self._locked(state, state.levels))
            if slow_levels:
                report("asking the quick levels", 65)
                await self.index(state, quick_levels)
                lap(f"asked {', '.join(quick_levels)}")
        report("asking the levels", 70)
        await self.index(state)
        lap("asked the levels")
        report("learning which files change together", 80)
        await self.run(self._locked(state, state.build_partners))
        lap("built the co-change index")
        self.refresh(state)
        slow = refreshed.deferred
        if slow:
            report(f"mining {', '.join(slow)} (diagnostics are already shown)", 85)
            mined = await self.run(self._locked(state, state.mine), slow, mine_progress)
            self.report_plugin_errors(state, "mining", mined.errors)
            lap(f"mined with {', '.join(slow)}")
            report("asking the levels again", 95)
            await self.index(state)
            lap("asked the levels again")

    def _locked(self, state: RepoState, func: Callable[..., T]) -> Callable[..., T]:
        def call(*args: Any) -> T:
            with state.lock:
                return func(*args)

        return call

    async def index(self, state: RepoState, only: list[str] | None = None) -> None:
        """Rebuild a repository's index and show it in every open document of that repository."""
        index, errors = await self.run(self._locked(state, state.build_index), only)
        await self.run(self._locked(state, state.refresh_worktree))
        state.index = index
        if index.trust_version != state.trust_version:
            # Feedback arrived while this index was being built: its gate is already stale.
            await self.run(self._locked(state, state.regate))
        state.status = "ready"
        self.report_plugin_errors(state, "levels", errors)
        self.log_message(
            f"{state.root.name}: {sum(len(v) for v in index.by_path.values())} findings on "
            f"{len(index.by_path)} files at {index.head[:12]}"
        )
        self.refresh(state)

    async def first_index(self, state: RepoState) -> None:
        """Wait until a repository has its first index (or its loading ended without one)."""
        while state.index is None:
            task = self.loading.get(state.root)
            if task is None or task.done():
                return
            await asyncio.sleep(0.05)

    def report_plugin_errors(self, state: RepoState, stage: str, errors: dict[str, str]) -> None:
        for plugin, error in errors.items():
            self.log_message(
                f"{state.root.name}: plugin {plugin} failed while {stage}: {error} "
                "(the other plugins' diagnostics are shown)",
                t.MessageType.Warning,
            )

    # -- diagnostics ------------------------------------------------------------------
    def changed_paths(self, state: RepoState) -> set[str]:
        """Files changed now: the work tree against HEAD plus every edited, unsaved buffer."""
        changed = set(state.changed_on_disk)
        for uri in self.edited:
            other, rel = self.state_for(uri)
            if other is state and rel is not None:
                changed.add(rel)
        return changed

    def diagnostics_for(self, doc: TextDocument) -> list[t.Diagnostic] | None:
        """The document's diagnostics now; None while its repository is still loading."""
        state, rel = self.state_for(doc.uri)
        if state is None or rel is None:
            return []
        if state.index is None:
            return [] if state.status in ("empty", "failed", "cancelled") else None
        source = doc.source
        large = len(source) > LARGE_DOCUMENT
        ignores = parse_ignores(source) if len(source) <= MAX_SCAN_BYTES else IgnoreMap()
        findings = state.index.lookup(rel, self.changed_paths(state), ignores, self.editor.min_severity)
        if large:
            findings = [f for f in findings if f.location.start_line is None]
        if not findings:
            return []
        lines = list(doc.lines)
        root = str(state.root)
        return [diagnostic(doc, lines, f, root) for f in findings]

    def publish(self, uri: str) -> None:
        """Push the document's diagnostics for its current version (only for clients that do not pull)."""
        if self.pull:
            return
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return
        diags = self.diagnostics_for(doc)
        if diags is None:
            return
        self.text_document_publish_diagnostics(
            # the URI as the client sent it: pygls keys documents by the unquoted form, and a client
            # that encodes spaces or "+" (VS Code, Neovim) would not match that one
            t.PublishDiagnosticsParams(uri=doc.uri, version=doc.version, diagnostics=diags)
        )

    def refresh(self, state: RepoState | None = None) -> None:
        """New findings: ask a pulling client to pull again, or push to every open document."""
        if self.pull:
            if self.refresh_support:
                self.workspace_diagnostic_refresh(None)
            return
        for uri in list(self.workspace.text_documents):
            if state is None or self.state_for(uri)[0] is state:
                self.publish(uri)

    def publish_others(self, state: RepoState | None, uri: str) -> None:
        """Edits change which partners are missing in the other open documents of the repository."""
        if state is None:
            return
        if self.pull:
            if self.refresh_support and state.index is not None and state.index.partners_of is not None:
                self.workspace_diagnostic_refresh(None)
            return
        for other in list(self.workspace.text_documents):
            if other != unquote(uri) and self.state_for(other)[0] is state:  # keys are unquoted URIs
                self.publish(other)

    # -- settings ------------------------------------------------------------------------
    async def read_settings(self) -> None:
        """Ask the client for the ``empathy`` section (when it can answer) and log the effective settings."""
        raw: Any = None
        if self.configuration_support:
            try:
                answer = await asyncio.wait_for(
                    self.workspace_configuration_async(
                        t.ConfigurationParams(items=[t.ConfigurationItem(section="empathy")])
                    ),
                    timeout=5,
                )
                raw = answer[0] if answer else None
            except Exception as exc:  # noqa: BLE001 - a client that cannot answer keeps the defaults
                self.log_message(f"could not read the editor's settings ({exc}); using the defaults")
        self.editor = parse_settings(raw)
        for problem in self.editor.problems:
            self.log_message(problem, t.MessageType.Warning)
        effective = self.editor.to_dict()
        effective.pop("problems", None)
        self.log_message(
            "effective editor settings: "
            + json.dumps(effective, sort_keys=True)
            + " (analysis settings apply where [tool.empathy] leaves the default)"
        )


def _quiet(func: Callable[..., None]) -> Callable[..., None]:
    """Progress reports after a cancel or an ended token are dropped, not raised on the loop."""

    def call(*args: Any) -> None:
        try:
            func(*args)
        except Cancelled:
            pass

    return call
