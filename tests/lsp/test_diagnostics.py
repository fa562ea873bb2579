"""Diagnostics end to end: a real server over stdio, real git history, VS Code and Neovim profiles."""

from __future__ import annotations

import pytest
from lsprotocol import types as t

from empathy.core.workspace import open_workspace
from tests.lsp.conftest import (
    NEOVIM_PULL,
    NEOVIM_PUSH,
    VSCODE,
    codes,
    open_file,
    ready_logged,
    record_versions,
    replace_all,
    session,
    until,
)
from tests.lsp.project import CORE_FIRST_LINE

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("profile", [VSCODE, NEOVIM_PUSH])
async def test_push_diagnostics_with_utf16_ranges_and_progress(project, profile) -> None:
    async with session(project, profile) as client:
        doc = open_file(client, project / "core.py")
        diags = await until(lambda: client.diagnostics.get(doc), what="core.py diagnostics")
        assert codes(diags) == {"hotspot", "knowledge-island"}
        hot = next(d for d in diags if d.code == "hotspot")
        assert hot.source == "proactive"  # the plugin id
        assert hot.severity == t.DiagnosticSeverity.Warning
        assert "core.py" in hot.message and "→" in hot.message
        # A file-level finding covers the first line; the emoji counts two UTF-16 units.
        assert hot.range.start == t.Position(0, 0)
        assert hot.range.end == t.Position(0, len(CORE_FIRST_LINE) + 1)
        assert hot.data["fingerprint"] and hot.data["code"] == "hotspot"

        # Ingestion and mining were reported as created, begun and ended progress.
        def reports() -> list[object]:
            return [r for rs in client.progress_reports.values() for r in rs]

        await until(lambda: any(isinstance(r, t.WorkDoneProgressEnd) for r in reports()), what="progress end")
        first = reports()[0]
        assert isinstance(first, t.WorkDoneProgressBegin) and first.cancellable
        assert any(isinstance(r, t.WorkDoneProgressReport) and "ingesting" in (r.message or "") for r in reports())
        # The effective settings are logged at start.
        assert any("effective editor settings" in m.message for m in client.log_messages)


async def test_function_level_finding_on_its_range(project) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "growing.py")
        diags = await until(lambda: client.diagnostics.get(doc), what="growing.py diagnostics")
        rising = [d for d in diags if d.code == "complexity-rising"]
        assert len(rising) == 1
        # radon's f0 spans lines 5-12 (1-based) after the flat g(); LSP lines are 0-based
        assert (rising[0].range.start.line, rising[0].range.end.line) == (4, 11)


async def test_pull_diagnostics_with_result_ids(project) -> None:
    async with session(project, NEOVIM_PULL) as client:
        doc = open_file(client, project / "core.py")
        params = t.DocumentDiagnosticParams(text_document=t.TextDocumentIdentifier(uri=doc))
        first = await client.text_document_diagnostic_async(params)  # answered once the index is ready
        assert isinstance(first, t.RelatedFullDocumentDiagnosticReport)
        assert codes(first.items) == {"hotspot", "knowledge-island"}
        again = await client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(
                text_document=t.TextDocumentIdentifier(uri=doc), previous_result_id=first.result_id
            )
        )
        assert isinstance(again, t.RelatedUnchangedDocumentDiagnosticReport)
        assert again.result_id == first.result_id
        assert doc not in client.diagnostics  # a pulling client gets nothing pushed


async def test_missing_partner_from_an_unsaved_buffer(project) -> None:
    async with session(project) as client:
        api = open_file(client, project / "api.py")
        partner = open_file(client, project / "client.py")
        await until(lambda: ready_logged(client) and api in client.diagnostics, what="api.py diagnostics")
        assert "missing-partner" not in codes(client.diagnostics[api])
        replace_all(client, api, "a = 100\n", version=2)  # edited, not saved
        diags = await until(
            lambda: [d for d in client.diagnostics.get(api, []) if d.code == "missing-partner"],
            what="missing partner on api.py",
        )
        assert "you changed api.py; client.py is untouched and probably needs changing too" in diags[0].message
        assert "changed together in" in diags[0].message  # the evidence, in words
        assert diags[0].data["other"] == "client.py"
        on_partner = await until(
            lambda: [d for d in client.diagnostics.get(partner, []) if d.code == "missing-partner"],
            what="missing partner on client.py",
        )
        # the same words on both files (one finding builder, core/partners.py), placed on each
        assert "you changed api.py; client.py is untouched" in on_partner[0].message
        assert on_partner[0].data["other"] == "api.py"
        # Closing the edited buffer drops its unsaved change, and with it the partner warning.
        client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(api)))
        await until(lambda: list(client.diagnostics.get(api, [None])) == [], what="cleared on close")
        await until(lambda: "missing-partner" not in codes(client.diagnostics.get(partner)), what="partner cleared")


