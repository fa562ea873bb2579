"""Commit labels for an ingested history: facts from the store, conventions from the repository, corrections.

:mod:`empathy.core.labels` is pure; this module feeds it what the store and
the checkout hold (commits, their files, release tags, ``.git-blame-ignore-revs``)
and the team's corrections (``.empathy/labels.toml``), and answers for every
commit of a :class:`~empathy.core.history.view.History`, also for commits
that were not ingested (the change under review, a replay's synthetic commit).

Labels are recomputed when a history is loaded: the conventions are learned
from the whole history, so one new commit can move them (a project starts
adding changelog fragments), and a full pass over pytest's 17,666 commits
takes about a second, a fifth of its ingest (docs/benchmarks.md).

``fix_pattern`` / ``fix_exclude_pattern`` (empty by default) remain for a
team that marks fixes its own way: a subject matching ``fix_pattern`` is a
fix and one matching ``fix_exclude_pattern`` is not, over the rules but
under the team's corrections.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import git

from empathy.core.errors import ConfigError
from empathy.core.labels import (
    Classifier,
    CommitFacts,
    Conventions,
    Correction,
    FileChange,
    Kind,
    Label,
    learn_conventions,
)

if TYPE_CHECKING:
    from empathy.core.history.view import CommitInfo
    from empathy.core.repo import RepoInfo

__all__ = [
    "LABELS_FILE",
    "CommitLabels",
    "FixPatterns",
    "facts_of",
    "label_history",
    "load_corrections",
    "save_correction",
]

#: Where the team's corrections live, relative to the work tree (committed, so they are shared).
LABELS_FILE = ".empathy/labels.toml"


@dataclass(frozen=True)
class FixPatterns:
    """A team's own fix markers (settings ``fix_pattern`` and ``fix_exclude_pattern``), empty by default."""

    pattern: str = ""
    exclude: str = ""

    def compiled(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        try:
            return (
                re.compile(self.pattern, re.IGNORECASE) if self.pattern else None,
                re.compile(self.exclude, re.IGNORECASE) if self.exclude else None,
            )
        except re.error as exc:
            raise ConfigError(f"fix pattern is not a valid regular expression: {exc}") from None


def facts_of(commits: Iterable[CommitInfo]) -> list[CommitFacts]:
    """The classifier's view of ingested commits (parents first); ``new`` is a file's first appearance."""
    seen: set[int] = set()
    facts: list[CommitFacts] = []
    for c in commits:
        files = []
        for t in c.touches:
            new = t.file_id not in seen and t.old_path is None
            seen.add(t.file_id)
            files.append(FileChange(t.path, t.added, t.deleted, new, t.old_path))
        facts.append(CommitFacts(c.sha, c.parents, c.author, c.email, c.message, tuple(files)))
    return facts


@dataclass
class CommitLabels:
    """Every commit's label, with the conventions it was judged by; unknown commits are labelled on demand."""

    conventions: Conventions
    labels: dict[str, Label] = field(default_factory=dict)
    corrections: Mapping[str, Correction] = field(default_factory=dict)
    patterns: FixPatterns = field(default_factory=FixPatterns)
    _classifier: Classifier | None = field(default=None, repr=False)

    def of(self, commit: CommitInfo) -> Label:
        """The label of ``commit``; one the history did not contain is classified now and kept."""
        label = self.labels.get(commit.sha)
        if label is None:
            if self._classifier is None:
                self._classifier = Classifier(self.conventions, known=self.labels)
            label = self._classifier.classify(facts_of([commit]))[commit.sha]
            if not commit.is_merge:
                label = _with_patterns(label, commit.message, self.patterns, commit.sha in self.corrections)
            self.labels[commit.sha] = label
        return label


def _with_patterns(label: Label, message: str, patterns: FixPatterns, corrected: bool) -> Label:
    """Apply the team's fix markers (settings) over the rules, never over a correction."""
    if corrected or not (patterns.pattern or patterns.exclude):
        return label
    include, exclude = patterns.compiled()
    subject = message.split("\n", 1)[0]
    if exclude is not None and exclude.search(subject) and label.fix:
        return Label(Kind.REFACTOR, False, label.bulk, True, (*label.why, "but matches fix_exclude_pattern"), "setting")
    if include is not None and include.search(message) and not label.fix and not label.bulk:
        return Label(Kind.FIX, True, False, True, ("matches the fix_pattern setting",), "setting")
    return label


def _release_tags(repo: RepoInfo) -> dict[str, str]:
    """Tagged commit -> tag name (annotated tags peeled); the classifier keeps those that parse as versions."""
    try:
        raw: str = repo.git.for_each_ref("refs/tags", "--format=%(objectname) %(*objectname) %(refname:short)")
    except git.GitCommandError:
        return {}
    tags: dict[str, str] = {}
    for line in raw.splitlines():
        obj, peeled, name = [*line.split(" ", 2), "", ""][:3]
        tags.setdefault(peeled or obj, name)
    return tags


def _blame_ignore_revs(root: Path) -> list[str]:
    path = root / ".git-blame-ignore-revs"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split()[0] for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def load_corrections(root: Path) -> dict[str, Correction]:
    """The team's corrections from ``.empathy/labels.toml``: ``[commits.SHA]`` tables with ``fix``/``bulk``.

    A malformed file is a ConfigError naming the file and the line; nothing is
    changed by reading it.
    """
    path = root / LABELS_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", "fix the file by hand, or restore it with `git checkout`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    commits = data.get("commits", {})
    if not isinstance(commits, dict):
        raise ConfigError(f"{path}: 'commits' must be a table of [commits.SHA] sections")
    out: dict[str, Correction] = {}
    for sha, entry in commits.items():
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or not isinstance(entry, dict):
            raise ConfigError(f"{path}: [commits.{sha}] must be a full 40-character sha with fix/bulk keys")
        correction: Correction = {}
        for key, value in entry.items():
            if key not in ("fix", "bulk", "note") or (key != "note" and not isinstance(value, bool)):
                raise ConfigError(f"{path}: [commits.{sha}] {key} = {value!r}: only fix and bulk (true/false)")
            if key in ("fix", "bulk"):
                correction[key] = value  # type: ignore[literal-required]
        out[sha] = correction
    return out


def save_correction(root: Path, sha: str, fix: bool | None = None, bulk: bool | None = None) -> Path:
    """Record a correction in ``.empathy/labels.toml`` (other entries and comments kept), atomically."""
    import os
    import tempfile

    path = root / LABELS_FILE
    existing = load_corrections(root)  # refuses a malformed file before touching it
    entry: dict[str, bool] = {**existing.get(sha, {})}  # type: ignore[dict-item]
    if fix is not None:
        entry["fix"] = fix
    if bulk is not None:
        entry["bulk"] = bulk
    text = path.read_text(encoding="utf-8") if path.is_file() else (
        "# Commit label corrections for empathy (`empathy label SHA --fix|--not-fix|--bulk|--not-bulk`).\n"
        "# Commit this file: the whole team's tools then count the same fixes.\n"
    )
    header = f"[commits.{sha}]"
    body = "".join(f"{key} = {'true' if value else 'false'}\n" for key, value in sorted(entry.items()))
    block = re.compile(rf"^\[commits\.{sha}\]\n(?:(?!\[).*\n?)*", re.M)
    if block.search(text):
        text = block.sub(lambda _m: f"{header}\n{body}", text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{header}\n{body}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".labels-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def label_history(
    commits: list[CommitInfo],
    repo: RepoInfo | None,
    patterns: FixPatterns | None = None,
    corrections: Mapping[str, Correction] | None = None,
) -> CommitLabels:
    """Label every commit (parents first) by the repository's conventions, then the settings and corrections."""
    facts = facts_of(commits)
    conventions = learn_conventions(
        facts,
        blame_ignore_revs=_blame_ignore_revs(repo.root) if repo is not None else (),
        release_tags=_release_tags(repo) if repo is not None else None,
    )
    fixes = patterns or FixPatterns()
    corrected = dict(corrections or {})
    labels = Classifier(conventions).classify(facts, corrected)
    if fixes.pattern or fixes.exclude:
        for c in commits:
            if not c.is_merge:
                labels[c.sha] = _with_patterns(labels[c.sha], c.message, fixes, c.sha in corrected)
    return CommitLabels(conventions=conventions, labels=labels, corrections=corrected, patterns=fixes)
