"""A simple, general guess at whether a commit is a bulk sweep (kept out of co-change).

Why: a formatter run, a linter rule enabled across the code base, a
``pre-commit autoupdate`` or a copyright-year bump touch files that have no
reason to change together, and they would teach the index couplings that do
not exist.  The project's commit classifier will supply the real label (the
``bulk`` argument of :meth:`CochangeIndex.add`); this heuristic is the
stand-in until then: a sweep-like subject on a commit of several files, or
very many files each changed by a line or two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SWEEP_SUBJECT", "looks_like_bulk"]

#: Subjects of mechanical, repository-wide changes, in the wording tools and bots use.
SWEEP_SUBJECT = re.compile(
    r"pre-commit|autoupdate|\bruff\b|pyupgrade|reformat|\bblack\b|\bisort\b|flake8|codespell|\btypos?\b"
    r"|whitespace|trailing space|copyright|license header|\blint(ing)?\b|\bformat(ting)?\b",
    re.IGNORECASE,
)


def looks_like_bulk(subject: str, n_files: int, churn: Sequence[int] | None = None) -> bool:
    """True for a sweep-like subject on 3+ files, or 50+ files that each changed by 4 lines or fewer.

    ``churn`` is the lines added plus deleted per file, when known.
    """
    if n_files >= 3 and SWEEP_SUBJECT.search(subject):
        return True
    return bool(churn) and n_files >= 50 and churn is not None and max(churn) <= 4