async def test_never_publishes_an_older_version(project) -> None:
    async with session(project) as client:
        doc = open_file(client, project / "core.py")
        await until(lambda: client.diagnostics.get(doc), what="first diagnostics")
        versions: list[int | None] = []
        record_versions(client, doc, versions)

        text = (project / "core.py").read_text(encoding="utf-8")
        for version in range(2, 40):
            replace_all(client, doc, text + f"# edit {version} é🙂\n", version)
        await until(lambda: versions and versions[-1] == 39, what="the last version published")
        assert versions == sorted(versions)  # never an older version after a newer one


async def test_on_save_mode_and_severity_floor(project) -> None:
    async with session(project, settings={"run": "onSave", "minSeverity": "warning"}) as client:
        api = open_file(client, project / "api.py")
        await until(lambda: ready_logged(client) and api in client.diagnostics, what="api.py diagnostics")
        assert list(client.diagnostics[api]) == []  # api.py's hotspot is only "info"
        published: list[int | None] = []
        record_versions(client, api, published)

        replace_all(client, api, "a = 100\n", version=2)
        await client.text_document_hover_async(  # a round trip: the change has been handled
            t.HoverParams(text_document=t.TextDocumentIdentifier(api), position=t.Position(0, 0))
        )
        assert published == []  # onSave: typing publishes nothing
        (project / "api.py").write_text("a = 100\n", encoding="utf-8")  # the editor writes, then notifies
        client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(api)))
        await until(lambda: published, what="publish on save")
        assert set(published) == {2}
        # a warning, so above the floor; it stays once the work tree has been re-read
        await until(lambda: len(published) >= 2, what="the refresh after re-reading the work tree")
        assert "missing-partner" in codes(client.diagnostics[api])


async def test_new_commits_are_noticed_and_ingested(project) -> None:
    from tests.gitrepo import RepoBuilder

    async with session(project) as client:
        doc = open_file(client, project / "client.py")
        await until(lambda: ready_logged(client), what="first index")
        builder = RepoBuilder(project)
        builder.day = 100
        builder.commit("client alone", {"client.py": "c = 1000\n"})
        await until(lambda: any("HEAD moved" in m.message for m in client.log_messages), what="HEAD noticed")
        head = builder.head()[:12]
        await until(lambda: any(f"at {head}" in m.message for m in client.log_messages), what="index at new HEAD")
        assert doc in client.diagnostics
    ws = open_workspace(project)
    assert ws.store.refresh_repository(ws.repo_id).head == builder.head()  # ingested incrementally


async def test_config_error_and_outside_files_answer_cleanly(project, tmp_path) -> None:
    (project / ".empathy.toml").write_text("horizon_days = 'soon'\n", encoding="utf-8")
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n", encoding="utf-8")
    async with session(project) as client:
        doc = open_file(client, outside)
        await until(lambda: doc in client.diagnostics, what="an answer for a file outside any repository")
        assert list(client.diagnostics[doc]) == []
        core = open_file(client, project / "core.py")
        await until(lambda: client.messages, what="a message about the broken configuration")
        assert "horizon_days" in client.messages[0].message
        await until(lambda: core in client.diagnostics, what="an empty answer for the broken repository")
        assert list(client.diagnostics[core]) == []


async def test_changed_settings_refresh_the_diagnostics(project) -> None:
    async with session(project) as client:
        api = open_file(client, project / "api.py")
        await until(lambda: "hotspot" in codes(client.diagnostics.get(api)), what="api.py's info-level hotspot")
        client.set_configuration({"debounceMs": 0, "minSeverity": "warning"}, section="empathy")
        client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
        await until(lambda: "hotspot" not in codes(client.diagnostics.get(api)), what="hidden below the floor")
        logged = [m.message for m in client.log_messages if "effective editor settings" in m.message]
        assert len(logged) == 2 and '"min_severity": "warning"' in logged[1]


@pytest.mark.parametrize("profile", [VSCODE, NEOVIM_PUSH])
async def test_diagnostics_reach_a_folder_whose_name_needs_encoding(template, tmp_path, profile) -> None:
    """Clients percent-encode spaces, "+", "#" and non-ASCII; diagnostics come back under the URI they sent."""
    import shutil

    from tests.lsp.conftest import uri

    root = tmp_path / "my project+x #1 ü"
    shutil.copytree(template, root, symlinks=True)
    doc = uri(root / "core.py")
    assert "%20" in doc and "%2B" in doc and "%23" in doc and "%C3%BC" in doc  # encoded as clients do
    async with session(root, profile) as client:
        assert open_file(client, root / "core.py") == doc
        diags = await until(lambda: client.diagnostics.get(doc), what="diagnostics under the client's URI")
        assert "hotspot" in codes(diags)
        assert set(client.diagnostics) == {doc}  # nothing published under an unencoded twin
