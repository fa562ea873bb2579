"""Opening repositories: identity, shallowness, worktrees, and the errors a user sees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from empathy.core import errors
from empathy.core.errors import EmptyRepositoryError, NotARepositoryError
from empathy.core.repo import SHALLOW_HINT, open_repository
from tests.gitrepo import RepoBuilder


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_open_reports_head_root_and_git_dir(repo: RepoBuilder) -> None:
    repo.commit("one", {"a.py": "a\n", "pkg/b.py": "b\n"})
    head = repo.commit("two", {"a.py": "a2\n"})
    opened = open_repository(repo.path / "pkg")  # from a subdirectory
    assert opened.head == head == git(repo.path, "rev-parse", "HEAD")
    assert opened.root.resolve() == repo.path.resolve()
    assert opened.git_dir == (repo.path / ".git").resolve()
    assert opened.shallow is False
    assert opened.key == str(opened.git_dir)  # no remote: the path identifies it
    assert opened.git.rev_parse("HEAD") == head


def test_repo_id_setting_wins(repo: RepoBuilder) -> None:
    repo.commit("one", {"a.py": "a\n"})
    repo.git_repo.git.remote("add", "origin", "git@github.com:acme/tool.git")
    assert open_repository(repo.path, repo_id="team/tool").key == "team/tool"


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:acme/tool.git",
        "https://github.com/acme/tool",
        "ssh://git@github.com/acme/tool.git",
        "https://user:s3cret-token@github.com/acme/tool.git",
        "https://github.com/acme/tool.git/",
        "ssh://git@github.com:22/acme/tool.git",
    ],
)
def test_remote_urls_normalise_to_one_key(repo: RepoBuilder, url: str) -> None:
    repo.commit("one", {"a.py": "a\n"})
    repo.git_repo.git.remote("add", "origin", url)
    key = open_repository(repo.path).key
    assert key == "github.com/acme/tool"
    assert "s3cret" not in key


def test_worktrees_share_the_common_git_dir(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("one", {"a.py": "a\n"})
    repo.branch("feature")
    feature_head = repo.commit("two", {"a.py": "a2\n"})
    repo.checkout("main")
    wt = tmp_path / "wt"
    git(repo.path, "worktree", "add", "-q", str(wt), "feature")
    main_info, wt_info = open_repository(repo.path), open_repository(wt)
    assert wt_info.git_dir == main_info.git_dir == (repo.path / ".git").resolve()
    assert wt_info.key == main_info.key
    assert wt_info.head == feature_head != main_info.head
    assert wt_info.root.resolve() == wt.resolve()


def test_bare_repository_root_is_the_git_dir(repo: RepoBuilder, tmp_path: Path) -> None:
    head = repo.commit("one", {"a.py": "a\n"})
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    opened = open_repository(bare)
    assert opened.head == head
    assert opened.root == opened.git_dir == bare.resolve()


def test_shallow_clone_is_detected(repo: RepoBuilder, tmp_path: Path) -> None:
    for i in range(6):
        repo.commit(f"c{i}", {"a.py": f"{i}\n"})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone)], check=True)
    opened = open_repository(clone)
    assert opened.shallow is True
    assert opened.head == repo.head()
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    assert "fetch-depth: 0" in SHALLOW_HINT and "--unshallow" in SHALLOW_HINT


def test_nonexistent_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "deeper"
    with pytest.raises(NotARepositoryError) as exc:
        open_repository(missing)
    assert str(missing) in str(exc.value)
    assert exc.value.hint
    assert exc.value.exit_code != 0


def test_directory_outside_any_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    probe = subprocess.run(["git", "-C", str(plain), "rev-parse"], capture_output=True)
    assert probe.returncode != 0, "precondition: the temp dir is not inside a repository"
    with pytest.raises(NotARepositoryError) as exc:
        open_repository(plain)
    assert "not inside a git repository" in str(exc.value)
    assert "empathy analyze" in exc.value.hint
    assert exc.value.exit_code == NotARepositoryError.exit_code != 0


def test_empty_repository(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    subprocess.run(["git", "init", "-q", str(empty)], check=True)
    with pytest.raises(EmptyRepositoryError) as exc:
        open_repository(empty)
    assert "no commits" in str(exc.value)
    assert exc.value.hint
    assert exc.value.exit_code != 0


def test_exit_codes_are_distinct_and_nonzero() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    codes = [cls.exit_code for cls in classes if cls is not errors.EmpathyError]
    assert all(code != 0 for code in codes)
    assert len(set(codes)) == len(codes)
    err = errors.StoreError("boom", "do x")
    assert (str(err), err.message, err.hint) == ("boom", "boom", "do x")
