"""Levels 1 (reactive) and 2 (guided) through the host, and answers that change settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy.core.errors import ConfigError
from empathy.core.explain import UnknownFileError, explain_file
from empathy.core.guided import save_answer
from empathy.core.workspace import open_workspace
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import lines, workspace


def _repo(repo: RepoBuilder) -> None:
    repo.commit("add parser", {"parser.py": lines(10)}, author=("Ann", "ann@x.org"))
    repo.rename("parser.py", "src/parser.py", "move to src", author=("Ann", "ann@x.org"))
    repo.commit("fix crash in parser", {"src/parser.py": lines(12)}, author=("Bob", "bob@x.org"))
    repo.commit("vendor big table", {"src/table.py": lines(800, "t")}, author=("Bob", "bob@x.org"))


def test_explain_follows_renames_and_counts_fixes(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path)
    info = explain_file(ws.store, ws.repo_id, ws.history(), "src/parser.py")
    assert info["previous_names"] == ["parser.py"]
    assert info["commits"] == 3 and info["fixes"] == 1
    assert [a["name"] for a in info["authors"]] == ["Ann", "Bob"]
    assert info["recent_fixes"][0]["subject"] == "fix crash in parser"
    assert explain_file(ws.store, ws.repo_id, ws.history(), "parser.py")["path"] == "src/parser.py"
    with pytest.raises(UnknownFileError):
        explain_file(ws.store, ws.repo_id, ws.history(), "nope.py")


def test_reactive_answers_only_when_asked(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path)
    everything = ws.findings()
    assert not [f for f in everything.findings if f.code == "history"]
    asked = ws.findings(paths=["src/parser.py"])
    (history,) = [f for f in asked.findings if f.code == "history"]
    assert history.level == 1 and "3 commits" in history.reason and "1 of them bug fixes" in history.reason


def test_generated_question_and_answer(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path)
    questions = [f for f in ws.findings(gated=False).findings if f.code == "question-generated"]
    assert [q.location.path for q in questions] == ["src/table.py"]
    assert questions[0].evidence["question"] == "generated:src/table.py"
    save_answer(ws.store, ws.repo_id, "generated:src/table.py", "yes")
    again = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 'store.db'}"})
    assert "src/table.py" in again.settings["exclude"]
    assert again.settings.sources["exclude"].startswith("answers")
    assert not [f for f in again.findings(gated=False).findings if f.code == "question-generated"]


def test_fix_pattern_question_when_nothing_matches(repo: RepoBuilder, tmp_path: Path) -> None:
    for k in range(12):
        repo.commit(f"PROJ-{k} adjust rounding", {"calc.py": f"r = {k}\n"})
    ws = workspace(repo, tmp_path, "[plugins.guided]\nmin_commits_for_fix_question = 10\n")
    (q,) = [f for f in ws.findings(gated=False).findings if f.code == "question-fix-pattern"]
    assert q.evidence["fix_share"] == 0.0
    save_answer(ws.store, ws.repo_id, "fix-pattern", r"PROJ-\d+")
    again = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 'store.db'}"})
    assert len(again.history().fix_indices) == 12
    assert not [f for f in again.findings(gated=False).findings if f.code == "question-fix-pattern"]


def test_bad_answers_are_refused(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path)
    with pytest.raises(ConfigError):
        save_answer(ws.store, ws.repo_id, "fix-pattern", "(unclosed")
    with pytest.raises(ConfigError):
        save_answer(ws.store, ws.repo_id, "generated:src/table.py", "maybe")
    with pytest.raises(ConfigError):
        save_answer(ws.store, ws.repo_id, "favourite-colour", "blue")
