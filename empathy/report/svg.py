"""matplotlib set up for static SVG that can be inlined, several to a page, with nothing to fetch.

* the Agg backend (no display, no GUI toolkit);
* ``svg.fonttype = "none"``: text stays ``<text>`` with a generic font
  fallback, so no font file is embedded or fetched and screen readers and
  search can read the labels;
* the XML prolog, the DOCTYPE (which names a DTD URL) and the RDF metadata
  are dropped (so are the namespace URLs, which inline SVG does not
  need), and every ``id`` is prefixed with the figure's name, so two
  figures on one page never share a clip path or a marker.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from empathy.core.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EXTRA_HINT", "new_figure", "require_extra", "svg_of"]

EXTRA_HINT = 'pip install "empathy[report]"'
_MODULES = ("matplotlib", "squarify", "networkx")


def require_extra() -> None:
    """Raise ConfigError (exit 4) naming the extra when a plotting library is missing."""
    import importlib.util

    missing = [name for name in _MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the HTML report needs {', '.join(missing)}, from the `report` extra, which is not installed",
            EXTRA_HINT,
        )


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "empathy-report",  # deterministic ids (prefixed per figure below)
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
        }
    )
    return plt


def new_figure(width: float, height: float, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes (``plt.subplots`` arguments), in inches."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width, height), **kwargs)
    return fig, ax


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def svg_of(fig: Figure, name: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element: ids prefixed with ``name``, ``role="img"`` with ``label``.

    The figure is closed afterwards (pyplot keeps every open figure).
    """
    plt = _pyplot()
    buffer = io.StringIO()
    try:
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    # inline SVG in HTML needs no namespace declarations, and SVG 2's plain ``href`` replaces ``xlink:href``:
    # the page then names no URL at all
    text = re.sub(r'\s+xmlns(?::xlink)?="[^"]*"', "", text)
    text = text.replace("xlink:href=", "href=")
    text = _ID.sub(lambda m: f'id="{name}-{m.group(1)}"', text)
    text = _REF.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)
    from html import escape

    return text.replace("<svg ", f'<svg role="img" aria-label="{escape(label, quote=True)}" ', 1).strip()
