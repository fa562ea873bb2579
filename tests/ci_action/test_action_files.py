"""action.yml and the example workflows, checked offline as CI linters would check them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is part of the test extra (pip install -e '.[test]')"
    return found


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _our_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps that use this action (``uses: ./`` in the examples)."""
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).rstrip("/") in {".", "./"}
    ]


def test_there_are_examples_for_both_ways_to_keep_state() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"gate-team-server.yml", "gate-state-file.yml"} <= names
    server = [s for s in _our_steps(_load(ROOT / "examples/workflows/gate-team-server.yml"))]
    assert all("database-url" in s["with"] for s in server)
    state = [s for s in _our_steps(_load(ROOT / "examples/workflows/gate-state-file.yml"))]
    assert all("state-file" in s["with"] for s in state)
    assert any("record-outcome" in s["with"] for s in server) and any("record-outcome" in s["with"] for s in state)


def test_action_schema() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_schema() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, EXAMPLES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_action(tmp_path: Path) -> None:
    broken = tmp_path / "action.yml"
    broken.write_text(ACTION.read_text().replace("using: composite", "using: compsite"))
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(broken)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1


def test_zizmor_offline_finds_nothing() -> None:
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--config", str(ROOT / "zizmor.yml"), str(ACTION), *map(str, EXAMPLES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_would_catch_a_template_injection(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    text = (ROOT / "examples/workflows/gate-state-file.yml").read_text()
    bad.write_text(text.replace("run: ./scripts/deploy.sh", 'run: echo "${{ github.event.head_commit.message }}"'))
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--config", str(ROOT / "zizmor.yml"), str(bad)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "template-injection" in result.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_with_key_is_an_input_of_the_action(example: Path) -> None:
    inputs = set(_load(ACTION)["inputs"])
    steps = _our_steps(_load(example))
    assert steps, f"{example.name} does not use the action"
    for step in steps:
        unknown = set(step.get("with", {})) - inputs
        assert not unknown, f"{example.name}: {sorted(unknown)} are not inputs of action.yml"


def test_the_action_uses_only_declared_inputs_and_written_outputs() -> None:
    action = _load(ACTION)
    text = ACTION.read_text()
    used = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", text))
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    assert set(action["inputs"]) <= used, "an input nothing reads"
    # Every output maps to a value the CLI writes to GITHUB_OUTPUT.
    gate_source = (ROOT / "empathy" / "cli" / "gate.py").read_text()
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.gate.outputs.{name} }}}}"
        assert f'"{name}":' in gate_source, f"the CLI never writes output {name}"


def test_the_action_runs_in_its_own_environment_with_pinned_actions() -> None:
    action = _load(ACTION)
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    for step in steps:
        if "uses" in step:
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach scripts only through env"
    setup = next(s for s in steps if "uses" in s)
    assert setup["with"]["update-environment"] is False
    assert any("venv" in s.get("run", "") for s in steps)
    assert any("--unshallow" in s.get("run", "") and "fetch-depth: 0" in s.get("run", "") for s in steps)
