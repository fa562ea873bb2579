"""Bulk sweeps: the same small edit across many files, with no behavioural intent.

Why they matter: a formatter run, a typo sweep or an annotation pass touches
dozens of files at once and says nothing about how those files change
together or who knows them; counted as ordinary commits they invent coupling,
ownership and churn.  A sweep is recognised from what the subject says it is
(a formatter, a linter autofix, typos, annotations, a rename) together with
its shape: at least five files, each changed by a few lines.  The shape alone
decides only when the edit is tiny and balanced in every one of many files,
which is what a tool leaves behind and a behaviour change almost never does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from empathy.core.labels._facts import CommitFacts
from empathy.core.labels._paths import Role
from empathy.core.labels._text import Subject

__all__ = ["MIN_FILES", "sweep_reason"]

#: The protocol's floor: a sweep touches at least this many files.
MIN_FILES: Final = 5
#: Median changed lines per file of a sweep the subject announces.
_ANNOUNCED_MEDIAN: Final = 12
#: Files and per-file ceiling for a sweep recognised from its shape alone.
_SHAPE_FILES: Final = 12
_SHAPE_MAX: Final = 4
#: Lines per file a formatter run that comes with a hook update may change.
_HOOK_EDIT: Final = 4

_SWEEP = re.compile(
    r"\b(?:typos?|spelling|codespell|reformat\w*|format(?:ted|ting)? (?:with|using|by)|"
    r"(?:apply|run|ran|applied)(?:ing)? (?:\w+ ){0,2}(?:black|isort|ruff|pyupgrade|autopep8|autoflake|flynt|"
    r"formatter|linters?|fixers?|pre-commit|codemod|2to3)|black|isort|pyupgrade|autopep8|autoflake|flynt|"
    r"auto[- ]?fix(?:es)?|pre-commit autoupdate|moderni[sz]\w*|upgrade syntax|f-strings?|"
    r"type (?:hints|annotations?)|annotations?|(?:licen[cs]e|copyright|file|source|module) headers?|copyright|"
    r"whitespace|trailing|"
    r"sort(?:ed)? imports|unused imports|imports? (?:sorting|order)|(?:mass|bulk)[- ]rename|"
    r"(?:^(?:remove|drop|delete|clean)\S* (?:\w+ )?(?:redundant|unnecessary|unused|obsolete|useless) \w+)|"
    r"lint(?:ing|er)? (?:fixes|errors|warnings|issues)|"
    r"flake8|pylint|pyflakes|pep ?8|code ?style|coding style|noqa|type: ?ignore|__future__|"
    r"(?:for )?translation|i18n|l10n|gettext)\b",
    re.IGNORECASE,
)
# "the X methods", "all the Y calls": a plural construct named by a removal/replacement verb.
_PLURAL_EDIT = re.compile(
    r"^(?:remove|drop|delete|replace|rename|use|convert|move)\S* (?:all |the |redundant |unnecessary |unused )*"
    r"`?[\w.]+`? (?:methods|functions|calls|imports|decorators|attributes|arguments|parameters|aliases|"
    r"usages?|occurrences|statements|comprehensions)\b",
    re.IGNORECASE,
)


def _churns(c: CommitFacts, roles: Sequence[Role]) -> list[int]:
    return [f.churn for f, r in zip(c.files, roles, strict=True) if r in ("source", "tests", "docs", "tooling")]


def _hook_update(c: CommitFacts, roles: Sequence[Role]) -> str | None:
    """Updated pre-commit hooks plus the tiny edits they made elsewhere (the hand-run "autoupdate")."""
    if len(c.files) < MIN_FILES or not any(f.path.endswith(".pre-commit-config.yaml") for f in c.files):
        return None
    rest = [f.churn for f, r in zip(c.files, roles, strict=True) if r not in ("ci", "deps", "build")]
    if len(rest) >= 2 and max(rest) <= _HOOK_EDIT:
        return f"updates the pre-commit hooks and edits {len(rest)} other files by at most {max(rest)} lines"
    return None


def sweep_reason(c: CommitFacts, s: Subject, roles: Sequence[Role]) -> str | None:
    """Why this commit is a bulk sweep, or None."""
    hooks = _hook_update(c, roles)
    if hooks is not None:
        return hooks
    churns = _churns(c, roles)
    n = len(churns)
    if n < MIN_FILES:
        return None
    ordered = sorted(churns)
    median = ordered[n // 2]
    if (_SWEEP.search(s.text) or _PLURAL_EDIT.match(s.text)) and median <= _ANNOUNCED_MEDIAN:
        return f"subject announces a sweep and {n} files change by {median} lines (median)"
    if s.verb_kind == "style" and median <= _ANNOUNCED_MEDIAN:
        return f"a style/typing pass over {n} files, {median} lines each (median)"
    if n >= _SHAPE_FILES and ordered[-1] <= _SHAPE_MAX:
        balanced = all(
            f.added is not None and f.deleted is not None and abs(f.added - f.deleted) <= 1
            for f, r in zip(c.files, roles, strict=True)
            if r in ("source", "tests", "docs", "tooling")
        )
        if balanced:
            return f"the same tiny edit (at most {_SHAPE_MAX} lines, as many added as removed) in {n} files"
    return None
