"""``empathy lsp``: the language server for editors (stdio by default, or TCP)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from empathy.core.errors import ConfigError

__all__ = ["lsp"]


def _parse_tcp(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--tcp {value!r} should be HOST:PORT", "e.g. `empathy lsp --tcp 127.0.0.1:2087`")
    return host, int(port)


def lsp(
    tcp: Annotated[
        str | None,
        typer.Option("--tcp", metavar="HOST:PORT", help="Listen on a TCP port instead of stdin/stdout."),
    ] = None,
    log_file: Annotated[
        str | None, typer.Option("--log-file", help="Write the server's own debug log to this file.")
    ] = None,
) -> None:
    """Start the language server: editors show empathy's findings as diagnostics, hovers and code actions.

    Editors start it over stdio (docs/editors.md); the effective settings are logged to the editor at start.
    """
    address = _parse_tcp(tcp) if tcp is not None else None
    if log_file:
        logging.basicConfig(filename=log_file, level=logging.DEBUG)
    else:
        logging.basicConfig(level=logging.WARNING)  # stderr; stdout belongs to the protocol
    from empathy.lsp_server import create_server

    server = create_server()
    try:
        if address is None:
            server.start_io()
        else:
            server.start_tcp(*address)
    finally:
        # A worker thread may be halfway through an ingest or a miner; the store keeps every
        # completed batch, so leave now instead of letting the interpreter join the thread.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass  # the protocol already closed it
        os._exit(0)
