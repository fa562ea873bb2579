"""Agents through the workspace and the CLI: registration by plugins, last runs, partial answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from empathy.cli.app import app
from empathy.core.agents.orchestrator import Request
from empathy.core.hookspecs import hookimpl
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import lines, workspace


class Raising:
    name = "raising"
    requires: tuple[str, ...] = ("findings",)

    def run(self, request: Request, inputs: Mapping[str, Any]) -> None:
        raise RuntimeError(f"saw {len(inputs['findings'])} findings and gave up")


class Plugin:
    @hookimpl
    def register_agents(self) -> list[Any]:
        return [Raising()]


def _repo(repo: RepoBuilder) -> None:
    for k in range(8):
        repo.commit(f"fix bug {k}", {"core.py": lines(30 + k, f"v{k}")})


def test_orchestrated_answer_names_the_failed_agent(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path)
    ws.mine()
    ws.host.register(Plugin(), "raising-plugin")
    answer = ws.orchestrate(Request(kind="file", paths=["core.py"]))
    assert answer.partial and answer.failed == ["raising"]
    assert "gave up" in (answer.outcomes["raising"].error or "")
    findings = answer.value("findings")
    assert findings and all(f.location.path == "core.py" for f in findings)
    runs = {r.plugin: r for r in ws.store.plugin_runs() if r.hook == "agent"}
    assert runs["findings"].error is None and runs["raising"].error.startswith("error: RuntimeError")


def test_agents_and_brief_commands(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    env = {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["agents", "--json", str(repo.path)], env=env).stdout)
    assert {"findings"} <= {a["name"] for a in listed}
    assert all(a["last_run"] is None for a in listed)
    result = runner.invoke(app, ["brief", "core.py", "-C", str(repo.path), "--json"], env=env)
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["agents"]["findings"]["status"] == "ok"
    assert data["findings"] and data["findings"][0]["location"]["path"] == "core.py"
    listed = json.loads(runner.invoke(app, ["agents", "--json", str(repo.path)], env=env).stdout)
    assert next(a for a in listed if a["name"] == "findings")["last_run"] is not None
