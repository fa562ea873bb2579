"""The LSP features: which request or notification does what.

The handlers stay thin: they find the document's repository, look its
findings up in the index (:class:`~empathy.lsp_server.server.EmpathyServer`)
and answer; anything that touches git, the store or a plugin runs on the
worker pool.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.uris import from_fs_path, to_fs_path

from empathy import __version__
from empathy.core.ignore import IgnoreMap
from empathy.lsp_server.actions import COMMAND_FEEDBACK, COMMAND_OPEN, diagnostic_actions, plugin_action
from empathy.lsp_server.repository import find_root
from empathy.lsp_server.server import PULL_WAIT_SECONDS, EmpathyServer

__all__ = ["create_server"]


def _result_id(diags: list[t.Diagnostic], loading: bool) -> str:
    """A result id that changes exactly when what the client shows would change."""
    payload = json.dumps(
        [
            (
                d.code,
                d.message,
                int(d.severity or 0),
                (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character),
                d.data.get("fingerprint") if isinstance(d.data, dict) else None,
            )
            for d in diags
        ]
    )
    return ("loading:" if loading else "") + hashlib.sha256(payload.encode()).hexdigest()[:20]


def create_server() -> EmpathyServer:
    """The server with every feature registered (``empathy lsp`` starts it)."""
    server = EmpathyServer()

    @server.feature(t.INITIALIZE)
    def initialize(ls: EmpathyServer, params: t.InitializeParams) -> None:
        ls.main_loop = asyncio.get_running_loop()
        caps = params.capabilities
        text = caps.text_document
        ls.pull = bool(text is not None and text.diagnostic is not None)
        ws_caps = caps.workspace
        ls.refresh_support = bool(
            ws_caps is not None and ws_caps.diagnostics is not None and ws_caps.diagnostics.refresh_support
        )
        ls.configuration_support = bool(ws_caps is not None and ws_caps.configuration)
        ls.progress_support = bool(caps.window is not None and caps.window.work_done_progress)

    @server.feature(t.INITIALIZED)
    async def initialized(ls: EmpathyServer, params: t.InitializedParams) -> None:
        await ls.read_settings()
        ls.log_message(
            f"empathy {__version__}: {'pull' if ls.pull else 'push'} diagnostics, run {ls.editor.run}, "
            f"progress {'on' if ls.progress_support and ls.editor.progress else 'off'}"
        )
        folders = [f.uri for f in (ls.workspace.folders or {}).values()]
        if not folders and ls.workspace.root_uri:
            folders = [ls.workspace.root_uri]
        for uri in folders:
            fs = to_fs_path(uri)
            if not fs:
                continue
            root = await ls.run(find_root, Path(fs))
            if root is None:
                ls.log_message(f"{fs} is not inside a git repository: no diagnostics for its files")
            elif root not in ls.repos:
                ls.start_repo(root)
        if ls.editor.head_poll_seconds > 0:
            ls.poller = ls.spawn(poll_heads(ls))

    @server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: EmpathyServer, params: t.DidChangeConfigurationParams) -> None:
        before = ls.editor
        await ls.read_settings()
        if ls.editor.analysis != before.analysis:
            for state in ls.repos.values():
                state.settings = ls.editor
                ls.schedule_load(state, "settings changed")
        else:
            for state in ls.repos.values():
                state.settings = ls.editor
        if ls.editor.head_poll_seconds > 0 and (ls.poller is None or ls.poller.done()):
            ls.poller = ls.spawn(poll_heads(ls))
        ls.refresh()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: EmpathyServer, params: t.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: EmpathyServer, params: t.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        first_edit = uri not in ls.edited
        ls.edited.add(uri)
        if ls.editor.run != "onType":
            return
        pending = ls.debounce.pop(uri, None)
        if pending is not None:
            pending.cancel()
        ls.debounce[uri] = ls.spawn(debounced(ls, uri, first_edit))

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: EmpathyServer, params: t.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.publish(uri)
        state, rel = ls.state_for(uri)
        if state is None:
            return
        if rel in ("pyproject.toml", ".empathy.toml"):
            ls.schedule_load(state, "settings file saved")
            return
        if state.ws is None:
            return
        was_edited = uri in ls.edited
        moved = await ls.run(state.refresh_worktree)
        ls.edited.discard(uri)  # the file on disk now says what the buffer says
        if moved or was_edited:  # e.g. an edit saved back to HEAD's content is no longer a change
            ls.refresh(state)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: EmpathyServer, params: t.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        pending = ls.debounce.pop(uri, None)
        if pending is not None:
            pending.cancel()
        was_edited = uri in ls.edited
        ls.edited.discard(uri)  # unsaved edits are gone with the buffer
        if not ls.pull:
            ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        if was_edited:
            ls.publish_others(ls.state_for(uri)[0], uri)

    @server.feature(
        t.TEXT_DOCUMENT_DIAGNOSTIC,
        t.DiagnosticOptions(identifier="empathy", inter_file_dependencies=True, workspace_diagnostics=False),
    )
    async def pull_diagnostics(ls: EmpathyServer, params: t.DocumentDiagnosticParams) -> t.DocumentDiagnosticReport:
        uri = params.text_document.uri
        state, _rel = ls.state_for(uri)
        loading = ls.loading.get(state.root) if state is not None else None
        if state is not None and state.index is None and loading is not None and not loading.done():
            # A client that cannot be asked to pull again (no refresh support, e.g. Neovim)
            # would keep an empty answer: answer when the first index is ready instead.
            try:
                await asyncio.wait_for(asyncio.shield(ls.first_index(state)), timeout=PULL_WAIT_SECONDS)
            except TimeoutError:
                pass
        doc = ls.workspace.get_text_document(uri)
        diags = ls.diagnostics_for(doc)
        items = diags or []
        result_id = _result_id(items, loading=diags is None)
        if params.previous_result_id == result_id:
            return t.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return t.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    async def hover(ls: EmpathyServer, params: t.HoverParams) -> t.Hover | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        diags = ls.diagnostics_for(doc) or []
        line = params.position.line
        here = [d for d in diags if d.range.start.line <= line <= d.range.end.line]
        state, rel = ls.state_for(doc.uri)
        if not here or state is None or rel is None or state.index is None:
            return None
        fingerprints = {d.data.get("fingerprint") for d in here if isinstance(d.data, dict)}
        findings = [
            f for f in state.index.lookup(rel, ls.changed_paths(state), IgnoreMap()) if f.fingerprint in fingerprints
        ]
        from empathy.lsp_server.hover import hover_markdown

        text = await ls.run(hover_markdown, state, rel, findings)
        return t.Hover(
            contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text),
            range=here[0].range,
        )

    @server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]))
    async def code_action(ls: EmpathyServer, params: t.CodeActionParams) -> list[t.CodeAction]:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        ours = [d for d in params.context.diagnostics if isinstance(d.data, dict) and "fingerprint" in d.data]
        actions: list[t.CodeAction] = []
        for diag in ours:
            actions.extend(diagnostic_actions(doc, diag, ls.editor.show_ignore_actions))
        state, rel = ls.state_for(doc.uri)
        if ours and state is not None and state.index is not None and rel is not None:
            wanted = {d.data["fingerprint"]: d for d in ours}  # type: ignore[index]
            findings = [f for f in state.index.by_path.get(rel, []) if f.fingerprint in wanted]
            for finding in findings:
                for action in await ls.run(state.plugin_actions, finding):
                    converted = plugin_action(doc, str(state.root), action, wanted[finding.fingerprint])
                    if converted is not None:
                        actions.append(converted)
        return actions

    @server.command(COMMAND_FEEDBACK)
    async def feedback(ls: EmpathyServer, root: str, code: str, useful: bool, fingerprint: str = "") -> Any:
        state = ls.repos.get(Path(root))
        if state is None or state.ws is None:
            raise ValueError(f"{root} is not a repository this server has open")
        result = await ls.run(state.feedback, code, bool(useful), fingerprint)
        ls.log_message(
            f"{state.root.name}: feedback on {code}: threshold {result['threshold_old']:.2f} -> "
            f"{result['threshold_new']:.2f}"
        )
        ls.refresh(state)
        return result

    @server.command(COMMAND_OPEN)
    async def open_file(ls: EmpathyServer, root: str, path: str) -> Any:
        target = (Path(root) / path).resolve()
        if not target.is_relative_to(Path(root).resolve()):
            raise ValueError(f"{path} is outside {root}")
        uri = from_fs_path(str(target))
        if uri is None:
            raise ValueError(f"cannot make a URI of {target}")
        result = await ls.window_show_document_async(t.ShowDocumentParams(uri=uri, take_focus=True))
        return {"uri": uri, "success": bool(result.success)}

    @server.feature(t.SHUTDOWN)
    def shutdown(ls: EmpathyServer, params: None) -> None:
        for task in list(ls.background):
            task.cancel()

    return server


async def debounced(ls: EmpathyServer, uri: str, first_edit: bool) -> None:
    """Publish after the typing pauses; a newer edit cancels this one, so only the latest version is shown."""
    await asyncio.sleep(ls.editor.debounce_ms / 1000)
    ls.debounce.pop(uri, None)
    ls.publish(uri)
    if first_edit:
        ls.publish_others(ls.state_for(uri)[0], uri)


async def poll_heads(ls: EmpathyServer) -> None:
    """Notice new commits (HEAD moving) and re-ingest incrementally in the background."""
    while ls.editor.head_poll_seconds > 0:
        await asyncio.sleep(max(ls.editor.head_poll_seconds, 0.2))
        for state in list(ls.repos.values()):
            running = ls.loading.get(state.root)
            if running is not None and not running.done():
                continue
            head = await ls.run(state.head_now)
            if head is None:
                continue
            if head != state.seen_head:
                state.seen_head = head
                ls.log_message(f"{state.root.name}: HEAD moved to {head[:12]}; reading the new commits")
                ls.schedule_load(state, "new commits")
