"""The files of ``empathy plugin new NAME``: a plugin package that installs, runs and passes its tests.

Pure functions: :func:`validate_name` checks the plugin id, :func:`module_name`
derives the Python module from it, :func:`render` returns the files (relative
path -> text) and :func:`check_target` refuses to write into an existing
non-empty directory without ``--force``.  The command in
:mod:`empathy.cli.plugin` writes what :func:`render` returns.

The generated plugin imports only :mod:`empathy.plugin` (the public API) and
holds one miner and one level that work on any repository: source files whose
recent commits come mostly from one author, and a finding per file that names
who else could review the next change.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from string import Template

from empathy.core.errors import ConfigError

__all__ = ["check_target", "default_directory", "distribution_name", "module_name", "render", "validate_name"]

#: A plugin id: lowercase letters and digits, words joined by single dashes (``my-plugin``).
#: No underscores: ``my_plugin`` and ``my-plugin`` would share one module name.
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_NAME = 50


def validate_name(name: str, taken: Collection[str] = ()) -> str:
    """``name`` when it can be a plugin id (and is not in ``taken``); ConfigError otherwise."""
    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise ConfigError(
            f"invalid plugin id {name!r}: use lowercase letters, digits and single dashes, "
            f"starting with a letter, at most {MAX_NAME} characters (e.g. my-plugin)"
        )
    if name in taken:
        raise ConfigError(f"plugin id {name!r} is taken by a built-in plugin; choose another name")
    return name


def module_name(name: str) -> str:
    """The Python module of plugin ``name``: ``my-plugin`` -> ``empathy_my_plugin``."""
    return "empathy_" + name.replace("-", "_")


def distribution_name(name: str) -> str:
    """The package (distribution) name: ``my-plugin`` -> ``empathy-my-plugin``."""
    return f"empathy-{name}"


def default_directory(name: str) -> Path:
    return Path(distribution_name(name))


def check_target(directory: Path, force: bool) -> None:
    """Refuse a path that is a file, or a non-empty directory unless ``force``."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ConfigError(f"{directory} exists and is not empty; use --force to write the plugin's files into it")


