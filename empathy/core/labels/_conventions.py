"""The conventions a repository follows, learned from its own history.

Why learned and not configured: the strongest evidence that a commit is a bug
fix is the project's own record of it (a ``changelog/1234.bugfix.rst``
fragment, a ``fix:`` type in a project that types every commit), and which of
these a project uses differs from project to project.  Learning them from the
history means a new repository gets the right rules without a settings file,
and :meth:`Conventions.describe` says in words what was found, so a user can
tell when a rule is not theirs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from empathy.core.labels._facts import CommitFacts
from empathy.core.labels._paths import RoleOf, is_test_name
from empathy.core.labels._releases import is_patch_version, is_version
from empathy.core.labels._text import CC_TYPES, conventional_type, read_merge

__all__ = [
    "FRAGMENT_KINDS",
    "Conventions",
    "FragmentDir",
    "fragment_type",
    "is_bot",
    "learn_conventions",
]

#: Changelog-fragment types (towncrier's defaults and the common custom ones)
#: and the kind of change each records.
FRAGMENT_KINDS: Final[dict[str, str]] = {
    "bugfix": "fix", "bugfixes": "fix", "bug": "fix", "bugs": "fix", "fix": "fix", "fixes": "fix",
    "fixed": "fix", "security": "fix", "regression": "fix",
    "feature": "feature", "features": "feature", "feat": "feature", "added": "feature", "add": "feature",
    "improvement": "feature", "improvements": "feature", "enhancement": "feature", "enhancements": "feature",
    "change": "feature", "changed": "feature", "changes": "feature", "api": "feature", "breaking": "feature",
    "removal": "feature", "removals": "feature", "removed": "feature", "deprecation": "feature",
    "deprecations": "feature", "deprecated": "feature", "perf": "feature", "performance": "feature",
    "doc": "docs", "docs": "docs", "documentation": "docs",
    "misc": "refactor", "trivial": "refactor", "internal": "refactor", "chore": "refactor",
    "contrib": "refactor", "dev": "refactor", "refactor": "refactor", "other": "refactor",
    "packaging": "build", "build": "build", "ci": "build",
    "vendor": "dependencies", "deps": "dependencies", "dependencies": "dependencies",
    "test": "tests", "tests": "tests",
}  # fmt: skip

# "1234.bugfix.rst", "1234.bugfix.1.rst", "+orphan.feature.md", "gh-12.fix", "issue-7.bugfix"
_FRAGMENT_NAME = re.compile(
    r"^(?:\d+|\+[\w-]+|(?:gh|issue|pr|bpo)-?\d+)\.(?P<type>[a-z]+)(?:\.\d+)?(?:\.(?:rst|md|txt|markdown))?$",
    re.IGNORECASE,
)
_BOT = re.compile(
    r"\[bot\]|^(?:dependabot|renovate|pre-commit-ci|github-actions|pyup-bot|pyup\.io|greenkeeper|snyk-bot|"
    r"mergify|imgbot|allcontributors|deepsource-autofix|sourcery-ai|codecov-io|weblate|transifex|"
    r"requires\.io|scientific-python-pre-commit|auto-?update)(?:\b|$)",
    re.IGNORECASE,
)
#: Fragments a directory must have gained before it counts as a fragment directory.
MIN_FRAGMENTS: Final = 5
#: Share of recent typed subjects above which a ``fix:`` type is taken at its word.
CC_TRUST_SHARE: Final = 0.5
_CC_WINDOW: Final = 500


def fragment_type(basename: str) -> str | None:
    """The type of a changelog fragment's file name, if it is one (``1234.bugfix.rst`` -> ``bugfix``)."""
    m = _FRAGMENT_NAME.match(basename)
    if m is None:
        return None
    kind = m.group("type").lower()
    return kind if kind in FRAGMENT_KINDS else None


def is_bot(author: str, email: str) -> bool:
    """An automation account (``dependabot[bot]``, ``pre-commit-ci[bot]``, renovate, github-actions)."""
    return bool(_BOT.search(author) or _BOT.search(email.split("@", 1)[0]) or "[bot]@" in email)


