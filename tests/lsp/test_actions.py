"""Hover, code actions and commands end to end: trust feedback, the coupled file, ignore comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types as t

from empathy.core.workspace import open_workspace
from tests.lsp.conftest import codes, install_plugin, open_file, ready_logged, replace_all, session, until, uri

pytestmark = pytest.mark.asyncio


def _actions_request(doc: str, diags: list[t.Diagnostic]) -> t.CodeActionParams:
    return t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(doc),
        range=diags[0].range,
        context=t.CodeActionContext(diagnostics=diags),
    )


def _apply(text: str, edit: t.TextEdit) -> str:
    """Apply one single-line (or insertion) edit; enough for the ignore actions."""
    lines = text.splitlines(keepends=True)
    start, end = edit.range.start, edit.range.end
    before = "".join(lines[: start.line]) + (lines[start.line][: start.character] if start.line < len(lines) else "")
    after_line = lines[end.line] if end.line < len(lines) else ""
    after = after_line[end.character :] + "".join(lines[end.line + 1 :])
    return before + edit.new_text + after


async def test_hover_shows_history_and_track_record(project: Path) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "core.py")
        await until(lambda: client.diagnostics.get(doc), what="core.py diagnostics")
        hover = await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(doc), position=t.Position(0, 3))
        )
        assert hover is not None and isinstance(hover.contents, t.MarkupContent)
        text = hover.contents.value
        assert "12 commits" in text and "0 of them bug fixes" in text
        assert "track record" in text  # none yet on this repository, and it says how to get one
        assert "`hotspot`" in text and "commits_window=12" in text
        nothing = await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(doc), position=t.Position(5, 0))
        )
        assert nothing is None  # only lines that carry a warning get empathy's hover
        # the file it usually changes with is named in the hover, with how often
        api = open_file(client, project / "api.py")
        diags = await until(lambda: client.diagnostics.get(api), what="api.py diagnostics")
        on_api = await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(api), position=diags[0].range.start)
        )
        assert on_api is not None and isinstance(on_api.contents, t.MarkupContent)
        assert "changes with, in its last " in on_api.contents.value and "`client.py` (" in on_api.contents.value


async def test_not_useful_feedback_moves_the_threshold_and_hides_the_rule(project: Path) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "api.py")
        diags = await until(
            lambda: [d for d in client.diagnostics.get(doc, []) if d.code == "hotspot"], what="api.py hotspot"
        )
        actions = await client.text_document_code_action_async(_actions_request(doc, diags))
        titles = [a.title for a in actions if isinstance(a, t.CodeAction)]
        assert "empathy: `hotspot` is not useful" in titles
        not_useful = next(a for a in actions if isinstance(a, t.CodeAction) and "not useful" in a.title)
        assert not_useful.command is not None
        result = await client.workspace_execute_command_async(
            t.ExecuteCommandParams(command=not_useful.command.command, arguments=not_useful.command.arguments)
        )
        assert result["threshold_old"] == 0.5 and result["threshold_new"] > 0.5
        # api.py's hotspot has confidence 0.5: under the raised threshold it no longer surfaces
        await until(lambda: "hotspot" not in codes(client.diagnostics.get(doc)), what="hotspot hidden")
    ws = open_workspace(project)
    assert ws.trust().threshold("hotspot") == result["threshold_new"]  # the same ledger as `empathy feedback`


async def test_open_the_coupled_file(project: Path) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "api.py")
        await until(lambda: ready_logged(client) and doc in client.diagnostics, what="api.py diagnostics")
        replace_all(client, doc, "a = 5\n", version=2)
        diags = await until(
            lambda: [d for d in client.diagnostics.get(doc, []) if d.code == "missing-partner"],
            what="missing partner",
        )
        actions = await client.text_document_code_action_async(_actions_request(doc, diags))
        opener = next(a for a in actions if isinstance(a, t.CodeAction) and a.title.startswith("Open client.py"))
        assert opener.command is not None
        await client.workspace_execute_command_async(
            t.ExecuteCommandParams(command=opener.command.command, arguments=opener.command.arguments)
        )
        assert [d.uri for d in client.shown_documents] == [uri((project / "client.py").resolve())]


async def test_ignore_action_adds_a_comment_that_silences_the_rule(project: Path) -> None:
    async with session(project) as client:
        path = project / "core.py"
        doc = open_file(client, path)
        diags = await until(lambda: [d for d in client.diagnostics.get(doc, []) if d.code == "hotspot"], what="hotspot")
        actions = await client.text_document_code_action_async(_actions_request(doc, diags))
        ignore = next(a for a in actions if isinstance(a, t.CodeAction) and a.title.startswith("Ignore `hotspot`"))
        assert ignore.edit is not None and ignore.edit.changes is not None
        (edit,) = ignore.edit.changes[doc]
        assert edit.new_text == "# empathy: ignore[hotspot]\n"
        text = _apply(path.read_text(encoding="utf-8"), edit)
        replace_all(client, doc, text, version=2)
        await until(lambda: codes(client.diagnostics.get(doc)) == {"knowledge-island"}, what="hotspot silenced")
        path.write_text(text, encoding="utf-8")  # saved: the CLI honours the comment too
    ws = open_workspace(project)
    report = ws.findings()
    assert [f.code for f in report.ignored if f.location.path == "core.py"] == ["hotspot"]
    assert "hotspot" not in {f.code for f in report.findings if f.location.path == "core.py"}


async def test_ignore_actions_can_be_hidden(project: Path) -> None:
    async with session(project, settings={"showIgnoreActions": False}) as client:
        doc = open_file(client, project / "core.py")
        diags = await until(lambda: client.diagnostics.get(doc), what="diagnostics")
        actions = await client.text_document_code_action_async(_actions_request(doc, list(diags)))
        titles = [a.title for a in actions if isinstance(a, t.CodeAction)]
        assert titles and not [title for title in titles if title.startswith("Ignore")]


BROKEN_PLUGIN = """
from empathy.core.hookspecs import hookimpl
from empathy.core.model import CodeAction


