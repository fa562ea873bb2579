"""Commit labels: each commit's kind, whether it is a bug fix or a bulk sweep, and why.

Pure and fast: the input is what the store keeps for every commit
(:class:`CommitFacts`), the repository's conventions are learned from the
same history (:func:`learn_conventions`), and one pass labels a whole history
(:func:`classify_all`) or only the commits added since (:class:`Classifier`).
Nothing here reads git or the store; callers build the facts.
"""

from empathy.core.labels._classify import CORRECTED, Classifier, Correction, Kind, Label, classify_all
from empathy.core.labels._conventions import Conventions, FragmentDir, fragment_type, is_bot, learn_conventions
from empathy.core.labels._facts import CommitFacts, FileChange

__all__ = [
    "CORRECTED",
    "Classifier",
    "CommitFacts",
    "Conventions",
    "Correction",
    "FileChange",
    "FragmentDir",
    "Kind",
    "Label",
    "classify_all",
    "fragment_type",
    "is_bot",
    "learn_conventions",
]