@dataclass(frozen=True, slots=True)
class FragmentDir:
    """A changelog-fragment folder and how many fragments of each type it gained."""

    path: str
    types: tuple[tuple[str, int], ...]

    @property
    def fix_types(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.types if FRAGMENT_KINDS[t] == "fix")


@dataclass(frozen=True, slots=True)
class Conventions:
    """What the classifier may rely on in this repository."""

    fragment_dirs: tuple[FragmentDir, ...] = ()
    #: The first commit that added a fragment: from there on the project records its fixes as fragments.
    fragment_since: str | None = None
    test_roots: tuple[str, ...] = ()
    #: Share of recent human, non-merge subjects with a Conventional Commits type.
    cc_share: float = 0.0
    cc_types: tuple[tuple[str, int], ...] = ()
    bots: tuple[tuple[str, int], ...] = ()
    blame_ignore: frozenset[str] = field(default_factory=frozenset)
    #: Maintenance branches merged into other lines, with how often ("8.1.x", "stable").
    maintenance_branches: tuple[tuple[str, int], ...] = ()
    #: (sha, tag) of the release tags passed in; see ``_releases``.
    release_tags: tuple[tuple[str, str], ...] = ()
    commits_seen: int = 0

    @property
    def cc_trusted(self) -> bool:
        """Whether the project types its commits consistently enough for ``fix:`` to be believed as is."""
        return self.cc_share >= CC_TRUST_SHARE

    @property
    def fragment_paths(self) -> tuple[str, ...]:
        return tuple(d.path for d in self.fragment_dirs)

    @property
    def fix_fragment_dir(self) -> str | None:
        """The fragment folder where bug fixes are recorded, if the project records them."""
        return next((d.path for d in self.fragment_dirs if d.fix_types), None)

    def roles(self) -> RoleOf:
        """A path-role function using these conventions."""
        return RoleOf(self.fragment_paths, self.test_roots)

    def describe(self) -> list[str]:
        """What was learned, one sentence a line."""
        lines: list[str] = []
        for d in self.fragment_dirs:
            types = ", ".join(f"{t} {n}" for t, n in d.types)
            fixes = ", ".join(d.fix_types) or "none"
            lines.append(f"changelog fragments in {d.path}/ ({types}); bug-fix types: {fixes}")
        if self.fragment_since:
            lines.append(
                f"fragments recorded since {self.fragment_since[:12]}: from there on, weak evidence (a repair verb,"
                " a symptom, a closing trailer) counts only with a bug-fix fragment"
            )
        if not self.fragment_dirs:
            lines.append("no changelog-fragment folder")
        share = f"{self.cc_share:.0%} of recent subjects"
        if self.cc_trusted:
            lines.append(f"Conventional Commits used consistently ({share}): a 'fix:' type is taken as declared")
        elif self.cc_share > 0:
            lines.append(f"Conventional Commits used by some ({share}): a 'fix:' type is read like a fix verb")
        else:
            lines.append("no Conventional Commits types")
        if self.test_roots:
            lines.append("tests also live in: " + ", ".join(f"{r}/" for r in self.test_roots))
        if self.bots:
            lines.append("bots: " + ", ".join(f"{name} ({n})" for name, n in self.bots))
        else:
            lines.append("no bot commits")
        if self.blame_ignore:
            lines.append(f"{len(self.blame_ignore)} revisions listed in .git-blame-ignore-revs (bulk sweeps)")
        if self.maintenance_branches:
            names = ", ".join(f"{name} ({n})" for name, n in self.maintenance_branches[:6])
            lines.append(
                f"maintenance branches merged: {names}: a change whose message is silent leans towards a fix"
                " when it arrives through one"
            )
        if self.release_tags:
            patches = sum(1 for _, tag in self.release_tags if is_patch_version(tag))
            lines.append(
                f"{len(self.release_tags)} release tags, {patches} of them patch releases: a change whose message"
                " is silent leans towards a fix when a patch release first ships it"
            )
        else:
            lines.append("no release tags given")
        return lines


