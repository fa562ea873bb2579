"""Labelling commits: what kind of change each is, whether it is a bug fix, whether it is a bulk sweep.

Why rules and not a model: the labels feed every fix count the product shows,
so each one must come with the reason a user can check ("adds
changelog/1234.bugfix.rst", "subject starts with 'fix:'") and correct.  The
rules run from the strongest evidence to the weakest, and the first that
applies decides:

1. what a commit cannot be: a merge (its pull request's commits carry the
   labels), a listed or sweep-shaped bulk change, a bot's commit, a revert, a
   release step, a change that touches no product file (docs, tests, CI,
   packaging);
2. the project's own record: a changelog fragment added by the commit or its
   pull request, a Conventional Commits type in a project that types its
   commits;
3. the subject: a kind tag ("docs:", "[refactor]"), a fix verb whose object
   is the product ("fix crash in X", not "fix typos"), then weaker evidence
   (a repair verb, a named symptom, a backport, a "Fixes #N" trailer on a
   subject that says nothing else, a first release that is a patch release);
4. the team's corrections, over everything.

Fix words in the body never make a fix on their own: "Fixes #12" closes
feature requests as often as bug reports.  In a project that records its
fixes as changelog fragments, the weaker evidence counts only together with
a fragment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypedDict

from empathy.core.labels._bulk import sweep_reason
from empathy.core.labels._conventions import FRAGMENT_KINDS, Conventions, fragment_type, is_bot
from empathy.core.labels._facts import CommitFacts
from empathy.core.labels._paths import NON_PRODUCT, Role, RoleOf
from empathy.core.labels._releases import first_releases, is_patch_version
from empathy.core.labels._sides import merge_sides
from empathy.core.labels._text import (
    CC_TYPES,
    MergeInfo,
    Subject,
    closing_trailer,
    read_merge,
    read_subject,
    reverted_sha,
)

__all__ = ["CORRECTED", "Classifier", "Correction", "Kind", "Label", "classify_all"]


class Kind(StrEnum):
    """What a commit is about."""

    FIX = "fix"
    FEATURE = "feature"
    REFACTOR = "refactor"
    DOCS = "docs"
    TESTS = "tests"
    STYLE = "style"
    BUILD = "build"
    DEPENDENCIES = "dependencies"
    RELEASE = "release"
    REVERT = "revert"
    BULK = "bulk"


class Correction(TypedDict, total=False):
    """A team's override for one commit (from ``.empathy/labels.toml``); absent keys keep the rules' answer."""

    fix: bool
    bulk: bool


@dataclass(frozen=True, slots=True)
class Label:
    """A commit's label with the evidence for it.

    ``fix`` is whether the commit counts as a product bug fix (a merge never
    does: its pull request's commits are counted instead; a bulk sweep never
    does).  ``certain`` is false where only weak evidence decided, so a caller
    can ask the team (level 2) or weigh the label down.  ``rule`` names the
    rule that decided, for hit counts and for explaining a correction.
    """

    kind: Kind
    fix: bool
    bulk: bool
    certain: bool
    why: tuple[str, ...]
    rule: str

    def as_dict(self) -> dict[str, object]:
        """The JSON shape (``kind`` as its string)."""
        return {
            "kind": str(self.kind),
            "fix": self.fix,
            "bulk": self.bulk,
            "certain": self.certain,
            "rule": self.rule,
            "why": list(self.why),
        }


CORRECTED: Final = "corrected by the team (.empathy/labels.toml)"
#: A pull request with more commits than this is a long-lived branch (a release or feature branch):
#: its fragments do not describe every commit on it.
MAX_INHERIT_SIDE: Final = 20
_ROLE_KIND: Final[dict[str, Kind]] = {
    "tests": Kind.TESTS, "docs": Kind.DOCS, "changelog": Kind.DOCS, "fragment": Kind.DOCS, "ci": Kind.BUILD,
    "build": Kind.BUILD, "deps": Kind.DEPENDENCIES, "tooling": Kind.BUILD,
}  # fmt: skip
_ROLE_WORDS: Final[dict[str, str]] = {
    "tests": "tests", "docs": "docs", "changelog": "the changelog", "fragment": "changelog fragments",
    "ci": "CI and repository settings", "build": "packaging", "deps": "dependency pins", "tooling": "dev tooling",
}  # fmt: skip
#: Conventional Commits types that declare a fix when a project does not type its commits consistently.
_FIX_TYPES: Final = frozenset(t for t, k in CC_TYPES.items() if k == "fix")


@dataclass(frozen=True, slots=True)
class _Fragments:
    """The changelog fragments a commit adds: (path, type) pairs."""

    added: tuple[tuple[str, str], ...]

    @property
    def fix(self) -> tuple[str, ...]:
        return tuple(p for p, t in self.added if FRAGMENT_KINDS[t] == "fix")

    @property
    def other(self) -> tuple[tuple[str, str], ...]:
        return tuple((p, t) for p, t in self.added if FRAGMENT_KINDS[t] != "fix")


def _label(rule: str, kind: Kind, why: str | tuple[str, ...], *, certain: bool = True) -> Label:
    reasons = (why,) if isinstance(why, str) else why
    return Label(kind, kind is Kind.FIX, kind is Kind.BULK, certain, reasons, rule)


class Classifier:
    """Labels commits given in parents-first order, incrementally if asked.

    One instance remembers the labels it produced (and any ``known`` labels
    passed in), so :meth:`classify` on the next batch of new commits labels
    only those, with pull-request sides computed against what is known.  A
    new release tag does not relabel older commits: run a full pass after a
    release (about a second for 18,000 commits) to let it count.
    """

    def __init__(self, conventions: Conventions, known: Mapping[str, Label] | None = None) -> None:
        self.conventions = conventions
        self.labels: dict[str, Label] = dict(known or {})
        self._roles: RoleOf = conventions.roles()
        self._fragment_dirs = frozenset(conventions.fragment_paths)
        self._tags = dict(conventions.release_tags)
        self._release: dict[str, str] = {}
        self._fragment_era: set[str] = set()
        self._side_of: dict[str, str] = {}
        self._merges: dict[str, MergeInfo] = {}

    # -- the pass ---------------------------------------------------------------------------------
    def classify(
        self, commits: Sequence[CommitFacts], corrections: Mapping[str, Correction] | None = None
    ) -> dict[str, Label]:
        """Label ``commits`` (parents first); returns the labels of these commits only."""
        side_of = merge_sides(commits, known=self.labels.keys())
        self._side_of = side_of
        self._merges = {c.sha: read_merge(c.message) for c in commits if c.is_merge}
        self._release = first_releases(commits, self._tags) if self._tags else {}
        since = self.conventions.fragment_since
        start = len(commits)
        if since is not None:  # not in this batch: an incremental batch after the first fragment
            start = next((i for i, c in enumerate(commits) if c.sha == since), 0)
        self._fragment_era = {c.sha for c in commits[start:]}
        fragments = {c.sha: self._fragments(c) for c in commits}
        members: dict[str, list[str]] = {}
        for sha, merge in side_of.items():
            members.setdefault(merge, []).append(sha)
        inheritable: dict[str, tuple[str, ...]] = {}
        for merge_sha, shas in members.items():
            if len(shas) > MAX_INHERIT_SIDE or any(fragments[s].other for s in shas):
                continue  # a long-lived branch, or a request that records more than fixes
            inheritable[merge_sha] = tuple(p for s in shas for p in fragments[s].fix)
        out: dict[str, Label] = {}
        for c in commits:
            if c.is_merge:
                label = self._merge(c, [out[s] for s in members.get(c.sha, ()) if s in out])
            else:
                via = side_of.get(c.sha)
                inherited = inheritable.get(via, ()) if via is not None else ()
                label = self._commit(c, fragments[c.sha], inherited)
            if corrections and c.sha in corrections:
                label = _corrected(label, corrections[c.sha])
            out[c.sha] = label
        self.labels.update(out)
        return out

    def _fragments(self, c: CommitFacts) -> _Fragments:
        if not self._fragment_dirs:
            return _Fragments(())
        added: list[tuple[str, str]] = []
        for f in c.files:
            folder, _, base = f.path.rpartition("/")
            # Added when it appears, or when lines are only added to it (a backport re-adding it on a branch).
            if folder in self._fragment_dirs and (f.new or (f.deleted == 0 and f.old_path is None)):
                kind = fragment_type(base)
                if kind is not None:
                    added.append((f.path, kind))
        return _Fragments(tuple(added))

    # -- merges -----------------------------------------------------------------------------------
    def _merge(self, c: CommitFacts, side: list[Label]) -> Label:
        """A merge has no diff of its own here: it is never counted as a fix (its pull request's commits are).

        Its kind is what its own title says ("Fix X (#12)", or the pull request
        title under "Merge pull request #12 from ..."); a title that says
        nothing ("Merge branch 'main'") takes the kind most of the commits it
        brings in have.
        """
        never = "a merge is not counted as a fix itself: its pull request's commits are"
        title = self._merges[c.sha].title
        if title:
            s = read_subject(title)
            declared = s.tag_kind or (s.object_kind if s.verb_kind == "fix" else None) or s.verb_kind
            if declared is not None and declared != "change":
                return Label(Kind(declared), False, False, True, (f"merge titled {title[:60]!r}", never), "merge")
        kinds = Counter(label.kind for label in side if not label.bulk)
        if kinds:
            majority, n = kinds.most_common(1)[0]
            why = (f"merge bringing in {len(side)} commit(s), mostly {majority}", never)
            return Label(majority, False, False, n == len(side), why, "merge")
        return Label(Kind.REFACTOR, False, False, False, (f"merge {c.subject[:60]!r}", never), "merge")

    # -- single commits ---------------------------------------------------------------------------
    def _commit(self, c: CommitFacts, own: _Fragments, inherited: tuple[str, ...]) -> Label:
        conv = self.conventions
        roles = [self._roles(f.path) for f in c.files]
        s = read_subject(c.subject)

        if c.sha in conv.blame_ignore:
            return _label("blame-ignore", Kind.BULK, "listed in .git-blame-ignore-revs")
        if is_bot(c.author, c.email):
            return self._bot(c, s)
        revert = reverted_sha(c.message)
        if revert is not None:
            return _label("revert", Kind.REVERT, f"reverts {revert[:12]}" if revert else "subject starts with 'Revert'")
        sweep = sweep_reason(c, s, roles)
        if sweep is not None:
            return _label("sweep", Kind.BULK, sweep)
        if s.verb_kind == "release" or s.cc_type == "release":
            return _label("release", Kind.RELEASE, f"subject {c.subject[:50]!r} is a release step")
        if not any(r not in NON_PRODUCT for r in roles):
            return self._non_product(s, roles)

        # The project's own record of the change.
        if own.fix:
            return _label("fragment", Kind.FIX, tuple(f"adds {p}" for p in own.fix))
        if own.other:
            path, kind = own.other[0]
            return _label("fragment", Kind(FRAGMENT_KINDS[kind]), f"adds {path} (a {kind} fragment, not a bug fix)")
        if inherited:
            return _label("pr-fragment", Kind.FIX, tuple(f"its pull request adds {p}" for p in inherited[:3]))
        if s.cc_type is not None and conv.cc_trusted:
            declared = Kind(CC_TYPES[s.cc_type])
            why = f"subject starts with '{s.cc_type}:' (the project types its commits)"
            aside = s.tag_kind or s.object_kind
            if declared is Kind.FIX and aside is not None:  # "fix(docs): ...", "fix: typos in the README"
                return _label("conventional", Kind(aside), (why, f"but what it fixes is {aside}"))
            return _label("conventional", declared, why)

        label = self._by_subject(c, s)
        silent = s.verb_kind in (None, "change") and s.object_kind is None and s.tag_kind is None
        if silent and not label.fix and not label.certain:
            label = self._weak_context(c, label)
        if c.sha in self._fragment_era:
            return self._without_fragment(label)
        return label

    def _weak_context(self, c: CommitFacts, label: Label) -> Label:
        """For a commit whose message is silent: its pull request, its branch, its first release."""
        merge = self._side_of.get(c.sha)
        if merge is not None:
            info = self._merges[merge]
            if info.fix_title:
                why = f"its pull request is titled {info.title!r}"
                return _label("pr-title", Kind.FIX, (*label.why, why), certain=False)
            if info.fix_branch:
                why = f"its pull request's branch is {info.branch!r}"
                return _label("pr-branch", Kind.FIX, (*label.why, why), certain=False)
        seen = 0
        while merge is not None and seen < 50:  # the merges that brought it to the main line, innermost first
            info = self._merges[merge]
            if info.maintenance:
                why = f"it reached the main line through maintenance branch {info.branch!r}"
                return _label("maintenance", Kind.FIX, (*label.why, why), certain=False)
            merge = self._side_of.get(merge)
            seen += 1
        release = self._release.get(c.sha)
        if release is not None and is_patch_version(release):
            why = f"first shipped in patch release {release}, which by semver carries fixes"
            return _label("patch-release", Kind.FIX, (*label.why, why), certain=False)
        return label

    def _without_fragment(self, label: Label) -> Label:
        """In a project that records fixes as fragments, weak evidence without one is not enough."""
        if not label.fix:
            return label
        folder = self.conventions.fix_fragment_dir
        if label.certain:
            why = (*label.why, f"though neither it nor its pull request adds a {folder}/ bug-fix fragment")
            return Label(Kind.FIX, True, False, False, why, label.rule)
        why = (*label.why, f"but the project records fixes in {folder}/ and neither it nor its pull request adds one")
        return Label(Kind.REFACTOR, False, False, False, why, "no-fragment")

    def _bot(self, c: CommitFacts, s: Subject) -> Label:
        """Bots update dependencies, run formatters and publish releases; they do not fix bugs."""
        why = f"{c.author} is a bot"
        lowered = c.subject.lower()
        if "autoupdate" in lowered or s.verb_kind == "dependencies" or s.tag_kind == "dependencies":
            kind = Kind.DEPENDENCIES
        elif "pre-commit" in lowered or "auto fix" in lowered or "autofix" in lowered or s.verb_kind == "style":
            kind = Kind.STYLE
        elif s.verb_kind is not None and s.verb_kind not in ("fix", "change"):
            kind = Kind(s.verb_kind)
        else:
            kind = Kind.BUILD
        edited = sum(1 for f in c.files if self._roles(f.path) in ("source", "tests", "docs"))
        if kind in (Kind.STYLE, Kind.DEPENDENCIES) and len(c.files) >= 5 and edited >= 2:
            return _label("bot", Kind.BULK, (why, f"a mechanical edit of {len(c.files)} files"))
        return _label("bot", kind, why)

    def _non_product(self, s: Subject, roles: list[Role]) -> Label:
        """Docs, tests, CI, packaging, pins: whatever the subject says, the product does not change."""
        if not roles:
            return _label("non-product", Kind.REFACTOR, "changes no file", certain=False)
        counts = Counter(roles)
        declared = s.tag_kind or s.verb_kind
        if declared in ("dependencies", "build", "style", "docs", "tests") and any(
            _ROLE_KIND[r] == declared for r in counts
        ):
            kind = Kind(declared)
        else:
            top = max(counts, key=lambda r: (counts[r], r == "tests"))
            kind = _ROLE_KIND[top]
        where = ", ".join(_ROLE_WORDS[r] for r in sorted(counts))
        return _label("non-product", kind, f"touches only {where}")

    def _by_subject(self, c: CommitFacts, s: Subject) -> Label:
        """What the subject line says, strongest reading first."""
        quoted = repr(c.subject[:60])
        closes = closing_trailer(c.message)
        closing = (f"and closes an issue ('{closes}')",) if closes else ()
        why: str | tuple[str, ...]
        if s.tag_kind is not None:
            return _label("tag", Kind(s.tag_kind), f"subject {quoted} is tagged as {s.tag_kind}")
        if s.verb_kind == "fix" or s.cc_type in _FIX_TYPES:
            if s.object_kind is not None:
                why = f"subject {quoted} fixes {s.object_kind}, not the product"
                return _label("fix-object", Kind(s.object_kind), why)
            return _label("fix-verb", Kind.FIX, (f"subject {quoted} starts with a fix verb", *closing))
        if s.security and s.object_kind is None:
            return _label("security", Kind.FIX, f"subject {quoted} names a security advisory")
        if s.repair and s.object_kind is None:
            symptom = ("and names a symptom",) if s.problem else ()
            why = (f"subject {quoted} starts with a repair verb", *symptom, *closing)
            return _label("repair-verb", Kind.FIX, why, certain=s.problem or bool(closes))
        generic = s.verb_kind in (None, "change")
        if s.problem and s.object_kind is None and generic:
            return _label("symptom", Kind.FIX, (f"subject {quoted} names a symptom", *closing), certain=False)
        if s.backport and s.object_kind is None and generic:
            why = f"subject {quoted} is a backport to a maintenance branch"
            return _label("backport", Kind.FIX, why, certain=False)
        if closes is not None and closes.startswith("fix") and generic and s.object_kind is None:
            why = f"no other verb in {quoted}, and the message closes an issue with '{closes}'"
            return _label("fix-trailer", Kind.FIX, why, certain=False)
        if s.verb_kind is not None and s.verb_kind != "change":
            kind = Kind(s.verb_kind)
            why_verb = [f"subject {quoted} reads as {kind}"]
            if closes:
                why_verb.append(f"it closes an issue ('{closes}'), which does not make it a fix")
            return _label("verb", kind, tuple(why_verb), certain=s.object_kind is None)
        if s.object_kind is not None:
            return _label("object", Kind(s.object_kind), f"subject {quoted} is about {s.object_kind}", certain=False)
        return _label("silent", Kind.REFACTOR, f"no evidence of a fix in {quoted}", certain=False)


def _corrected(label: Label, correction: Correction) -> Label:
    """The team's word over the rules; calling a commit a fix also means it is not a sweep."""
    fix = correction.get("fix", label.fix)
    bulk = correction.get("bulk", label.bulk and not correction.get("fix", False))
    kind = label.kind
    if bulk:
        kind = Kind.BULK
    elif fix:
        kind = Kind.FIX
    elif kind in (Kind.FIX, Kind.BULK):
        kind = Kind.REFACTOR
    return Label(kind, fix and not bulk, bulk, True, (*label.why, CORRECTED), "corrected")


def classify_all(
    commits: Sequence[CommitFacts],
    conventions: Conventions,
    corrections: Mapping[str, Correction] | None = None,
) -> dict[str, Label]:
    """Label every commit of a history given parents first (topological order)."""
    return Classifier(conventions).classify(commits, corrections)
