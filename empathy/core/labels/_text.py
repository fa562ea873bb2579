"""Reading a commit message: its declared type, its verb, what it says is wrong.

Why the subject and not the whole message: the subject is where the author
says what the change *is*; the body explains, quotes issues and, after a
squash merge, lists every intermediate "fix review comment".  A fix word in
the body ("Fixes #4416" on a feature, "bug reports" in a docs change) is the
largest source of false fixes in the keyword rule, so the body is only read
for closing trailers and revert lines.  A merge's message is read for what it
merges: the pull request's title and the branch name (:func:`read_merge`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CC_TYPES",
    "MergeInfo",
    "Subject",
    "closing_trailer",
    "conventional_type",
    "read_merge",
    "read_subject",
    "reverted_sha",
]

#: Conventional Commits types (and the common aliases) with the kind each declares.
CC_TYPES: Final[dict[str, str]] = {
    "fix": "fix", "bugfix": "fix", "hotfix": "fix", "bug": "fix", "security": "fix",
    "feat": "feature", "feature": "feature", "perf": "feature",
    "refactor": "refactor", "chore": "refactor", "cleanup": "refactor",
    "docs": "docs", "doc": "docs",
    "test": "tests", "tests": "tests",
    "style": "style", "lint": "style", "typing": "style", "types": "style",
    "build": "build", "ci": "build",
    "deps": "dependencies",
    "release": "release",
    "revert": "revert",
}  # fmt: skip

#: Scope and bracket tags that name a kind ("docs: ...", "[ruff] ...", "testing: ...", "[refactor] ...").
_TAG_KINDS: Final[dict[str, str]] = {
    **{t: k for t, k in CC_TYPES.items() if k not in ("fix", "release", "revert")},
    "documentation": "docs", "readme": "docs", "changelog": "docs", "typo": "docs", "typos": "docs",
    "testing": "tests", "testsuite": "tests", "coverage": "tests",
    "travis": "build", "tox": "build", "github": "build", "gha": "build", "workflow": "build", "workflows": "build",
    "packaging": "build", "setup": "build", "pre-commit.ci": "style", "pre-commit": "style", "ruff": "style",
    "pylint": "style", "flake8": "style", "mypy": "style", "black": "style", "isort": "style", "format": "style",
    "formatting": "style", "typehints": "style", "pyupgrade": "style",
    "deps-dev": "dependencies", "dependencies": "dependencies", "dependabot": "dependencies",
    "enhancement": "feature", "perf": "feature", "performance": "feature",
}  # fmt: skip
_TAG = re.compile(r"^\[(?P<tag>[^\]]{1,40})\]\s*")
_CC = re.compile(r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?:\s*(?P<rest>\S.*)$")
# "[ruff] ...", "[8.0.x] ...", "terminal: ...", "assertion/util: ..." prefixes are stripped before the verb is
# read; the prefix itself may be a kind tag (see _TAG_KINDS).
_SCOPE = re.compile(r"^(?P<scope>[\w./*`-]{1,40}):\s+(?P<rest>\S.*)$")
_PR_SUFFIX = re.compile(r"\s*\((?:#|gh-|GH-)\d+\)\s*$")

# The words are matched on the subject with its scope/type prefix removed.
_FIX_VERB = re.compile(r"^(?:bug[ -]?fix(?:e[sd]|ing)?|hot[ -]?fix(?:e[sd])?|fix(?:e[sd]|ing)?)\b", re.IGNORECASE)
_REPAIR_VERB = re.compile(
    r"^(?:restor(?:e[sd]?|ing)|prevent(?:s|ed|ing)?|avoid(?:s|ed|ing)?|handl(?:e[sd]?|ing)|correct(?:s|ed|ly)?|"
    r"repair(?:s|ed)?|ensur(?:e[sd]?|ing)|respect(?:s|ed)?|preserv(?:e[sd]?|ing)|guard(?:s|ed)? against|"
    r"work(?:s|ed)?[ -]?around|don'?t|do not|does not|doesn'?t|never|make sure|honou?r(?:s|ed)?|"
    r"properly|account(?:s|ed)? for|catch(?:es)?|re-?raise)\b",
    re.IGNORECASE,
)
_PROBLEM = re.compile(
    r"\b(?:regress(?:ion|ions|ed)|crash(?:es|ed|ing)?|bugs?|buggy|broken|breakage|incorrect(?:ly)?|wrong(?:ly)?|"
    r"erroneous(?:ly)?|leak(?:s|ing|ed)?|hang(?:s|ing)?|deadlocks?|race condition|infinite (?:loop|recursion)|"
    r"misbehav\w*|segfaults?|(?:does|do|did)(?:n'?t| not) work|not working|fail(?:s|ed|ing)? (?:to|when|on|with|if|in)|"
    r"unexpected(?:ly)?|inconsisten(?:t|cy)|mishandl\w*|ignor(?:ed|es) (?:the )?\w+ (?:setting|option|argument)|"
    r"(?:bug ?|hot ?)?fix(?:es|ed)?)\b",
    re.IGNORECASE,
)
_SECURITY = re.compile(
    r"\b(?:GHSA(?:-\w{4}){3}|CVE-\d{4}-\d+|security (?:fix|issue|vulnerability|hole|problem|advisory)|"
    r"vulnerabilit\w+)\b",
    re.IGNORECASE,
)
# Maintenance branches receive fixes: "Backport #123 to 5.2", "Backport of #12", "Backport PR #3".
_BACKPORT = re.compile(r"^back-?port(?:ed|s|ing)?\b", re.IGNORECASE)
_ARROW = re.compile(r"^[^\s]+ ?(?:->|→|=>) ?[^\s]+$|^\S+: \S+ ?(?:->|→|=>) ?\S+$")

#: Subject verbs that say what a non-fix change is; first match wins.
_KIND_VERBS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    (
        "release",
        re.compile(
            r"^(?:release[sd]?|releasing|prepar(?:e|ing) (?:for )?(?:the )?(?:\(pre\) )?(?:release|version|v?\d)|"
            r"bump(?:ed|s)? (?:to |the )*(?:\S+ )?version|version bump|start (?:new )?(?:development )?version|"
            r"v?\d+\.\d+(?:\.\d+)?\S*$|"
            r"(?:update|set)s? (?:the )?(?:release )?(?:date|version)|finali[sz]e (?:\S+ )?release)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "docs",
        re.compile(
            r"^(?:docs?|document(?:s|ed|ing|ation)?|docstrings?|typos?|spelling|readme|changelog|release notes|"
            r"(?:add|update|improve|clarify|fix)(?:s|ed)? (?:the )?(?:docs?|documentation|docstrings?|readme|changelog|"
            r"comments?|typos?|examples?|wording|spelling)|clarify|reword|rephrase|comment|mention|explain|describe)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "tests",
        re.compile(
            r"^(?:tests?|testing|(?:add|update|improve|fix|skip|xfail|mark)(?:s|ed)? (?:\w+ )?(?:flaky )?tests?|"
            r"increase coverage|(?:improve|add)(?:s|ed)? (?:test )?coverage|coverage)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "style",
        re.compile(
            r"^(?:typing|types|annotate|lint|linting|format(?:ting)?|reformat|style|blacken|black|isort|flake8|"
            r"pylint|ruff|mypy|pyright|pre-commit|whitespace|pep ?8)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "dependencies",
        re.compile(
            r"^(?:bump(?:s|ed)?|pin(?:s|ned)?|unpin|upgrade|update) (?:\S+ )?(?:from \S+ )?to v?\d|"
            r"^(?:update|upgrade|bump|pin)(?:s|ed)? (?:the )?(?:dev |test |doc )?(?:dependencies|deps|requirements|"
            r"pins|lock ?file)\b|^(?:bump|pin|upgrade)(?:s|ed)? \S+$",
            re.IGNORECASE,
        ),
    ),
    (
        "build",
        re.compile(
            r"^(?:ci|build|packaging|tox|travis|appveyor|github actions|workflows?|setup\.py|pyproject|nox|"
            r"(?:add|update|fix|run|enable|drop|remove|test)(?:s|ed)? .{0,30}\b(?:ci|tox|travis|workflows?|"
            r"github actions|appveyor|azure pipelines|ci (?:job|matrix)))\b",
            re.IGNORECASE,
        ),
    ),
    (
        "feature",
        re.compile(
            r"^(?:add(?:s|ed|ing)?|support(?:s|ed|ing)?|implement(?:s|ed|ing)?|introduc(?:e[sd]?|ing)|"
            r"allow(?:s|ed|ing)?|enabl(?:e[sd]?|ing)|expos(?:e[sd]?|ing)|new|creat(?:e[sd]?|ing)|provid(?:e[sd]?|ing)|"
            r"export(?:s|ed)?|accept(?:s|ed)?|extend(?:s|ed)?|improv(?:e[sd]?|ing)|enhanc(?:e[sd]?|ing)|"
            r"optimi[sz](?:e[sd]?|ing)|speed(?:s)? up|deprecat(?:e[sd]?|ing)|warn(?:s|ed)?|emit(?:s|ted)?|"
            r"make \S+ (?:configurable|optional|public|customi[sz]able)|let|show|display|raise|log)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "refactor",
        re.compile(
            r"^(?:refactor\w*|simplif(?:y|ies|ied)|clean(?:s|ed)?(?: ?up)?|tidy|reorgani[sz]e|restructure|split|"
            r"extract|inline|renam(?:e[sd]?|ing)|mov(?:e[sd]?|ing)|deduplicate|unify|consolidate|polish|internal|"
            r"minor|misc|small|code review|review (?:comments|feedback)|address (?:review|comments|feedback))\b",
            re.IGNORECASE,
        ),
    ),
    # Verbs that say a change was made, not what for: a fix is often worded this way too.
    (
        "change",
        re.compile(
            r"^(?:remov(?:e[sd]?|ing)|drop(?:s|ped)?|delet(?:e[sd]?)|replac(?:e[sd]?|ing)|use[sd]?|switch(?:es|ed)?|"
            r"updat(?:e[sd]?|ing)|chang(?:e[sd]?|ing)|rewrit(?:e|es|ten)|convert(?:s|ed)?|migrat(?:e[sd]?|ing)|"
            r"moderni[sz](?:e[sd]?|ing)|merge|reduce[sd]?|tweak\w*|make[s]?|set[s]?|pass(?:es)?|return[s]?|call[s]?|"
            r"mark[s]?|skip[s]?|stop[s]?|only|always|check[s]?|apply|applies|wrap[s]?|strip[s]?|reset[s]?|adjust\w*)\b",
            re.IGNORECASE,
        ),
    ),
)

# What a "fix"/"correct"/"avoid" applies to when it is not the product's behaviour.
_NON_PRODUCT_OBJECT: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    (
        "docs",
        re.compile(
            r"\b(?:typos?|spelling|misspell\w*|grammar|wording|docs?|documentation|docstrings?|comments?|readme|"
            r"changelog|changes\.(?:rst|md)|release notes|examples?|links?|urls?|sphinx|tutorial|faq|"
            r"rst|markdown|intersphinx|autodoc|references?)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "style",
        re.compile(
            r"\b(?:typing|type[- ]?(?:hints?|annotations?|check\w*|errors?|ignor\w*|stubs?|vars?|aliases?)|"
            r"annotations?|mypy|pyright|pyre|pytype|lint\w*|flake8|pylint|ruff|black|isort|pep ?8|"
            r"pre-commit|codespell|deprecation warnings? in tests)\b|\bAny\b|\b(?:t|typing)\.[A-Z]\w*|"
            r"^(?:the |a )?types?\b(?! ?(?:error|conversion))",
            re.IGNORECASE,
        ),
    ),
    # Words that name code style only when nothing else is named: "fix formatting", not "fix label formatting".
    (
        "style",
        re.compile(
            r"^(?:the |some |code |more |minor |a few )*(?:formatting|format|style|whitespace|indentation|naming|"
            r"spacing|line lengths?|imports?|import order)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "tests",
        re.compile(
            r"\b(?:tests?|testing|test ?suite|flak\w+|unittests?|coverage|test (?:failures?|errors?))\b", re.IGNORECASE
        ),
    ),
    (
        "build",
        re.compile(
            r"\b(?:ci|build|packaging|tox|travis|appveyor|workflows?|github actions|setup\.py|manifest|wheels?|"
            r"sdist|release (?:script|process|tooling)|merge conflicts?|conflicts|rebase|pipeline|readthedocs|rtd)\b",
            re.IGNORECASE,
        ),
    ),
)
# "fix X and add a test" is still a fix of X: drop such phrases before looking for test objects.
_WITH_TESTS = re.compile(
    r"(?:,|;|\+|&|\band\b|\bwith\b|\bincl(?:uding|\.)?)\s*(?:add(?:s|ed|ing)?|updat(?:e[sd]?|ing)|includ\w*)?"
    r"\s*(?:[\w-]+ ){0,2}tests?\b.*$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"(?:^|[\s(\[])(?P<keyword>close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+(?:[\w.-]+(?:/[\w.-]+)?)?"
    r"(?:#|gh-|GH-|https?://\S+/issues/)\d+",
    re.IGNORECASE | re.MULTILINE,
)
_REVERT_SUBJECT = re.compile(r"^revert(?:s|ed|ing)?\b", re.IGNORECASE)
_REVERT_BODY = re.compile(r"^This reverts commit ([0-9a-f]{7,40})", re.MULTILINE)


def conventional_type(subject: str) -> tuple[str, str] | None:
    """``("fix", rest)`` for ``fix(scope): rest`` when the type is a known Conventional Commits type."""
    m = _CC.match(subject)
    if m is None:
        return None
    kind = m.group("type").lower()
    if kind not in CC_TYPES:
        return None
    return kind, m.group("rest")


@dataclass(frozen=True, slots=True)
class Subject:
    """What a subject line says, with its scope/type prefixes removed.

    ``verb_kind`` is the kind its leading verb declares ("fix" for fix verbs),
    ``repair`` a softer repair verb ("restore", "avoid", "handle", "don't"),
    ``problem`` a symptom it names ("crash", "regression", "wrong"), and
    ``object_kind`` the non-product thing it is about (typos, typing, tests),
    if any.
    """

    text: str
    cc_type: str | None
    verb_kind: str | None
    repair: bool
    problem: bool
    object_kind: str | None
    security: bool = False
    backport: bool = False
    #: The kind a prefix tag declares ("docs:", "[refactor]", "tests(unit):"), fix excluded.
    tag_kind: str | None = None


def _object_kind(text: str) -> str | None:
    """The non-product thing ``text`` (a subject after its verb) is about, if any."""
    cleaned = _WITH_TESTS.sub(" ", text).strip()
    for kind, pattern in _NON_PRODUCT_OBJECT:
        if pattern.search(cleaned):
            return kind
    return None


def _after_verb(text: str) -> str:
    """The subject without its first word ("fix typos in X" -> "typos in X"), or whole if it has one word."""
    head, _, rest = text.partition(" ")
    return rest if rest else head


def _tag_kind(tag: str) -> str | None:
    tag = tag.strip().lower()
    return _TAG_KINDS.get(tag) or _TAG_KINDS.get(re.split(r"[/(\s]", tag, maxsplit=1)[0])


def read_subject(subject: str) -> Subject:
    """Classify the words of one subject line (pure, no repository knowledge)."""
    text = _PR_SUFFIX.sub("", subject.strip())
    tag_kind: str | None = None
    cc = conventional_type(text)
    cc_type = cc[0] if cc else None
    if cc is not None:
        text = cc[1]
        tag_kind = _TAG_KINDS.get(cc[0])
        scope = _CC.match(subject.strip())
        if tag_kind is None and scope is not None and scope.group("scope"):
            tag_kind = _tag_kind(scope.group("scope"))  # "fix(docs): ...", "fix(deps): ..."
    while (bracket := _TAG.match(text)) is not None:
        tag_kind = tag_kind or _tag_kind(bracket.group("tag"))
        text = text[bracket.end() :]
    scoped = _SCOPE.match(text)
    if scoped is not None and _FIX_VERB.match(scoped.group("scope")):
        text = "fix " + scoped.group("rest")  # "Fix: serialization error", "Bugfix: ..."
    elif scoped is not None:
        tag_kind = tag_kind or _tag_kind(scoped.group("scope"))
        text = scoped.group("rest")
    verb_kind: str | None = None
    if _FIX_VERB.match(text):
        verb_kind = "fix"
    elif _ARROW.search(text):
        verb_kind = "refactor"  # "OrderedDict -> dict", "spider → mw": a rename or replacement
    else:
        for kind, pattern in _KIND_VERBS:
            if pattern.match(text):
                verb_kind = kind
                break
    repair = bool(_REPAIR_VERB.match(text))
    problem = bool(_PROBLEM.search(text))
    security = bool(_SECURITY.search(text))
    backport = bool(_BACKPORT.match(text))
    obj = _object_kind(_after_verb(text) if verb_kind == "fix" or repair else text)
    return Subject(text, cc_type, verb_kind, repair, problem or security, obj, security, backport, tag_kind)


def closing_trailer(message: str) -> str | None:
    """The keyword with which the message closes an issue ("Fixes #12" -> "fixes"), or None."""
    m = _CLOSING.search(message)
    return m.group("keyword").lower() if m else None


def reverted_sha(message: str) -> str | None:
    """For a revert ("Revert ..." subject), the sha it names ("" if none); None for other commits.

    Only the subject decides: a squash merge's body lists its branch's commits,
    reverts among them, without the whole being a revert.
    """
    subject = message.split("\n", 1)[0].strip()
    if not _REVERT_SUBJECT.match(subject):
        return None
    m = _REVERT_BODY.search(message)
    return m.group(1) if m else ""


_MERGE_PR = re.compile(r"^Merge pull request #\d+ from [^/\s]+/(?P<branch>\S+)", re.IGNORECASE)
_MERGE_BRANCH = re.compile(r"^Merge (?P<remote>remote-tracking )?branch '(?P<branch>[^']+)'", re.IGNORECASE)
_MERGE_OTHER = re.compile(r"^Merge\b", re.IGNORECASE)
# Branches that receive only fixes between releases: "8.1.x", "2.x", "1.0-maintenance", "stable", "5.2".
# Not git-flow's "release/2.19.1": it is cut from the development branch and carries its features.
_MAINTENANCE = re.compile(
    r"^(?:v?\d+(?:\.\d+)*\.x|v?\d+\.\d+(?:[-_](?:maintenance|maint|stable|branch))?|v?\d+[-_](?:maintenance|maint)|"
    r"\d+\.x[-_]maintenance|stable|maint(?:enance)?)$",
    re.IGNORECASE,
)
_FIX_BRANCH_WORDS: Final = frozenset(
    {"fix", "fixes", "fixed", "bugfix", "hotfix", "bug", "bugs", "regression", "crash"}
)


@dataclass(frozen=True, slots=True)
class MergeInfo:
    """What a merge's message says about the branch it merges.

    ``title`` is the pull request's title (the body's first line under
    "Merge pull request #N from ...", or the subject of a merge that is
    titled like a commit); ``branch`` the merged branch's name.
    """

    title: str | None
    branch: str | None

    @property
    def maintenance(self) -> bool:
        """The merged branch is a maintenance branch ("8.1.x", "stable", "2.0-maintenance")."""
        return self.branch is not None and bool(_MAINTENANCE.match(self.branch))

    @property
    def fix_branch(self) -> bool:
        """The branch name says it fixes something ("fix-trailing-blanks", "bugfix/parametrize")."""
        if self.branch is None:
            return False
        return any(word in _FIX_BRANCH_WORDS for word in re.split(r"[-_/.#]+", self.branch.lower()))

    @property
    def fix_title(self) -> bool:
        """The pull request's title starts with a fix verb aimed at the product."""
        if not self.title:
            return False
        s = read_subject(self.title)
        return (s.verb_kind == "fix" or s.cc_type in ("fix", "bugfix", "hotfix")) and s.object_kind is None


def read_merge(message: str) -> MergeInfo:
    """Branch and title of a merge commit's message."""
    lines = [line.strip() for line in message.splitlines()]
    subject = lines[0] if lines else ""
    pr = _MERGE_PR.match(subject)
    if pr is not None:
        title = next((line for line in lines[1:] if line), None)
        return MergeInfo(title, pr.group("branch"))
    named = _MERGE_BRANCH.match(subject)
    if named is not None:
        branch = named.group("branch")
        if named.group("remote"):
            branch = branch.split("/", 1)[-1]
        return MergeInfo(None, branch)
    if _MERGE_OTHER.match(subject):
        return MergeInfo(None, None)
    return MergeInfo(subject, None)  # a merge titled like a commit: "Fix X (#123)"