def _fragment_dirs(commits: Sequence[CommitFacts]) -> tuple[tuple[FragmentDir, ...], str | None]:
    counts: dict[str, Counter[str]] = {}
    first: dict[str, str] = {}
    for c in commits:
        for f in c.files:
            if not f.new:
                continue
            folder, _, base = f.path.rpartition("/")
            kind = fragment_type(base)
            if kind is not None:
                counts.setdefault(folder, Counter())[kind] += 1
                first.setdefault(folder, c.sha)
    dirs = [
        FragmentDir(folder, tuple(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))))
        for folder, types in counts.items()
        if sum(types.values()) >= MIN_FRAGMENTS
    ]
    ordered = tuple(sorted(dirs, key=lambda d: -sum(n for _, n in d.types)))
    # Absence of a fragment means something only where fixes are recorded as fragments at all.
    recording = next((d for d in ordered if d.fix_types), None)
    return ordered, (first[recording.path] if recording is not None else None)


def _test_roots(paths: Iterable[str]) -> tuple[str, ...]:
    """Top-level folders whose Python files are mostly test modules (celery's ``t/``)."""
    py: Counter[str] = Counter()
    tests: Counter[str] = Counter()
    for path in paths:
        top, sep, rest = path.partition("/")
        if sep and path.endswith(".py"):
            py[top] += 1
            tests[top] += is_test_name(rest.rpartition("/")[2])
    plain = RoleOf()
    # Only folders that would otherwise count as product code: docs/ and examples/ hold test-named examples.
    return tuple(
        sorted(top for top, n in py.items() if n >= 5 and tests[top] >= 0.5 * n and plain(f"{top}/x.py") == "source")
    )


def learn_conventions(
    commits: Sequence[CommitFacts],
    *,
    head_files: Iterable[str] | None = None,
    blame_ignore_revs: Iterable[str] = (),
    release_tags: Mapping[str, str] | None = None,
) -> Conventions:
    """Learn the conventions from the history (parents first), the HEAD listing and the blame-ignore list.

    ``head_files`` only adds paths the history does not already show (a
    shallow clone); ``blame_ignore_revs`` are the shas of
    ``.git-blame-ignore-revs``, which a project lists precisely because they
    are mechanical sweeps; ``release_tags`` maps tagged commits to version
    tags (``{"abc...": "v8.1.4"}``), only the ones that parse as versions
    are kept.
    """
    paths: set[str] = set()
    bots: Counter[str] = Counter()
    maintenance: Counter[str] = Counter()
    for c in commits:
        for f in c.files:
            paths.add(f.path)
        if is_bot(c.author, c.email):
            bots[c.author] += 1
        if c.is_merge:
            merged = read_merge(c.message)
            if merged.maintenance and merged.branch is not None:
                maintenance[merged.branch] += 1
    if head_files is not None:
        paths.update(head_files)
    typed = 0
    human = 0
    cc_types: Counter[str] = Counter()
    for c in reversed(commits):
        if c.is_merge or is_bot(c.author, c.email):
            continue
        human += 1
        cc = conventional_type(c.subject)
        if cc is not None and cc[0] in CC_TYPES:
            typed += 1
            cc_types[cc[0]] += 1
        if human >= _CC_WINDOW:
            break
    fragment_dirs, fragment_since = _fragment_dirs(commits)
    return Conventions(
        fragment_dirs=fragment_dirs,
        fragment_since=fragment_since,
        test_roots=_test_roots(paths),
        cc_share=typed / human if human else 0.0,
        cc_types=tuple(cc_types.most_common()),
        bots=tuple(bots.most_common()),
        maintenance_branches=tuple(maintenance.most_common()),
        blame_ignore=frozenset(s.strip() for s in blame_ignore_revs if s.strip()),
        release_tags=tuple(sorted((sha, tag) for sha, tag in (release_tags or {}).items() if is_version(tag))),
        commits_seen=len(commits),
    )
