"""Errors on stderr stay one line per message when stderr is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import RepoBuilder


def test_an_error_with_a_long_path_is_one_line_off_a_terminal(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / "empty repository"
    repo = RepoBuilder(deep)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run(
        [sys.executable, "-m", "empathy", "analyze", str(repo.path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    assert "has no commits yet" in error_lines[0]
    assert str(repo.path.name) in error_lines[0]
