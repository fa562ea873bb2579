"""empathy: learn from a repository's history what usually goes wrong there."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
