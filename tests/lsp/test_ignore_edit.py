"""Where "ignore here" puts its comment: below a shebang, an encoding line and a licence header; never twice."""

from __future__ import annotations

from pygls.workspace import TextDocument

from empathy.core.ignore import parse_ignores
from empathy.lsp_server.actions import ignore_edit

LICENSED = """#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright 2026 The Authors.
# SPDX-License-Identifier: MIT
\"\"\"The module.\"\"\"

import os
"""


def _apply(text: str, doc: TextDocument, code: str) -> str:
    edit = ignore_edit(doc, code, "mod.py", None)
    lines = text.splitlines(keepends=True)
    start, end = edit.range.start, edit.range.end
    before = "".join(lines[: start.line]) + lines[start.line][: start.character] if start.line < len(lines) else text
    after = lines[end.line][end.character :] + "".join(lines[end.line + 1 :]) if end.line < len(lines) else ""
    return before + edit.new_text + after


def test_a_file_level_comment_goes_below_the_licence_header_and_stays_file_level() -> None:
    doc = TextDocument("file:///mod.py", LICENSED)
    once = _apply(LICENSED, doc, "hotspot")
    lines = once.splitlines()
    assert lines[:4] == LICENSED.splitlines()[:4]  # shebang, encoding, copyright, licence untouched and first
    assert lines[4] == "# empathy: ignore[hotspot]"
    assert parse_ignores(once).file == {"hotspot"}  # still in the header: it covers the whole file


def test_a_second_code_extends_the_same_comment_and_a_repeat_changes_nothing() -> None:
    once = _apply(LICENSED, TextDocument("file:///mod.py", LICENSED), "hotspot")
    twice = _apply(once, TextDocument("file:///mod.py", once), "fix-prone")
    assert twice.count("empathy: ignore") == 1 and "# empathy: ignore[hotspot, fix-prone]" in twice
    again = _apply(twice, TextDocument("file:///mod.py", twice), "fix-prone")
    assert again == twice
    assert parse_ignores(twice).file == {"hotspot", "fix-prone"}
