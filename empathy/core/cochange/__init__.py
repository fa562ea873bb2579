"""Co-change prediction: "you changed these files; you probably also need to change X".

A pure, incremental module (no store, no git, nothing else from empathy):
:class:`CochangeIndex` is fed commits in time order and answers queries from
what it was fed, with a probability, a calibrated warning flag and the
evidence in plain words.  :mod:`.naming` holds the naming-convention links
(module and test, package ``__init__.py``, docs page), :mod:`.bulk` a simple
sweep detector for callers that have no commit classifier.
"""

from __future__ import annotations

from empathy.core.cochange._features import FEATURES
from empathy.core.cochange._settings import Settings
from empathy.core.cochange.bulk import looks_like_bulk
from empathy.core.cochange.index import CochangeIndex, Suggestion, TrackRecord, hidden_file

__all__ = [
    "FEATURES",
    "CochangeIndex",
    "Settings",
    "Suggestion",
    "TrackRecord",
    "hidden_file",
    "looks_like_bulk",
]
