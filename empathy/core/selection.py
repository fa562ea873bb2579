"""Which finding codes are reported where: ``select``, ``ignore`` and ``per_file_ignores``.

The same three settings as ruff's, read the same way, so a team that silences a rule for
its tests or scripts writes it as it would for its linter. They apply wherever findings are
collected (CLI, editor, gate, agents); comments (``empathy: ignore[code]``) silence one
place, these silence a code for the repository or for a set of files.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CodeSelection"]


@dataclass(frozen=True)
class CodeSelection:
    """The settings' choice of finding codes, ready to ask about one finding."""

    #: None: every code; otherwise only these
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    #: (glob, codes) in the order written
    per_file: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | Any) -> CodeSelection:
        select = settings.get("select")
        table = settings.get("per_file_ignores") or {}
        return cls(
            select=None if select is None else frozenset(select),
            ignore=frozenset(settings.get("ignore") or ()),
            per_file=tuple((glob, frozenset(codes)) for glob, codes in table.items()),
        )

    @property
    def everything(self) -> bool:
        """Nothing is left out (the default): no need to look at each finding."""
        return self.select is None and not self.ignore and not self.per_file

    def allows(self, code: str, path: str) -> bool:
        """Whether a finding with ``code`` on ``path`` (repository-relative, '/'-separated) is reported."""
        if self.select is not None and code not in self.select:
            return False
        if code in self.ignore:
            return False
        name = path.rsplit("/", 1)[-1]
        for glob, codes in self.per_file:
            if code in codes and (
                fnmatch.fnmatchcase(path, glob) or ("/" not in glob and fnmatch.fnmatchcase(name, glob))
            ):
                return False
        return True

    def unknown_codes(self, known: Iterable[str]) -> list[str]:
        """One sentence per code these settings name that no plugin gives, with the nearest known code.

        A misspelt code in ``ignore`` silences nothing, and in ``select`` it silences everything:
        both must be said, not found out later.
        """
        valid = sorted(set(known))
        named: list[tuple[str, str]] = [(c, "select") for c in sorted(self.select or ())]
        named += [(c, "ignore") for c in sorted(self.ignore)]
        named += [(c, f"per_file_ignores[{glob!r}]") for glob, codes in self.per_file for c in sorted(codes)]
        out: list[str] = []
        for code, where in named:
            if code in valid:
                continue
            near = difflib.get_close_matches(code, valid, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known codes: {', '.join(valid)})"
            out.append(f"{where}: no plugin reports the finding code {code!r}{hint}")
        return out
