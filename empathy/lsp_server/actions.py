"""Level 2 in the editor: code actions that teach empathy and act on a warning.

* "useful" / "not useful": recorded in the trust ledger; the rule's threshold
  moves, so fewer (or more) warnings of that kind surface from then on.
* "open the coupled file" for a missing partner.
* "ignore this rule here": an ``empathy: ignore[<code>]`` comment that every
  surface honours (:mod:`empathy.core.ignore`); a setting hides it.
* whatever the ``code_actions`` plugins offer, when it is an edit or one of
  these commands.
"""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types as t
from pygls.workspace import TextDocument

from empathy.core.ignore import comment_marker, ignore_comment
from empathy.core.model import CodeAction

__all__ = ["COMMAND_FEEDBACK", "COMMAND_OPEN", "diagnostic_actions", "ignore_edit", "plugin_action"]

COMMAND_FEEDBACK = "empathy.feedback"
COMMAND_OPEN = "empathy.openFile"

_EXISTING = re.compile(r"empathy:\s*ignore\[([^\]\n]*)\]")
_HEADER_SKIP = re.compile(r"^(#!|#.*coding[:=])")


def ignore_edit(doc: TextDocument, code: str, path: str, line: int | None) -> t.TextEdit:
    """The edit that silences ``code``: extend an existing comment, else add one.

    A finding on a line gets a trailing comment on that line; a finding about
    the whole file gets a comment line at the top (below a shebang or an
    encoding line, which must stay first).
    """
    lines = doc.lines
    if line is not None and 1 <= line <= len(lines):
        index = line - 1
        text = lines[index].rstrip("\r\n")
        existing = _EXISTING.search(text)
        if existing is not None:
            codes = [c.strip() for c in existing.group(1).split(",") if c.strip()]
            new = text[: existing.start(1)] + ", ".join([*codes, code]) + text[existing.end(1) :]
        else:
            new = f"{text}  {ignore_comment(path, code)}"
        rng = doc.range_to_client_units(_server_range(index, 0, index, len(text)))
        return t.TextEdit(range=rng, new_text=new)
    marker = comment_marker(path)
    # An ignore comment already in the header (before any code): extend it, never add a second line.
    for index, raw in enumerate(lines):
        text = raw.rstrip("\r\n")
        stripped = text.strip()
        if stripped and not stripped.startswith(marker):
            break  # the first line of code: the header ends here
        existing = _EXISTING.search(text)
        if existing is not None and stripped.startswith(marker):
            codes = [c.strip() for c in existing.group(1).split(",") if c.strip()]
            if code not in codes:
                text = text[: existing.start(1)] + ", ".join([*codes, code]) + text[existing.end(1) :]
            rng = doc.range_to_client_units(_server_range(index, 0, index, len(raw.rstrip("\r\n"))))
            return t.TextEdit(range=rng, new_text=text)
    # Below a shebang or an encoding line (which must stay first) and below a licence or copyright
    # header (the leading block of comment lines), still before the first line of code.
    index = 0
    while index < min(len(lines), 2) and _HEADER_SKIP.match(lines[index]):
        index += 1
    while index < len(lines) and lines[index].strip().startswith(marker):
        index += 1
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    return t.TextEdit(
        range=t.Range(start=t.Position(line=index, character=0), end=t.Position(line=index, character=0)),
        new_text=ignore_comment(path, code) + newline,
    )


def _server_range(l1: int, c1: int, l2: int, c2: int) -> Any:
    from pygls.workspace import ServerTextPosition, ServerTextRange

    return ServerTextRange(ServerTextPosition(l1, c1), ServerTextPosition(l2, c2))


def diagnostic_actions(doc: TextDocument, diag: t.Diagnostic, show_ignore: bool) -> list[t.CodeAction]:
    """The built-in actions for one of our diagnostics (its ``data`` says which finding)."""
    data = diag.data if isinstance(diag.data, dict) else {}
    root, code, path = data.get("root"), data.get("code"), data.get("path")
    if not (isinstance(root, str) and isinstance(code, str) and isinstance(path, str)):
        return []
    fingerprint = str(data.get("fingerprint", ""))
    actions: list[t.CodeAction] = []
    other = data.get("other")
    if isinstance(other, str):
        actions.append(
            t.CodeAction(
                title=f"Open {other} (it usually changes with this file)",
                kind=t.CodeActionKind.QuickFix,
                diagnostics=[diag],
                command=t.Command(title=f"Open {other}", command=COMMAND_OPEN, arguments=[root, other]),
            )
        )
    for useful, title in ((True, f"empathy: `{code}` was useful here"), (False, f"empathy: `{code}` is not useful")):
        actions.append(
            t.CodeAction(
                title=title,
                kind=t.CodeActionKind.QuickFix,
                diagnostics=[diag],
                command=t.Command(title=title, command=COMMAND_FEEDBACK, arguments=[root, code, useful, fingerprint]),
            )
        )
    if show_ignore:
        line = data.get("line")
        edit = ignore_edit(doc, code, path, line if isinstance(line, int) else None)
        actions.append(
            t.CodeAction(
                title=f"Ignore `{code}` here (add an empathy: ignore comment)",
                kind=t.CodeActionKind.QuickFix,
                diagnostics=[diag],
                edit=t.WorkspaceEdit(changes={doc.uri: [edit]}),
            )
        )
    return actions


def plugin_action(doc: TextDocument, root: str, action: CodeAction, diag: t.Diagnostic) -> t.CodeAction | None:
    """A plugin's editor-neutral action as an LSP one; None when it is neither an edit nor a known command."""
    from pathlib import Path

    from pygls.uris import from_fs_path

    edits: dict[str, list[t.TextEdit]] = {}
    for rel, replacements in action.edits.items():
        uri = from_fs_path(str(Path(root) / rel)) or doc.uri
        edits[uri] = [
            t.TextEdit(
                range=t.Range(
                    start=t.Position(line=max(start - 1, 0), character=0),
                    end=t.Position(line=max(end, 0), character=0),
                ),
                new_text=text,
            )
            for start, end, text in replacements
        ]
    command: t.Command | None = None
    args = action.arguments
    if action.command in ("feedback.useful", "feedback.not_useful"):
        command = t.Command(
            title=action.title,
            command=COMMAND_FEEDBACK,
            arguments=[root, str(args.get("rule", "")), action.command == "feedback.useful", action.finding],
        )
    elif action.command == "open" and isinstance(args.get("path"), str):
        command = t.Command(title=action.title, command=COMMAND_OPEN, arguments=[root, args["path"]])
    if not edits and command is None:
        return None
    return t.CodeAction(
        title=action.title,
        kind=t.CodeActionKind.QuickFix,
        diagnostics=[diag],
        edit=t.WorkspaceEdit(changes=edits) if edits else None,
        command=command,
    )
