"""Which release first shipped each commit, and whether that was a patch release.

Why: under semantic versioning a patch release (``8.1.4``, not ``8.2.0`` or
``8.2.0rc1``) carries bug fixes only, and projects that keep a maintenance
branch land their fixes there.  So a commit whose wording says nothing either
way ("remove msys2 detection", "Always close the file descriptor") is more
likely a fix when the first release containing it is a patch release.  This
is weak evidence, used only where the message is silent, and only when the
caller passes release tags (the store keeps none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from empathy.core.labels._facts import CommitFacts

__all__ = ["first_releases", "is_patch_version", "is_version"]

_VERSION = re.compile(r"^(?:[A-Za-z_-]*?)v?(\d+)\.(\d+)(?:\.(\d+))?(?P<pre>[-.+]?(?:a|b|rc|alpha|beta|dev|pre|c)\S*)?$")


def is_version(tag: str) -> bool:
    """A tag that names a version (``v2.7.1``, ``5.3.0rc1``, ``release-1.2``)."""
    return _VERSION.match(tag) is not None


def is_patch_version(tag: str) -> bool:
    """``8.1.4``/``v2.7.1`` are patch releases; ``8.2.0``, ``2.11``, ``5.3.0rc1``, ``5.3.1b2``, ``0.6.1`` are not.

    Versions ``0.y.z`` are excluded as semver excludes them: "anything may change at any time".
    """
    m = _VERSION.match(tag)
    if m is None or m.group("pre") or int(m.group(1)) == 0:
        return False
    patch = m.group(3)
    return patch is not None and int(patch) > 0


def first_releases(commits: Sequence[CommitFacts], tags: Mapping[str, str]) -> dict[str, str]:
    """Map each commit to the first tagged release (in history order) that contains it.

    ``tags`` maps a tagged commit's sha to the tag name.  Each commit is
    visited once: releases are taken oldest first, and each claims the
    ancestors no earlier release claimed.
    """
    index = {c.sha: i for i, c in enumerate(commits)}
    parents = {c.sha: c.parents for c in commits}
    release: dict[str, str] = {}
    for tagged in sorted((s for s in tags if s in index), key=index.__getitem__):
        name = tags[tagged]
        stack = [tagged]
        while stack:
            sha = stack.pop()
            if sha in release or sha not in index:
                continue
            release[sha] = name
            stack.extend(parents[sha])
    return release
