"""Findings to LSP diagnostics: the only place where empathy's plain objects become protocol types.

Lines in a :class:`~empathy.core.model.Location` are 1-based and inclusive,
columns code points; LSP wants 0-based lines and (by default) UTF-16 columns,
so every range goes through the document's position codec.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as t
from pygls.workspace import ServerTextPosition, ServerTextRange, TextDocument

from empathy.core.model import Finding, Severity

__all__ = ["SEVERITY", "diagnostic", "finding_range"]

SEVERITY: dict[Severity, t.DiagnosticSeverity] = {
    Severity.ERROR: t.DiagnosticSeverity.Error,
    Severity.WARNING: t.DiagnosticSeverity.Warning,
    Severity.INFO: t.DiagnosticSeverity.Information,
}


def _line(lines: list[str], index: int) -> str:
    return lines[index].rstrip("\r\n") if 0 <= index < len(lines) else ""


def finding_range(doc: TextDocument, lines: list[str], finding: Finding) -> t.Range:
    """The finding's lines in the document, in the client's units.

    A file-level finding covers the first line (an editor shows it at the
    top); a function-level one spans its lines, from the first character of
    the first line to the end of the last, clamped to the buffer as it is now.
    """
    last = max(len(lines) - 1, 0)
    start = finding.location.start_line
    if start is None:
        first = _line(lines, 0)
        return doc.range_to_client_units(ServerTextRange(ServerTextPosition(0, 0), ServerTextPosition(0, len(first))))
    begin = min(max(start - 1, 0), last)
    end_line = finding.location.end_line or start
    end = min(max(end_line - 1, begin), last)
    text = _line(lines, begin)
    indent = len(text) - len(text.lstrip())
    return doc.range_to_client_units(
        ServerTextRange(ServerTextPosition(begin, indent), ServerTextPosition(end, len(_line(lines, end))))
    )


def diagnostic(doc: TextDocument, lines: list[str], finding: Finding, root: str) -> t.Diagnostic:
    """One diagnostic: the code, the plugin as source, the reason and action, and data for code actions."""
    message = finding.reason
    if finding.probability is not None:
        message += f" (p={finding.probability:.2f} within {finding.horizon_days} days)"
    message += f"\n→ {finding.action}"
    data: dict[str, Any] = {
        "root": root,
        "path": finding.location.path,
        "code": finding.code,
        "fingerprint": finding.fingerprint,
        "level": int(finding.level),
        "line": finding.location.start_line,
    }
    partner = finding.evidence.get("partner")
    changed = finding.evidence.get("changed")
    if isinstance(partner, str) and partner != finding.location.path:
        data["other"] = partner  # on a changed file: open the untouched partner
    elif isinstance(changed, list) and changed and isinstance(changed[0], str):
        data["other"] = changed[0]  # on the partner: open the changed file it goes with
    return t.Diagnostic(
        range=finding_range(doc, lines, finding),
        message=message,
        severity=SEVERITY[finding.severity],
        code=finding.code,
        source=finding.source,
        data=data,
    )
