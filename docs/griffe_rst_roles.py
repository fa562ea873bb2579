"""A Griffe extension for the site: Sphinx roles in empathy's docstrings read as code.

The code's docstrings name things the reST way (``:class:`Pattern```, ``:func:`saturate```,
a literal block announced with ``::``); mkdocstrings renders Markdown, where the roles would
show as text. This turns ``:role:`name``` into ``name`` in inline code (``~`` dropped) and
a paragraph's closing ``::`` into ``:``. It changes only what the site shows, never the code.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|data|attr|mod|exc|obj|const):`~?([^`]+)`")
_LITERAL = re.compile(r"(\S)::$", flags=re.MULTILINE)


def plain(text: str) -> str:
    """The docstring with its roles as inline code and ``::`` literal-block markers as ``:``."""
    return _LITERAL.sub(r"\1:", _ROLE.sub(r"`\1`", text))


class RstRoles(Extension):
    """Rewrite each object's docstring once, when Griffe loads it."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