def render(name: str, empathy_version: str) -> dict[str, str]:
    """Every file of the package for plugin ``name``, by path relative to the package directory."""
    module = module_name(name)
    values = {
        "plugin": name,
        "module": module,
        "dist": distribution_name(name),
        "envkey": name.upper().replace("-", "_"),
        "version": empathy_version,
    }
    return {
        "pyproject.toml": Template(_PYPROJECT).substitute(values),
        "README.md": Template(_README).substitute(values),
        f"{module}/__init__.py": Template(_MODULE).substitute(values),
        "tests/test_plugin.py": Template(_TEST).substitute(values),
    }


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "An empathy plugin: source files whose recent commits come mostly from one author."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["empathy>=$version"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The entry-point name is the plugin id everywhere: `empathy plugins`, the settings
# section [tool.empathy.plugins.$plugin], EMPATHY_DISABLE_PLUGINS, the source of findings.
[project.entry-points.empathy]
$plugin = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

_README = """\
# $dist

The empathy plugin `$plugin` (module `$module`), made with `empathy plugin new $plugin`.

- **Miner** (`mine_patterns`): a source file changed in at least `min_commits` commits in
  the last `window_days` days (counted back from the newest commit), of which one author
  made at least `min_share`, is a `one_author_churn` pattern (none when one person made
  every recent commit of the repository).
- **Level** (`level_findings`): each pattern becomes a `one-author-churn` finding (level 3)
  that gives the author's share of the recent commits and asks the person who made most of
  the others to review the next change to the file, or, when nobody else changed it,
  someone other than the author.

## Install

```console
pip install -e .
empathy plugins          # lists $plugin with mine_patterns, level_findings, settings_defaults
```

Then `empathy analyze` in a repository runs the miner, and `empathy findings` shows the
findings.

## Test

```console
pytest
```

`tests/test_plugin.py` builds a small git repository with GitPython, opens it with
`open_workspace`, registers the plugin with `ws.register(...)` and checks the patterns, the
findings and that a threshold set by the user is obeyed (the "Testing a plugin" recipe of
empathy's docs/plugins.md).

## Settings

| key | default | meaning |
|---|---|---|
| `window_days` | 90 | how many days back from the newest commit count as recent |
| `min_commits` | 5 | recent commits a file needs before it is judged |
| `min_share` | 0.8 | share of those commits one author must have made |

Override them in the analysed repository's `pyproject.toml`:

```toml
[tool.empathy.plugins.$plugin]
min_commits = 10
```

or in its `.empathy.toml` under `[plugins.$plugin]`, or with
`EMPATHY_PLUGIN_${envkey}_MIN_COMMITS=10`; `empathy config show` prints what is in effect.

## Make it yours

The hooks are in `$module/__init__.py`; import only from `empathy.plugin`, the public API.
The plugin id is the entry-point name in `pyproject.toml`; the tests use it too.
"""

_MODULE = '''\
"""The empathy plugin ``$plugin``: source files whose recent commits come mostly from one author.

Miner (``mine_patterns``): a source file changed in at least ``min_commits``
commits in the last ``window_days`` days (counted back from the newest commit,
not the wall clock, so results are reproducible), of which one author made at
least ``min_share``, is a ``one_author_churn`` pattern: what changed there
lately is known to one person.  A repository where one person made every
recent commit has no such pattern (no file stands out, and nobody else could
review).

Level (``level_findings``): each pattern becomes a finding that gives the
author's share and asks the person who made most of the other recent commits
(or, when nobody else did, anyone but the author) to review the next change.

The thresholds are in ``settings_defaults``; users override them under
``[tool.empathy.plugins.$plugin]`` or with ``EMPATHY_PLUGIN_${envkey}_<KEY>``.
Import only from ``empathy.plugin``: it is the public API.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from empathy.plugin import (
    DAY,
    AnalysisContext,
    Finding,
    Level,
    Location,
    MiningContext,
    Pattern,
    Severity,
    date,
    hookimpl,
    percentile_ranks,
    saturate,
    source_files,
)

PLUGIN = "$plugin"
KIND = "one_author_churn"
CODE = "one-author-churn"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {
        "window_days": 90,  # recent: this many days back from the newest commit
        "min_commits": 5,  # a file needs this many recent commits to be judged
        "min_share": 0.8,  # the share of them one author must have made
    }


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    window = int(context.settings["window_days"])
    min_commits = int(context.settings["min_commits"])
    min_share = float(context.settings["min_share"])
    history = context.history
    since = history.now - window * DAY
    if len({c.email for c in history.non_merge() if c.committed_at > since}) < 2:
        return []  # one person made every recent commit: no file is special, and nobody else could review
    found: dict[str, dict[str, Any]] = {}
    for f in source_files(context):
        by_sha = {c.sha: c for c, _touch in history.touches_by_file.get(f.id, []) if not c.is_merge}
        commits = [c for c in by_sha.values() if c.committed_at > since]
        if len(commits) < min_commits:
            continue
        per_author = Counter(c.email for c in commits).most_common()
        email, count = per_author[0]
        if count / len(commits) < min_share:
            continue
        names = {c.email: c.author for c in commits}
        other_email, other_count = per_author[1] if len(per_author) > 1 else ("", 0)
        found[f.path] = {
            "author": names[email],
            "author_email": email,
            "author_commits": count,
            "commits_window": len(commits),
            "share": round(count / len(commits), 3),
            "other_authors": len(per_author) - 1,
            "top_other_author": names.get(other_email, ""),
            "top_other_commits": other_count,
            "last_change": date(max(c.committed_at for c in commits)),
            "window_days": window,
        }
    paths = sorted(found)
    ranks = percentile_ranks({i: float(found[path]["author_commits"]) for i, path in enumerate(paths)})
    return [
        Pattern(
            kind=KIND,
            plugin=context.plugin or PLUGIN,
            subjects=[path],
            score=round(ranks[i], 4),
            confidence=round(saturate(found[path]["commits_window"], min_commits), 4),
            evidence=found[path],
            summary=(
                f"{found[path]['author']} made {found[path]['author_commits']} of its "
                f"{found[path]['commits_window']} commits in the last {window} days"
            ),
        )
        for i, path in enumerate(paths)
    ]


def _action(path: str, evidence: dict[str, Any]) -> str:
    author = evidence.get("author", "its main author")
    other = evidence.get("top_other_author")
    if other:
        return (
            f"Ask {other}, who made {evidence.get('top_other_commits')} of the recent commits, to review "
            f"the next change to {path}, so that {author} is not the only one who knows its latest changes"
        )
    return (
        f"Ask someone other than {author} to review the next change to {path}: "
        f"nobody else changed it in the last {evidence.get('window_days')} days"
    )


@hookimpl
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:
    plugin = context.plugin or PLUGIN
    scope = set(context.change.paths) if context.change is not None else None
    findings = []
    for p in patterns:
        if p.kind != KIND or p.plugin != plugin or not p.subjects:
            continue
        path = p.subjects[0]
        if not context.concerns(path) or (scope is not None and path not in scope):
            continue
        evidence = p.evidence
        findings.append(
            Finding(
                code=CODE,
                level=Level.PROACTIVE,
                severity=Severity.WARNING if not evidence.get("other_authors") else Severity.INFO,
                location=Location(path),
                reason=f"{path}: {p.summary}, the last on {evidence.get('last_change')}",
                action=_action(path, evidence),
                source=plugin,
                evidence={**evidence, "pattern": p.key, "confidence": p.confidence},
                score=round(p.score * p.confidence, 4),
            )
        )
    return findings
'''

_TEST = '''\
"""Tests of the plugin ``$plugin`` on real git repositories built here.

The recipe of empathy's docs/plugins.md ("Testing a plugin"): open a workspace,
``ws.register`` the plugin (which also merges its ``settings_defaults``), ingest,
then mine and ask for findings through the workspace.
"""

from __future__ import annotations

import os
from pathlib import Path

import git
import pytest
from empathy.core.workspace import Workspace, open_workspace

import $module

PLUGIN = "$plugin"
ALICE = git.Actor("Alice", "alice@example.com")
BOB = git.Actor("Bob", "bob@example.com")
START = 1_700_000_000  # fixed commit times; the tests analyse as of the newest commit (as_of below)
#: One commit a day: core.py by Alice 5 times then Bob once, shared.py by both 3 times, rare.py twice.
TEAM = [("core.py", ALICE)] * 5 + [("core.py", BOB)] + [("shared.py", ALICE), ("shared.py", BOB)] * 3
TEAM += [("rare.py", ALICE)] * 2


@pytest.fixture(autouse=True)
def _no_empathy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from the environment (EMPATHY_LOAD_PLUGINS ...) do not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("EMPATHY_"):
            monkeypatch.delenv(name)


def build_repo(path: Path, plan: list[tuple[str, git.Actor]]) -> Path:
    """A git repository with one commit a day, changing ``plan[i][0]`` as ``plan[i][1]``."""
    repo = git.Repo.init(path)
    for day, (name, who) in enumerate(plan, start=1):
        (path / name).write_text(f"value = {day}\\n", encoding="utf-8")
        repo.index.add([name])
        when = f"{START + day * 86_400} +0000"
        repo.index.commit(f"change {name}", author=who, committer=who, author_date=when, commit_date=when)
    return path


def workspace(repo_path: Path, tmp_path: Path) -> Workspace:
    # as of the newest commit, not today: the history above is dated 2023 and the windows count back from "now"
    ws = open_workspace(repo_path, {"database_url": f"sqlite:///{tmp_path}/s.db", "as_of": "last-commit"})
    ws.register($module, PLUGIN)
    ws.ingest()
    return ws


def test_mines_the_file_one_author_changes(tmp_path: Path) -> None:
    ws = workspace(build_repo(tmp_path / "repo", TEAM), tmp_path)
    report = ws.mine(only=[PLUGIN])
    assert report.errors == {}
    # shared.py is split 3/3 and rare.py has too few commits: only core.py (Alice 5 of 6)
    assert [p.subjects for p in report.patterns] == [["core.py"]]
    evidence = report.patterns[0].evidence
    assert (evidence["author"], evidence["author_commits"], evidence["commits_window"]) == ("Alice", 5, 6)
    assert (evidence["top_other_author"], evidence["top_other_commits"]) == ("Bob", 1)


def test_finding_names_who_else_could_review(tmp_path: Path) -> None:
    ws = workspace(build_repo(tmp_path / "repo", TEAM), tmp_path)
    assert ws.mine(only=[PLUGIN]).errors == {}
    report = ws.findings(only=[PLUGIN])
    assert report.errors == {}
    [finding] = report.findings
    assert finding.location.path == "core.py"
    assert finding.reason.startswith("core.py: Alice made 5 of its 6 commits")
    assert finding.action.startswith("Ask Bob, who made 1 of the recent commits, to review the next change to core.py")
    assert finding.source == PLUGIN


def test_thresholds_come_from_the_settings(tmp_path: Path) -> None:
    repo_path = build_repo(tmp_path / "repo", TEAM)
    (repo_path / ".empathy.toml").write_text("[plugins.$plugin]\\nmin_commits = 7\\n", encoding="utf-8")
    ws = workspace(repo_path, tmp_path)
    assert ws.settings.plugin(PLUGIN)["min_commits"] == 7
    report = ws.mine(only=[PLUGIN])
    assert report.errors == {}
    assert report.patterns == []  # core.py has 6 recent commits, fewer than 7


def test_a_one_person_repository_has_no_pattern(tmp_path: Path) -> None:
    ws = workspace(build_repo(tmp_path / "repo", [("core.py", ALICE)] * 7), tmp_path)
    report = ws.mine(only=[PLUGIN])
    assert report.errors == {}
    assert report.patterns == []
'''
