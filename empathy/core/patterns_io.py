"""Pattern library files: ``empathy patterns export`` / ``import``.

The format is versioned JSON; a file that is not JSON, not ours, or holds a
malformed pattern is refused whole with a message naming what is wrong, so an
import never half-applies.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from empathy.core.errors import PatternFileError
from empathy.core.model import Pattern

__all__ = ["FORMAT", "VERSION", "dump_patterns", "load_patterns"]

FORMAT = "empathy-patterns"
VERSION = 1


def dump_patterns(repository: str, patterns: list[Pattern], exported_at: float) -> str:
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "repository": repository,
        "exported_at": int(exported_at),
        "patterns": [p.to_dict() for p in sorted(patterns, key=lambda p: p.key)],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def exported_from(path: Path) -> str | None:
    """The repository key an export names (call after :func:`load_patterns` accepted the file)."""
    data = json.loads(path.read_bytes().decode("utf-8"))
    value = data.get("repository") if isinstance(data, dict) else None
    return str(value) if value else None


def load_patterns(path: Path) -> list[Pattern]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PatternFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PatternFileError(f"{path} is not a JSON pattern file: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PatternFileError(
            f'{path} is not an empathy pattern export (no "format": "{FORMAT}")',
            "export patterns with `empathy patterns export FILE`",
        )
    if data.get("version") != VERSION:
        raise PatternFileError(
            f"{path} has pattern format version {data.get('version')!r}; this empathy reads {VERSION}"
        )
    items = data.get("patterns")
    if not isinstance(items, list):
        raise PatternFileError(f'{path}: "patterns" must be a list')
    patterns = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("subjects"), list):
                raise TypeError("not a pattern object")
            pattern = Pattern.from_dict(item)
            for name in ("score", "confidence"):
                value = getattr(pattern, name)
                if not isinstance(value, int | float) or not math.isfinite(value):
                    raise ValueError(f"{name} {value!r} is not a finite number")
            patterns.append(pattern)
        except (KeyError, TypeError, ValueError) as exc:
            raise PatternFileError(f"{path}: pattern #{i} is malformed ({exc})") from None
    return patterns
