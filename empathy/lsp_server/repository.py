"""One repository as the server sees it: its workspace, its findings index, its changed files.

Everything here is synchronous and runs on a worker thread, one job at a
time per repository (``lock``); the event loop only reads the finished
index, which is replaced whole, never mutated, so a lookup never waits for
ingestion or mining.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from empathy.core.changes import working_tree_change
from empathy.core.cochange import Suggestion
from empathy.core.errors import EmpathyError
from empathy.core.model import CodeAction, Finding
from empathy.core.trust import TrustGate
from empathy.core.usecases.refresh import Refresh
from empathy.core.workspace import MineReport, Workspace, open_workspace
from empathy.lsp_server.index import FindingsIndex
from empathy.lsp_server.settings import EditorSettings, analysis_overrides

__all__ = ["LoadStatus", "RepoState", "find_root"]

#: Where a repository's loading stands; documents wait while it is ``loading``.
LoadStatus = Literal["loading", "ready", "failed", "empty", "cancelled"]

_OPEN_LOCK = threading.Lock()


def find_root(directory: Path) -> Path | None:
    """The work-tree root containing ``directory``, or None outside any repository."""
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=probe,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return Path(out.stdout.strip()).resolve()


@dataclass
class RepoState:
    """The server's view of one repository (multi-root workspaces hold one per repository)."""

    root: Path
    settings: EditorSettings
    ws: Workspace | None = None
    index: FindingsIndex | None = None
    #: files changed in the work tree against HEAD (refreshed on save and on new commits)
    changed_on_disk: frozenset[str] = frozenset()
    status: LoadStatus = "loading"
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0
    #: pieces of feedback given in this session (an index built before the latest one is re-gated)
    trust_version: int = 0
    #: the HEAD the last load started from (the poller reloads when git says otherwise)
    seen_head: str | None = None
    log: Callable[[str], None] = field(default=lambda _m: None)

    # -- steps (each on a worker thread) ------------------------------------------
    def open(self) -> None:
        """Open the workspace with the editor's analysis settings where the project leaves a default."""
        overrides, shadowed = analysis_overrides(self.root, self.settings)
        for line in shadowed:
            self.log(f"{self.root.name}: {line}")
        with _OPEN_LOCK:  # alembic's migration context is process-global: one store opens at a time
            self.ws = open_workspace(self.root, overrides)

    def head_now(self) -> str | None:
        """HEAD as git says it now (None when it cannot be read, e.g. no commits yet)."""
        try:
            out = subprocess.run(
                ["git", "rev-parse", "--verify", "-q", "HEAD^{commit}"],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() or None

    def refresh(self, ingest_progress: Callable[[int, int], None], mine_progress: Callable[[str], None]) -> Refresh:
        """Ingest and run the stale quick miners; the slow ones are left in ``Refresh.deferred``."""
        assert self.ws is not None
        return self.ws.refresh(
            ingest_progress=ingest_progress,
            mine_progress=mine_progress,
            defer_slow=True,
            # the progress report says why nothing moves while a CLI run holds the ingest lock
            on_wait=lambda: mine_progress("waiting for another empathy process ingesting this repository"),
        )

    def levels(self) -> tuple[list[str], list[str]]:
        """(quick, slow) level plugins: after new commits the slow ones answer after the first diagnostics."""
        assert self.ws is not None
        from empathy.core.usecases.refresh import quick_and_slow

        return quick_and_slow(self.ws, "level_findings")

    def mine(self, only: list[str], progress: Callable[[str], None]) -> MineReport:
        assert self.ws is not None
        return self.ws.mine(progress=progress, only=only)

    def build_index(self, only: list[str] | None = None) -> tuple[FindingsIndex, dict[str, str]]:
        """Every finding of the repository (ungated, comments not yet applied) and the plugins that failed.

        With ``only``, just those levels answer (the quick first index after new
        commits); the forecast for the hover is then left for the full index.
        """
        ws = self.ws
        assert ws is not None
        report = ws.findings(gated=False, only=only)
        self.generation += 1
        seen = self.trust_version
        index = FindingsIndex.build(
            head=ws.repo.head,
            findings=report.findings + report.ignored,  # the buffer's comments decide, not the file on disk
            gate=self.snapshot_gate(),
            generation=self.generation,
            forecasts=self.forecasts() if only is None else {},
        )
        index.trust_version = seen
        if self.partners_ready:
            index = index.with_partners(self.partners_of)
        return index, report.errors

    @property
    def partners_ready(self) -> bool:
        return self.ws is not None and self.ws._partner_index is not None

    def partners_of(self, changed: frozenset[str]) -> list[Suggestion]:
        assert self.ws is not None
        return self.ws.partners(changed)

    def build_partners(self) -> None:
        """Build the co-change index (seconds on a large history; after the first diagnostics)."""
        assert self.ws is not None
        self.ws.partner_index()
        if self.index is not None:
            self.index = self.index.with_partners(self.partners_of)

    def snapshot_gate(self) -> TrustGate:
        """The trust ledger's thresholds and level policy as they are now."""
        assert self.ws is not None
        return self.ws.trust().gate()

    def forecasts(self) -> dict[str, dict[str, object]]:
        """Each source file's forecast for the hover: the workspace's one forecast (cached per head)."""
        ws = self.ws
        assert ws is not None
        if not ws.history().commits:
            return {}
        try:
            run = ws.forecast().run
        except Exception as exc:  # noqa: BLE001 - the hover loses its forecast line, nothing else
            self.log(f"{self.root.name}: no forecast for the hover: {type(exc).__name__}: {exc}")
            return {}
        return {
            f.path: {
                "probability": None if f.probability is None else round(f.probability, 3),
                "rank": f.rank,
                "files": run.files,
                "drivers": list(f.drivers),
                "horizon_days": run.horizon_days,
            }
            for f in run.forecasts
        }

    def regate(self) -> None:
        """Re-read the trust thresholds (after feedback) without asking the plugins again."""
        if self.ws is None or self.index is None:
            return
        seen = self.trust_version
        gate = self.snapshot_gate()
        self.generation += 1
        self.index = self.index.with_gate(gate, self.generation, seen)

    def refresh_worktree(self) -> bool:
        """Re-read the work tree's changed files; True when the set moved."""
        if self.ws is None:
            return False
        try:
            paths = frozenset(working_tree_change(self.ws.repo).paths)
        except (EmpathyError, OSError, ValueError) as exc:
            self.log(f"{self.root.name}: cannot read the work tree's changes: {exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - GitPython raises its own hierarchy; never crash the server
            self.log(f"{self.root.name}: cannot read the work tree's changes: {type(exc).__name__}: {exc}")
            return False
        moved = paths != self.changed_on_disk
        self.changed_on_disk = paths
        return moved

    def relpath(self, path: Path) -> str | None:
        """``path`` relative to the root with forward slashes (None when outside)."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    # -- level 2: what the user tells us ------------------------------------------------
    def feedback(self, code: str, useful: bool, fingerprint: str) -> dict[str, Any]:
        """The trust ledger learns from the editor exactly as from ``empathy feedback``."""
        ws = self.ws
        assert ws is not None
        with self.lock:
            change, estimate, _experiment, _arm = ws.record_feedback(
                code, useful, detail={"fingerprint": fingerprint, "surface": "lsp"}
            )
            self.trust_version += 1
            self.regate()
        return {
            "rule": code,
            "threshold_old": change.old,
            "threshold_new": change.new,
            "crossed": list(change.crossed),
            "repo_trust": estimate.mean,
        }

    def plugin_actions(self, finding: Finding) -> list[CodeAction]:
        """What the ``code_actions`` plugins offer for a finding (each plugin isolated, failures logged)."""
        ws = self.ws
        if ws is None or not ws.host.implementations("code_actions"):
            return []
        context = ws.analysis_context()
        out: list[CodeAction] = []
        for result in ws.host.call_each("code_actions", timeout=5.0, context=context, finding=finding):
            if not result.ok:
                self.log(f"{self.root.name}: plugin {result.plugin} failed in code_actions: {result.error}")
                continue
            out.extend(a for a in result.value or [] if isinstance(a, CodeAction))
        return out
