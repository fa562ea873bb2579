"""The language server (pygls): not built yet.

Planned in issue #5: diagnostics, hovers and code actions from findings.
Nothing in this package is functional today; `empathy lsp` does not exist yet.
"""
