"""The HTML surface of ``empathy report``: draws :class:`empathy.core.report.ReportData`, computes nothing.

Needs the ``report`` extra (matplotlib, squarify, networkx); without it
:func:`write_html` raises a one-line error naming ``pip install "empathy[report]"``.
See docs/report.md for what each figure shows and the offline guarantee.
"""

from __future__ import annotations

import os
from pathlib import Path

from empathy.core.errors import ConfigError
from empathy.core.report.data import ReportData
from empathy.report.svg import EXTRA_HINT, require_extra

__all__ = ["EXTRA_HINT", "render_html", "require_extra", "write_html"]


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML document."""
    require_extra()
    from empathy.report.page import render_page

    return render_page(data)


def write_html(data: ReportData, path: str | os.PathLike[str]) -> int:
    """Write the report to ``path`` (its directory is created); returns the size in bytes."""
    text = render_html(data)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the report to {target}: {exc.strerror or exc}", "choose another --html path"
        ) from None
    return len(text.encode("utf-8"))
