"""A real editor: headless Neovim attached to ``empathy lsp`` shows the diagnostics in vim.diagnostic."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.envs import child_env

NVIM = shutil.which("nvim")


@pytest.mark.parametrize("folder", ["repo", "my project+x #1 ü"])
def test_neovim_shows_empathy_diagnostics(template: Path, tmp_path: Path, folder: str) -> None:
    """Also in a folder whose name Neovim percent-encodes in its URIs (a space, "+", "#", non-ASCII)."""
    # Never skipped: .ci/run installs Debian's neovim; locally, `apt-get install neovim`.
    assert NVIM is not None, "nvim is not installed: `apt-get install neovim` (.ci/run does it)"
    project = tmp_path / folder
    shutil.copytree(template, project, symlinks=True)
    out = tmp_path / "diagnostics.json"
    env = child_env()
    env.update(
        EMPATHY_TEST_FILE=str(project / "core.py"),
        EMPATHY_TEST_ROOT=str(project),
        EMPATHY_TEST_PYTHON=sys.executable,
        EMPATHY_TEST_OUT=str(out),
        HOME=str(tmp_path),  # no user configuration
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    script = Path(__file__).with_name("nvim_attach.lua")
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.exists(), f"nvim wrote nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert result["ok"] is True
    found = {(d["code"], d["source"], d["lnum"]) for d in result["diagnostics"]}
    assert found == {("hotspot", "proactive", 0), ("knowledge-island", "proactive", 0)}
    assert any("12 commits" in d["message"] for d in result["diagnostics"])
