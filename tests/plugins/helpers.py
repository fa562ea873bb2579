"""Shared helpers for the miner tests: open a workspace on a built repo and mine it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from empathy.core.model import Pattern
from empathy.core.workspace import Workspace, open_workspace
from tests.gitrepo import EPOCH, RepoBuilder

DAY = 86_400


def workspace(repo: RepoBuilder, tmp_path: Path, toml: str = "", **overrides: Any) -> Workspace:
    """Write ``.empathy.toml`` (untracked, so not part of the history), open and ingest."""
    if toml:
        (repo.path / ".empathy.toml").write_text(toml, encoding="utf-8")
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 'store.db'}", **overrides})
    ws.ingest()
    return ws


def mine(repo: RepoBuilder, tmp_path: Path, plugin: str, toml: str = "", **overrides: Any) -> list[Pattern]:
    """Run one built-in miner and return its patterns (failing on a plugin error)."""
    ws = workspace(repo, tmp_path, toml, **overrides)
    report = ws.mine(only=[plugin])
    assert report.errors == {}, report.errors
    assert [r.plugin for r in report.results] == [plugin]
    return report.patterns


def of_kind(patterns: list[Pattern], kind: str) -> dict[tuple[str, ...], Pattern]:
    """Patterns of ``kind`` keyed by their subjects (fails on duplicates)."""
    out: dict[tuple[str, ...], Pattern] = {}
    for p in patterns:
        if p.kind == kind:
            key = tuple(p.subjects)
            assert key not in out, f"duplicate {kind} pattern for {key}"
            out[key] = p
    return out


def day_ts(day: int) -> int:
    """The commit time RepoBuilder gives ``day``."""
    return EPOCH + day * DAY


def lines(n: int, tag: str = "v") -> str:
    """``n`` distinct non-blank lines."""
    return "".join(f"{tag}{i} = {i}\n" for i in range(n))


def clone(template: Path, dest: Path) -> RepoBuilder:
    """A private copy of a repository built once per module (building costs a git process per commit)."""
    shutil.copytree(template, dest, symlinks=True)
    return RepoBuilder(dest)


def build_template(factory: pytest.TempPathFactory, build: Callable[[RepoBuilder], object]) -> Path:
    builder = RepoBuilder(factory.mktemp("template") / "repo")
    build(builder)
    return builder.path
