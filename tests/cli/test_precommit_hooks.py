"""The pre-commit hooks (`.pre-commit-hooks.yaml`) and `empathy risk --staged`, the change they ask about.

The hooks run in a real repository with a real staged change: first their
``entry`` as pre-commit would start it (a process in the repository, the
default store under ``.git``), then, marked slow, through ``pre-commit
try-repo`` itself, which installs this checkout into a fresh environment.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from empathy.core.changes import staged_change
from empathy.core.repo import open_repository
from tests.cli.helpers import invoke
from tests.envs import child_env
from tests.gitrepo import RepoBuilder, build_history
from tests.plugins.helpers import build_template, clone

ROOT = Path(__file__).parents[2]
HOOKS = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough labelled history (B-SZZ links from the fixes) for the change model to score, not fall back."""
    return build_template(tmp_path_factory, build_history)


@pytest.fixture
def staged(template: Path, tmp_path: Path) -> RepoBuilder:
    """core.py changed and staged; util.py changed but not staged; an untracked file."""
    repo = clone(template, tmp_path / "repo")
    (repo.path / "core.py").write_text((repo.path / "core.py").read_text() + "extra = 1\nmore = 2\n")
    repo.git_repo.git.add("core.py")
    repo.write("util.py", "u = 'not staged'\n")
    repo.write("scratch.py", "untracked = True\n")
    return repo


def risk(repo: RepoBuilder, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = invoke("risk", *args, "-C", repo.path, env={"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    return result.exit_code, result.stdout, result.stderr


def test_staged_change_is_the_index_against_head(repo: RepoBuilder) -> None:
    repo.commit("one", {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    repo.git_repo.git.mv("a.py", "moved a.py")
    repo.write("b.py", "b = 2\n")  # not staged
    repo.write("c.py", "c = 1\nc = 2\n")
    repo.git_repo.git.add("c.py")
    change = staged_change(open_repository(repo.path))
    assert change.paths == ["c.py", "moved a.py"]  # the rename under its new name; b.py's edit is not staged
    assert change.lines == {"c.py": (2, 0), "moved a.py": (0, 0)}
    assert change.base == repo.head() and change.head == "INDEX"
    assert change.author_email == "test@example.com"


def test_risk_staged_scores_only_the_staged_change(staged: RepoBuilder, tmp_path: Path) -> None:
    code, out, _ = risk(staged, tmp_path, "--staged", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["files"] == ["core.py"] and data["added"] == 2 and data["head"] == "INDEX"
    assert data["fallback"] is None and 0.0 <= data["percentile"] <= 1.0
    missing = [s for s in data["signals"] if s["name"] == "partner-missing"]
    assert missing and missing[0]["paths"][0] == "util.py"  # its edit is not staged: the commit leaves it out
    code, out, _ = risk(staged, tmp_path, "--diff", "--json")
    worktree = json.loads(out)
    assert worktree["files"] == ["core.py", "scratch.py", "util.py"]  # the work tree, for comparison
    assert not [s for s in worktree["signals"] if s["name"] == "partner-missing"]
    assert risk(staged, tmp_path, "--staged", "HEAD")[0] == 4
    assert risk(staged, tmp_path, "--staged", "--diff")[0] == 4


def test_risk_is_advisory_unless_asked_to_fail(staged: RepoBuilder, tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads(risk(staged, tmp_path, "--staged", "--json")[1])
    assert risk(staged, tmp_path, "--staged")[0] == 0
    percentile = data["percentile"]
    assert 0.0 < percentile < 1.0
    code, _, err = risk(staged, tmp_path, "--staged", "--fail-above", f"{percentile - 0.01:.4f}")
    assert code == 13 and f"riskier than {percentile:.0%} of past changes" in err
    assert risk(staged, tmp_path, "--staged", "--fail-above", f"{min(1.0, percentile + 0.01):.4f}")[0] == 0
    severities = {f["severity"] for f in data["findings"]}
    assert "warning" in severities and "error" not in severities  # core.py is a hotspot that keeps needing fixes
    code, _, err = risk(staged, tmp_path, "--staged", "--fail-on", "warning")
    assert code == 13 and "at warning or above (--fail-on warning)" in err
    assert risk(staged, tmp_path, "--staged", "--fail-on", "error")[0] == 0
    assert risk(staged, tmp_path, "--staged", "--fail-above", "1.5")[0] == 4


def _entry(hook_id: str, *args: str) -> list[str]:
    hook = HOOKS[hook_id]
    assert hook["pass_filenames"] is False and hook["language"] == "python" and hook["stages"] == ["pre-commit"]
    command = shlex.split(hook["entry"])
    assert command[0] == "empathy"
    return [sys.executable, "-m", "empathy", *command[1:], *args]


def test_the_risk_hook_entry_runs_on_a_staged_change(staged: RepoBuilder) -> None:
    """The hook's command in the repository, as pre-commit starts it: the default store, no options of ours."""
    run = subprocess.run(_entry("empathy-risk"), cwd=staged.path, env=child_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    # util.py's edit is not staged, so the commit leaves its usual partner out
    assert "change risk:" in text and "util.py is untouched and probably needs changing with core.py" in text
    assert (staged.path / ".git" / "empathy" / "store.db").exists()
    # the documented opt-in blocks the commit
    blocked = subprocess.run(
        _entry("empathy-risk", "--fail-on", "warning"), cwd=staged.path, env=child_env(), capture_output=True
    )
    assert blocked.returncode == 13
    partners = subprocess.run(_entry("empathy-partners"), cwd=staged.path, env=child_env(), capture_output=True)
    assert partners.returncode == 0


@pytest.mark.slow
def test_pre_commit_try_repo_runs_this_repositorys_hooks(staged: RepoBuilder, tmp_path: Path) -> None:
    """`pre-commit try-repo` installs this checkout into its own environment and runs both hooks (about 40 s)."""
    env = child_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--verbose"],
        cwd=staged.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "empathy risk (how risky the staged change is, from the history)" in log
    assert "empathy partners (files that usually change with the staged ones)" in log
    assert log.count("Passed") == 2 and "change risk:" in log and "core.py" in log
    # pre-commit stashed the unstaged edit while the hooks ran and put it back
    assert (staged.path / "util.py").read_text() == "u = 'not staged'\n"
