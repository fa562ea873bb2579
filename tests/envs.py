"""The environment a test hands to a child process (the CLI, the language server, Neovim).

The developer's ``EMPATHY_*`` settings are left out; the two that the whole session runs
under are kept: ``EMPATHY_AS_OF`` (histories dated from 2020 replay as of their newest
commit) and ``EMPATHY_DISABLE_PLUGIN_AUTOLOAD`` (only empathy's own plugins load, so a
third-party plugin installed in the environment does not change what the tests see).
"""

from __future__ import annotations

import os

from empathy.core.host import AUTOLOAD_ENV

#: The ``EMPATHY_*`` variables the test session sets for itself (see tests/conftest.py).
SESSION_VARS = ("EMPATHY_AS_OF", AUTOLOAD_ENV)


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without the developer's ``EMPATHY_*`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPATHY_") or k in SESSION_VARS}
    env.update(extra)
    return env