@hookimpl
def level_findings(context, patterns):
    raise RuntimeError("broken on purpose")


@hookimpl
def code_actions(context, finding):
    return [CodeAction(title=f"Plugin says: look at {finding.location.path}", command="open",
                       finding=finding.fingerprint, arguments={"path": "client.py"})]
"""


async def test_a_failing_plugin_is_logged_and_the_others_still_answer(project: Path, tmp_path: Path) -> None:
    async with session(project, env=install_plugin(tmp_path / "site", "broken", BROKEN_PLUGIN)) as client:
        doc = open_file(client, project / "core.py")
        diags = await until(lambda: client.diagnostics.get(doc), what="diagnostics from the healthy plugins")
        assert codes(diags) == {"hotspot", "knowledge-island"}
        failures = [m for m in client.log_messages if "plugin broken failed" in m.message]
        assert failures and "broken on purpose" in failures[0].message
        assert failures[0].type == t.MessageType.Warning
        actions = await client.text_document_code_action_async(_actions_request(doc, list(diags)))
        plugin = [a for a in actions if isinstance(a, t.CodeAction) and a.title.startswith("Plugin says")]
        assert plugin and plugin[0].command is not None and plugin[0].command.arguments[1] == "client.py"


async def test_malformed_requests_get_an_error_and_the_server_keeps_going(project: Path, tmp_path: Path) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "core.py")
        await until(lambda: client.diagnostics.get(doc), what="diagnostics")
        with pytest.raises(Exception, match="could not be read"):
            await _raw_request(client, 9001, "textDocument/hover", {"bogus": True})
        with pytest.raises(Exception, match="Method Not Found"):
            await _raw_request(client, 9002, "empathy/nothing", {})
        with pytest.raises(Exception, match="could not be read"):
            await _raw_request(client, 9003, "textDocument/codeAction", {"textDocument": {"uri": doc}})
        # A 10 MB buffer and a binary file: an answer, no crash.
        big = tmp_path / "big.py"
        big.write_text("x = 1\n" * 1_700_000, encoding="utf-8")
        blob = project / "blob.bin"
        blob.write_bytes(bytes(range(256)) * 64)
        for path in (big, blob):
            other = open_file(client, path, text=path.read_bytes().decode("latin-1"))
            await until(lambda other=other: other in client.diagnostics, what=f"an answer for {path.name}")
        # Out of order: a change and a close for a document that was never opened.
        ghost = uri(project / "never_opened.py")
        replace_all(client, ghost, "x = 1\n", version=3)
        client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(ghost)))
        # Positions past the end of the buffer are clamped, not fatal.
        hover = await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(doc), position=t.Position(10_000, 99))
        )
        assert hover is None
        again = await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(doc), position=t.Position(0, 0))
        )
        assert again is not None


async def test_a_malformed_notification_is_a_log_line_not_a_popup(project: Path) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "core.py")
        await until(lambda: client.diagnostics.get(doc), what="diagnostics")
        body = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"bogus": True}}).encode()
        stdin = client._server.stdin  # type: ignore[attr-defined]
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await stdin.drain()
        await until(
            lambda: [m for m in client.log_messages if "ignored a message the server could not handle" in m.message],
            what="the log line",
        )
        assert client.messages == []  # no window/showMessage popup
        assert not [m for m in client.log_messages if "Traceback" in m.message]
        hover = await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(doc), position=t.Position(0, 3))
        )
        assert hover is not None  # and the server keeps going


async def _raw_request(client: object, msg_id: int, method: str, params: object) -> object:
    """Write a request straight to the server's stdin (the client library would refuse to send it)."""
    import asyncio
    from concurrent.futures import Future

    future: Future[object] = Future()
    client.protocol._request_futures[msg_id] = future  # type: ignore[attr-defined]
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()
    stdin = client._server.stdin  # type: ignore[attr-defined]
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await stdin.drain()
    return await asyncio.wait_for(asyncio.wrap_future(future), 30)
