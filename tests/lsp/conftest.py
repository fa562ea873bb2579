"""Language-server tests: a real ``empathy lsp`` subprocess driven over stdio by pytest-lsp."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as t
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

from empathy.core.host import AUTOLOAD_ENV
from tests.envs import child_env
from tests.lsp.project import build

SERVER = [sys.executable, "-m", "empathy", "lsp"]
#: Client capability profiles shipped with pytest-lsp: VS Code and Neovim push, Neovim 0.10 pulls.
VSCODE = "visual-studio-code"
NEOVIM_PUSH = "neovim@v0.9.1"
NEOVIM_PULL = "neovim@v0.10.0"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lsp-template") / "repo"
    build(path)
    return path


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A private copy of the test repository (the store is created inside its .git on first use)."""
    dest = tmp_path / "repo"
    shutil.copytree(template, dest, symlinks=True)
    return dest


def uri(path: Path) -> str:
    return from_fs_path(str(path)) or ""


@asynccontextmanager
async def session(
    root: Path,
    profile: str = VSCODE,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[LanguageClient]:
    """A started, initialized server for ``root``; shut down cleanly afterwards."""

    server_env = child_env()
    server_env.update(env or {})
    config = ClientServerConfig(server_command=SERVER, server_env=server_env)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    _fix_code_action_union(client)
    client.set_configuration({"debounceMs": 0, "headPollSeconds": 0.3, **(settings or {})}, section="empathy")
    await client.initialize_session(
        t.InitializeParams(
            capabilities=pytest_lsp.client_capabilities(profile),
            root_uri=uri(root),
            workspace_folders=[t.WorkspaceFolder(uri=uri(root), name=root.name)],
        )
    )
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


async def until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (real processes need real waiting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def open_file(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    doc = uri(path)
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(
            t.TextDocumentItem(
                uri=doc,
                language_id="python",
                version=version,
                text=path.read_text(encoding="utf-8") if text is None else text,
            )
        )
    )
    return doc


def replace_all(client: LanguageClient, doc: str, text: str, version: int) -> None:
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=doc, version=version),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def codes(diags: Any) -> set[str]:
    return {str(d.code) for d in diags or []}


def ready_logged(client: LanguageClient) -> bool:
    """The first background load has ended (its progress ``end``): no refresh of its own will follow."""
    return any(isinstance(r, t.WorkDoneProgressEnd) for reports in client.progress_reports.values() for r in reports)


def record_versions(client: LanguageClient, doc: str, into: list[int | None]) -> None:
    """Also record the version of every diagnostics notification for ``doc``, in arrival order."""
    handler = client.protocol.fm.features[t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(*args: Any) -> None:
        handler(*args)
        params = args[-1]
        if params.uri == doc:
            into.append(params.version)

    client.protocol.fm.features[t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record


def _fix_code_action_union(client: LanguageClient) -> None:
    """lsprotocol's client-side hook reads any code action with a ``command`` as a bare Command.

    A CodeAction's ``command`` is an object and a Command's a string (that is how
    editors tell them apart); teach the test client the same rule.
    """
    from typing import Union

    converter = client.protocol._converter

    def structure(obj: Any, _type: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, t.Command)
        return converter.structure(obj, t.CodeAction)

    converter.register_structure_hook(Union[t.Command, t.CodeAction], structure)  # noqa: UP007


def install_plugin(site: Path, name: str, source: str) -> dict[str, str]:
    """A real installed distribution (dist-info with an ``empathy`` entry point) for the server to load.

    Returns the environment that puts it on the server's ``sys.path``.
    """
    import os

    site.mkdir(parents=True, exist_ok=True)
    module = f"plugin_{name.replace('-', '_')}"
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[empathy]\n{name} = {module}\n", encoding="utf-8")
    # a third-party plugin: the session leaves those out unless told otherwise
    return {"PYTHONPATH": os.pathsep.join([str(site), *sys.path]), AUTOLOAD_ENV: "0"}
