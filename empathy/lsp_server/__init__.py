"""The language server: findings as diagnostics, hovers and code actions (pygls 2.x).

``empathy lsp`` starts it over stdio (or ``--tcp HOST:PORT``); docs/editors.md
shows how to attach Neovim, VS Code, Helix and Emacs.  Plugins never see
LSP types: :mod:`empathy.lsp_server.convert` is the only place findings
become diagnostics.
"""

from empathy.lsp_server.features import create_server
from empathy.lsp_server.server import EmpathyServer

__all__ = ["EmpathyServer", "create_server"]
