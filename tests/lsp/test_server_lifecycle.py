"""Background work and set-up: multi-root workspaces, TCP, plugin time-outs, cancelled progress, settings."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient as PlainClient

from empathy.lsp_server.settings import analysis_overrides, parse_settings
from tests.envs import child_env
from tests.lsp.conftest import VSCODE, codes, install_plugin, open_file, session, until, uri

SLOW_LEVEL = """
import time
from empathy.core.hookspecs import hookimpl


@hookimpl
def level_findings(context, patterns):
    time.sleep(30)
    return []
"""

SLOW_MINER = """
import os
import time
from empathy.core.hookspecs import hookimpl


@hookimpl
def mine_patterns(context):
    time.sleep(float(os.environ.get("SLOW_MINER_SECONDS", "4")))
    return []
"""


@pytest.mark.asyncio
async def test_multi_root_workspace_keeps_one_store_per_repository(template: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    shutil.copytree(template, first, symlinks=True)
    shutil.copytree(template, second, symlinks=True)
    import pytest_lsp as _p
    from pytest_lsp import ClientServerConfig

    from tests.lsp.conftest import SERVER

    env = child_env()
    client = await ClientServerConfig(server_command=SERVER, server_env=env).start()
    client.set_configuration({"debounceMs": 0, "headPollSeconds": 0}, section="empathy")
    await client.initialize_session(
        t.InitializeParams(
            capabilities=_p.client_capabilities(VSCODE),
            workspace_folders=[t.WorkspaceFolder(uri=uri(p), name=p.name) for p in (first, second)],
        )
    )
    try:
        docs = [open_file(client, root / "core.py") for root in (first, second)]
        for doc in docs:
            diags = await until(lambda doc=doc: client.diagnostics.get(doc), what=f"diagnostics for {doc}")
            assert codes(diags) == {"hotspot", "knowledge-island"}
            assert {d.data["root"] for d in diags} == {str(Path(doc[7:]).parent)}
    finally:
        await client.shutdown_session()
        await client.stop()
    for root in (first, second):
        assert (root / ".git" / "empathy").is_dir()  # each repository got its own store


@pytest.mark.asyncio
async def test_a_plugin_time_out_is_logged_and_the_others_answer(project: Path, tmp_path: Path) -> None:
    settings = project / ".empathy.toml"
    settings.write_text("plugin_timeout = 1.0\n" + settings.read_text(), encoding="utf-8")  # top level, before tables
    async with session(project, env=install_plugin(tmp_path / "site", "slow-level", SLOW_LEVEL)) as client:
        doc = open_file(client, project / "core.py")
        diags = await until(lambda: client.diagnostics.get(doc), what="diagnostics despite the slow plugin")
        assert codes(diags) == {"hotspot", "knowledge-island"}
        logged = [m.message for m in client.log_messages if "plugin slow-level failed" in m.message]
        assert logged and "TimeoutError" in logged[0], [m.message for m in client.log_messages]


@pytest.mark.asyncio
async def test_cancelled_progress_stops_the_background_work(project: Path, tmp_path: Path) -> None:
    async with session(project, env=install_plugin(tmp_path / "site", "slow-miner", SLOW_MINER)) as client:
        doc = open_file(client, project / "core.py")
        token = await until(lambda: next(iter(client.progress_reports), None), what="a progress token")
        client.window_work_done_progress_cancel(t.WorkDoneProgressCancelParams(token=token))
        end = await until(
            lambda: [r for r in client.progress_reports[token] if isinstance(r, t.WorkDoneProgressEnd)],
            what="the progress end",
        )
        assert "cancelled" in (end[0].message or "")
        await until(lambda: doc in client.diagnostics, what="an answer after the cancel")
        assert list(client.diagnostics[doc]) == []  # nothing was indexed before the cancel


@pytest.mark.asyncio
async def test_exit_during_background_work_is_prompt(project: Path, tmp_path: Path) -> None:
    import time

    from pytest_lsp import ClientServerConfig

    from tests.lsp.conftest import SERVER

    env = child_env()
    env.update(install_plugin(tmp_path / "site", "slow-miner", SLOW_MINER), SLOW_MINER_SECONDS="60")
    client = await ClientServerConfig(server_command=SERVER, server_env=env).start()
    client.set_configuration({"headPollSeconds": 0}, section="empathy")
    await client.initialize_session(
        t.InitializeParams(capabilities=pytest_lsp.client_capabilities(VSCODE), root_uri=uri(project))
    )
    try:
        await until(
            lambda: any("slow-miner" in str(r) for rs in client.progress_reports.values() for r in rs),
            what="the slow miner running",
        )
        started = time.monotonic()
        await client.shutdown_async(None)
        client.exit(None)
        assert client._server is not None
        await asyncio.wait_for(client._server.wait(), 15)
        assert time.monotonic() - started < 15  # not the miner's 60 s
        assert client._server.returncode == 0
    finally:
        await client.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.asyncio
async def test_tcp_transport(project: Path) -> None:
    port = _free_port()
    env = child_env()
    server = subprocess.Popen(
        [sys.executable, "-m", "empathy", "lsp", "--tcp", f"127.0.0.1:{port}"], env=env, stderr=subprocess.PIPE
    )
    client = PlainClient("tcp-test", "1")
    published: dict[str, list[t.Diagnostic]] = {}

    @client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: t.PublishDiagnosticsParams) -> None:
        published[params.uri] = list(params.diagnostics)

    try:
        for _ in range(100):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        await client.initialize_async(
            t.InitializeParams(capabilities=pytest_lsp.client_capabilities(VSCODE), root_uri=uri(project))
        )
        client.initialized(t.InitializedParams())
        doc = open_file(client, project / "core.py")  # type: ignore[arg-type]
        diags = await until(lambda: published.get(doc), what="diagnostics over TCP")
        assert codes(diags) == {"hotspot", "knowledge-island"}
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        server.terminate()
        server.wait(10)


def test_bad_tcp_address_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "empathy", "lsp", "--tcp", "nowhere"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 4
    assert "--tcp 'nowhere' should be HOST:PORT" in proc.stderr and "Traceback" not in proc.stderr


def test_editor_analysis_settings_yield_to_the_project(project: Path) -> None:
    (project / ".empathy.toml").write_text("horizon_days = 30\n", encoding="utf-8")
    editor = parse_settings({"analysis": {"horizon_days": 180, "window_days": 100, "nonsense": 1}, "run": "never"})
    assert editor.run == "onType"  # a bad value keeps the default ...
    assert any("empathy.run" in p for p in editor.problems)  # ... and says so
    assert any("nonsense" in p for p in editor.problems)
    applied, shadowed = analysis_overrides(project, editor)
    assert applied == {"window_days": 100}  # only where the project leaves the default
    assert shadowed == ["horizon_days: the editor's value is shadowed by .empathy.toml"]


@pytest.mark.asyncio
async def test_a_repository_without_history_answers_empty_until_its_first_commits(tmp_path: Path) -> None:
    from tests.gitrepo import RepoBuilder
    from tests.lsp.project import SETTINGS, core_text

    builder = RepoBuilder(tmp_path / "fresh")
    (builder.path / ".empathy.toml").write_text(SETTINGS, encoding="utf-8")
    (builder.path / ".git" / "info" / "exclude").write_text(".empathy.toml\n", encoding="utf-8")
    builder.write("core.py", core_text(0))
    async with session(builder.path) as client:
        doc = open_file(client, builder.path / "core.py")
        await until(lambda: doc in client.diagnostics, what="an answer for a repository without commits")
        assert list(client.diagnostics[doc]) == []
        assert any("no diagnostics until the first commit" in m.message for m in client.log_messages)
        for k in range(12):
            builder.commit(f"work {k}", {"core.py": core_text(k)})
        builder.commit("other", {"side.py": "s = 1\n"})
        diags = await until(lambda: client.diagnostics.get(doc), what="diagnostics after the first commits")
        assert "hotspot" in codes(diags)
