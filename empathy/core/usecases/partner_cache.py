"""The partner index kept between processes: fed once, then only the new commits.

Why: building the co-change index replays the last years of commits to learn and to keep
its track record (15-20 s on pytest's 17,666 commits). The CLI, the pre-commit hooks and
the gate start a new process each time, so without a cache every ``git commit`` paid that.
The index fed up to commit N is kept in ``<git dir>/empathy/partners.pickle``; the next
process restores it and feeds the commits after N, which gives exactly the index a fresh
build would (the feed is sequential and deterministic, and the learning window starts on a
90-day grid, so it does not move with each new commit).

The cache is used only when it describes a prefix of the same history: the same commits
in the same order with the same bulk labels, the same index settings and the same code of
the index (empathy's version and a hash of empathy.core.cochange); anything else rebuilds
it. A pickle is code: it is read only from the repository's own git directory, where
whoever can write can already install git hooks.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from empathy import __version__
from empathy.core.cochange import CochangeIndex, Settings
from empathy.core.cochange.gitfeed import Commit

__all__ = ["CACHE_NAME", "load_fed_index", "save_fed_index"]

log = logging.getLogger("empathy.partners")

CACHE_NAME = "partners.pickle"
#: bump when the pickled state changes meaning
FORMAT = 1


@dataclass
class _Entry:
    format: int
    #: empathy's version and the index code's fingerprint
    version: str
    settings: str
    learn_since: float
    fed: int
    digest: str
    index: CochangeIndex


@functools.cache
def code_fingerprint() -> str:
    """The index's own code (empathy.core.cochange, read as bytes): a changed class never loads an old pickle.

    The version number alone is not enough: a checkout installed with ``pip install -e`` keeps
    its version while its code moves on.
    """
    import empathy.core.cochange as package

    h = hashlib.sha256(__version__.encode())
    for source in sorted(Path(package.__file__).parent.glob("*.py")):
        h.update(source.name.encode() + b"\0" + source.read_bytes())
    return h.hexdigest()


def _digest(commits: Sequence[Commit], bulk: Mapping[str, bool], fed: int) -> str:
    """The identity of the first ``fed`` commits as the index saw them (order, sha, bulk label)."""
    h = hashlib.sha256()
    for c in commits[:fed]:
        h.update(f"{c.sha}:{int(bool(bulk.get(c.sha)))}\n".encode())
    return h.hexdigest()


def cache_path(git_dir: Path) -> Path:
    return git_dir / "empathy" / CACHE_NAME


def load_fed_index(
    git_dir: Path, commits: Sequence[Commit], bulk: Mapping[str, bool], settings: Settings, learn_since: float
) -> tuple[CochangeIndex, int] | None:
    """The cached index and how many of ``commits`` it has been fed, when it fits this history; else None."""
    path = cache_path(git_dir)
    try:
        with path.open("rb") as fh:
            entry = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign cache is rebuilt, never trusted
        log.info("partner index cache %s unreadable (%s); rebuilding", path, exc)
        return None
    if not isinstance(entry, _Entry) or (entry.format, entry.version, entry.settings) != (
        FORMAT,
        code_fingerprint(),
        repr(settings),
    ):
        return None
    if entry.learn_since != learn_since or entry.fed > len(commits):
        return None
    if _digest(commits, bulk, entry.fed) != entry.digest:
        return None  # history rewritten, or a bulk label changed: the fed prefix is not this history's
    return entry.index, entry.fed


def save_fed_index(
    git_dir: Path,
    index: CochangeIndex,
    commits: Sequence[Commit],
    bulk: Mapping[str, bool],
    fed: int,
    settings: Settings,
    learn_since: float,
) -> None:
    """Keep ``index`` (fed ``fed`` commits) for the next process; atomic, and silent when it cannot be written."""
    path = cache_path(git_dir)
    entry = _Entry(FORMAT, code_fingerprint(), repr(settings), learn_since, fed, _digest(commits, bulk, fed), index)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".partners-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.info("partner index cache not written to %s: %s", path, exc)
