"""``empathy: ignore[<code>]`` comments: a developer's "not here" that every surface honours.

A finding is silenced by a comment naming its code (or ``*``):

* at the end of a code line, for findings that start on that line;
* on a line of its own, for findings that start on the next line;
* on a line of its own in the file's header (before the first line that is
  neither blank nor a comment), for findings about the whole file.

The comment marker may be ``#``, ``//``, ``/*``, ``--`` or ``;`` so the same rule
works in Python, JavaScript, Go, Rust, C, SQL or Lisp files.  The check is a
text scan, not a parse: it costs one regular-expression pass over files that
contain ``empathy:`` at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from empathy.core.model import Finding

__all__ = ["IgnoreMap", "comment_marker", "ignore_comment", "parse_ignores", "read_worktree", "split_ignored"]

_COMMENT = re.compile(r"(#|//|/\*|--|;)\s*empathy:\s*ignore\[([^\]\n]*)\]")
_COMMENT_ONLY = re.compile(r"^\s*(#|//|/\*|\*|--|;)")

#: Files larger than this are not scanned (a generated or vendored file has no hand-written comments).
MAX_SCAN_BYTES = 2_000_000


@dataclass
class IgnoreMap:
    """The codes silenced per 1-based line, and for the whole file."""

    lines: dict[int, set[str]] = field(default_factory=dict)
    file: set[str] = field(default_factory=set)

    def silences(self, finding: Finding) -> bool:
        start = finding.location.start_line
        codes = self.file if start is None else self.lines.get(start, set())
        return finding.code in codes or "*" in codes


def _codes(raw: str) -> set[str]:
    return {c.strip() for c in raw.split(",") if c.strip()}


def parse_ignores(text: str) -> IgnoreMap:
    """Every ignore comment of ``text`` and the lines (or the file) it covers."""
    result = IgnoreMap()
    if "empathy:" not in text:
        return result
    in_header = True
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        own_line = bool(_COMMENT_ONLY.match(line))
        match = _COMMENT.search(line)
        if match is not None:
            codes = _codes(match.group(2))
            if own_line:
                result.lines.setdefault(number + 1, set()).update(codes)
                if in_header:
                    result.file.update(codes)
            else:
                result.lines.setdefault(number, set()).update(codes)
        if stripped and not own_line:
            in_header = False
    return result


def comment_marker(path: str) -> str:
    """The line-comment marker for a file, by its suffix (``#`` when unknown)."""
    suffix = Path(path).suffix.lower()
    if suffix in {".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".hpp", ".cs", ".kt"}:
        return "//"
    if suffix in {".sql", ".lua", ".hs"}:
        return "--"
    if suffix in {".el", ".lisp", ".clj"}:
        return ";"
    return "#"


def ignore_comment(path: str, code: str) -> str:
    """The comment text that silences ``code`` in ``path``."""
    return f"{comment_marker(path)} empathy: ignore[{code}]"


def split_ignored(
    findings: Iterable[Finding], read: Callable[[str], str | None]
) -> tuple[list[Finding], list[Finding]]:
    """(kept, ignored): ``read(path)`` gives a file's text, or None when it cannot be read."""
    maps: dict[str, IgnoreMap] = {}
    kept: list[Finding] = []
    ignored: list[Finding] = []
    for finding in findings:
        path = finding.location.path
        if path not in maps:
            text = read(path)
            maps[path] = parse_ignores(text) if text else IgnoreMap()
        (ignored if maps[path].silences(finding) else kept).append(finding)
    return kept, ignored


def read_worktree(root: Path) -> Callable[[str], str | None]:
    """A reader of files in the work tree (None for missing, binary or very large files)."""

    def read(path: str) -> str | None:
        target = root / path
        try:
            if target.stat().st_size > MAX_SCAN_BYTES:
                return None
            data = target.read_bytes()
        except OSError:
            return None
        if b"empathy:" not in data or b"\0" in data[:8000]:
            return None
        return data.decode("utf-8", errors="replace")

    return read
