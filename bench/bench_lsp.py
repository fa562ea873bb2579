"""Language-server latency, cold start and memory, measured from a real client over stdio.

    python bench/bench_lsp.py REPO_PATH [--cold] [--files N] [--edits 1000] [--json OUT]

Starts ``python -m empathy lsp`` as a subprocess and talks to it with
pygls's ``LanguageClient`` (a push-diagnostics client, like Neovim before
0.10 or VS Code's generic clients), then measures:

1. **cold start** (with ``--cold``): the store is a fresh SQLite file, so the
   server ingests the whole history, mines and computes the findings; the
   client opens every source file right after ``initialized`` and records
   the time to the first non-empty ``publishDiagnostics`` and the
   ``$/progress`` notifications received before it;
2. **warm latency**: once the background work has ended (its progress
   ``end``), every tracked source file (``git ls-files`` with a source
   suffix) is opened, saved and closed in turn; each ``didOpen`` and
   ``didSave`` is timed to the ``publishDiagnostics`` for that document
   (p50 / p95 / max);
3. **robustness**: ``--edits`` random incremental edits (non-ASCII text
   included) to one document, malformed and out-of-order requests, a 10 MB
   file and a binary file; the server must answer and stay alive;
4. **memory**: the server's resident set (``VmRSS``) and peak (``VmHWM``)
   from ``/proc`` at the end.

A Markdown summary goes to stdout; ``--json`` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

SOURCE_SUFFIXES = (".py", ".pyi", ".js", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".rb")


class BenchClient(LanguageClient):
    """A client that records diagnostics and progress with timestamps."""

    def __init__(self) -> None:
        super().__init__("empathy-bench", "1")
        self.published: dict[str, asyncio.Queue[t.PublishDiagnosticsParams]] = {}
        self.first_nonempty: float | None = None
        self.progress: list[tuple[float, str]] = []
        self.progress_ended = asyncio.Event()
        self.ends = 0
        self.logs: list[str] = []

    def queue(self, uri: str) -> asyncio.Queue[t.PublishDiagnosticsParams]:
        return self.published.setdefault(uri, asyncio.Queue())


def make_client(config: dict[str, Any]) -> BenchClient:
    client = BenchClient()

    @client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: t.PublishDiagnosticsParams) -> None:
        if params.diagnostics and client.first_nonempty is None:
            client.first_nonempty = time.perf_counter()
        client.queue(params.uri).put_nowait(params)

    @client.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_create(params: t.WorkDoneProgressCreateParams) -> None:
        return None

    @client.feature(t.PROGRESS)
    def on_progress(params: t.ProgressParams) -> None:
        value = params.value
        kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", "")
        message = value.get("message", "") if isinstance(value, dict) else getattr(value, "message", "")
        client.progress.append((time.perf_counter(), f"{kind}: {message}"))
        if kind == "end":
            client.ends += 1
            client.progress_ended.set()

    @client.feature(t.WORKSPACE_CONFIGURATION)
    def on_configuration(params: t.ConfigurationParams) -> list[Any]:
        return [config if item.section == "empathy" else None for item in params.items]

    @client.feature(t.WINDOW_LOG_MESSAGE)
    def on_log(params: t.LogMessageParams) -> None:
        client.logs.append(params.message)

    @client.feature(t.WINDOW_SHOW_MESSAGE)
    def on_show(params: t.ShowMessageParams) -> None:
        client.logs.append("show: " + params.message)

    return client


def capabilities() -> t.ClientCapabilities:
    return t.ClientCapabilities(
        workspace=t.WorkspaceClientCapabilities(configuration=True),
        window=t.WindowClientCapabilities(work_done_progress=True),
        text_document=t.TextDocumentClientCapabilities(
            publish_diagnostics=t.PublishDiagnosticsClientCapabilities(version_support=True),
            hover=t.HoverClientCapabilities(content_format=[t.MarkupKind.Markdown]),
        ),
    )


def source_files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    return sorted(p for p in out.decode().split("\0") if p.endswith(SOURCE_SUFFIXES) and (repo / p).is_file())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def wait_publish(client: BenchClient, uri: str, timeout: float = 30.0) -> t.PublishDiagnosticsParams:
    return await asyncio.wait_for(client.queue(uri).get(), timeout)


def drain(client: BenchClient, uri: str) -> None:
    q = client.queue(uri)
    while not q.empty():
        q.get_nowait()


def rss(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


async def open_doc(client: BenchClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))
    )


async def robustness(client: BenchClient, repo: Path, edits: int, tmp: Path) -> dict[str, Any]:
    """Random edits, malformed requests, a 10 MB and a binary file: the server must keep answering."""
    rng = random.Random(5)
    target = repo / source_files(repo)[0]
    uri = from_fs_path(str(target)) or ""
    text = target.read_text(encoding="utf-8", errors="replace")
    await open_doc(client, uri, text, 1)
    await wait_publish(client, uri)
    lines = text.splitlines() or [""]
    version = 1
    for _ in range(edits):
        version += 1
        line = rng.randrange(len(lines) + 5)  # sometimes past the end: the server must clamp
        insert = rng.choice(["x", "é", "🙂", "\n", "# empathy: ignore[hotspot]\n", "中文", ""])
        client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    t.TextDocumentContentChangePartial(
                        range=t.Range(t.Position(line, 0), t.Position(line, rng.randrange(3))), text=insert
                    )
                ],
            )
        )
    # Out of order: a change and a hover for a document that was never opened.
    ghost = from_fs_path(str(repo / "never_opened.py")) or ""
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=ghost, version=3),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text="x = 1\n")],
        )
    )
    # Malformed traffic written straight to the server's stdin: bad params, unknown methods, broken JSON.
    raw = [
        {"jsonrpc": "2.0", "id": 9001, "method": "textDocument/hover", "params": {"bogus": True}},
        {
            "jsonrpc": "2.0",
            "id": 9002,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": ghost}, "position": {"line": 0, "character": 0}},
        },
        {"jsonrpc": "2.0", "id": 9003, "method": "textDocument/codeAction", "params": {"textDocument": {"uri": uri}}},
        {"jsonrpc": "2.0", "id": 9004, "method": "empathy/unknown", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didSave", "params": None},
    ]
    stdin = client._server.stdin  # type: ignore[union-attr]
    for message in raw:
        body = json.dumps(message).encode()
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    body = b"{not json"
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await stdin.drain()
    # The server still answers a well-formed request after all that.
    await asyncio.wait_for(
        client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(0, 0))
        ),
        30,
    )
    errors = len(raw)
    big = tmp / "big.py"
    big.write_text("x = 1  # padding\n" * 600_000)  # about 10 MB
    binary = tmp / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4096)
    for path in (big, binary):
        u = from_fs_path(str(path)) or ""
        await open_doc(client, u, path.read_bytes().decode("latin-1"))
        await wait_publish(client, u, 60)
    # Still alive and current: the last version of the edited document gets its diagnostics.
    version += 1
    client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri)))
    final = None
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        final = await wait_publish(client, uri)
        if final.version == version - 1:
            break
    return {
        "edits": edits,
        "malformed_sent": errors + 1,
        "answered_after": True,
        "alive": True,
        "final_version": final.version if final else None,
    }


async def run(repo: Path, cold: bool, limit: int | None, edits: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="empathy-lsp-bench-"))
    env = dict(os.environ)
    if cold:
        env["EMPATHY_DATABASE_URL"] = f"sqlite:///{tmp / 'cold.db'}"
    client = make_client({"debounceMs": 0, "headPollSeconds": 0})
    result: dict[str, Any] = {"repo": str(repo), "cold": cold}
    await client.start_io(sys.executable, "-m", "empathy", "lsp", env=env)
    pid = client._server.pid  # type: ignore[union-attr]
    files = source_files(repo)[: limit or None]
    start = time.perf_counter()
    await client.initialize_async(
        t.InitializeParams(
            capabilities=capabilities(),
            root_uri=from_fs_path(str(repo)),
            workspace_folders=[t.WorkspaceFolder(uri=from_fs_path(str(repo)) or "", name=repo.name)],
        )
    )
    client.initialized(t.InitializedParams())
    if cold:
        for rel in files:
            await open_doc(client, from_fs_path(str(repo / rel)) or "", (repo / rel).read_text(errors="replace"))
        while client.first_nonempty is None:
            await asyncio.sleep(0.01)
            if time.perf_counter() - start > 600:
                raise SystemExit("no diagnostics within 600 s")
        result["cold_first_diagnostics_s"] = round(client.first_nonempty - start, 2)
        result["progress_before_first"] = sum(1 for ts, _m in client.progress if ts <= client.first_nonempty)
        result["progress_messages"] = [m for _ts, m in client.progress][:12]
    await asyncio.wait_for(client.progress_ended.wait(), 900)
    result["server_log"] = [m for m in client.logs if " in " in m and " s" in m][:12]
    if cold:
        result["cold_complete_s"] = round(time.perf_counter() - start, 2)
        for rel in files:
            client.text_document_did_close(
                t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(from_fs_path(str(repo / rel)) or ""))
            )
        await asyncio.sleep(1)
    for q in client.published.values():
        while not q.empty():
            q.get_nowait()
    opens: list[float] = []
    saves: list[float] = []
    with_diags = 0
    for rel in files:
        uri = from_fs_path(str(repo / rel)) or ""
        text = (repo / rel).read_text(errors="replace")
        drain(client, uri)
        began = time.perf_counter()
        await open_doc(client, uri, text)
        got = await wait_publish(client, uri)
        opens.append(time.perf_counter() - began)
        with_diags += bool(got.diagnostics)
        began = time.perf_counter()
        client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri)))
        await wait_publish(client, uri)
        saves.append(time.perf_counter() - began)
        client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri=uri)))
        await wait_publish(client, uri)
    both = opens + saves
    result.update(
        files=len(files),
        files_with_diagnostics=with_diags,
        open_ms={
            "p50": round(pct(opens, 0.5) * 1000, 2),
            "p95": round(pct(opens, 0.95) * 1000, 2),
            "max": round(max(opens) * 1000, 2),
        },
        save_ms={
            "p50": round(pct(saves, 0.5) * 1000, 2),
            "p95": round(pct(saves, 0.95) * 1000, 2),
            "max": round(max(saves) * 1000, 2),
        },
        open_and_save_p95_ms=round(pct(both, 0.95) * 1000, 2),
        mean_ms=round(statistics.mean(both) * 1000, 2),
    )
    result["memory_after_latency_mb"] = {k: round(v, 1) for k, v in rss(pid).items()}
    if edits:
        result["robustness"] = await robustness(client, repo, edits, tmp)
    result["memory_mb"] = {k: round(v, 1) for k, v in rss(pid).items()}
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--cold", action="store_true", help="start from an empty store (ingest and mine)")
    parser.add_argument("--files", type=int, default=None, help="only the first N source files")
    parser.add_argument("--edits", type=int, default=1000, help="random edits in the robustness part (0: skip)")
    parser.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    args = parser.parse_args()
    result = asyncio.run(run(args.repo.resolve(), args.cold, args.files, args.edits))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
