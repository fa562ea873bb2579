"""The composite action's own shell steps, run for real with bash on local repositories.

GitHub's runner is not available here, so each `run:` script of action.yml is
executed as the runner would: bash, the step's `env:` mapping filled in by
hand, the repository as working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _step(name: str) -> dict[str, str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(s for s in action["runs"]["steps"] if s.get("name", "").startswith(name))


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=full, capture_output=True, text=True)


def test_a_shallow_clone_is_deepened_or_refused(history_repo: Path, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{history_repo}", str(shallow)], check=True)
    script = _step("Make sure the whole history")["run"]
    refused = _bash(script, shallow, {"GATE_DEEPEN": "false"})
    assert refused.returncode == 8
    assert "::error title=empathy gate::" in refused.stdout and "fetch-depth: 0" in refused.stdout
    deepened = _bash(script, shallow, {"GATE_DEEPEN": "true"})
    assert deepened.returncode == 0, deepened.stderr
    assert "::notice" in deepened.stdout
    is_shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=shallow, capture_output=True, text=True
    ).stdout.strip()
    assert is_shallow == "false"
    # A full clone passes straight through.
    assert _bash(script, history_repo, {"GATE_DEEPEN": "false"}).returncode == 0


def test_the_decide_step_writes_outputs_and_records(
    history_repo: Path, db_url: Callable[[str], str], tmp_path: Path
) -> None:
    script = _step("Decide")["run"]
    output, summary = tmp_path / "output", tmp_path / "summary"
    state = tmp_path / "state" / "gate.json"
    env = {
        "GATE_VENV": str(Path(sys.executable).parent.parent),
        "GATE_BASE": "main",
        "GATE_HEAD": "feature",
        "GATE_REPORT_DIR": str(tmp_path / "reports"),
        "GATE_SERVICE": "api",
        "GATE_ENVIRONMENT": "production",
        "GATE_RECORD": "",
        "EMPATHY_GATE_FAIL_ON": "block",
        "EMPATHY_GATE_STATE_FILE": "",  # empty inputs are unset by the script
        "EMPATHY_DATABASE_URL": db_url("ci"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    decided = _bash(script, history_repo, env)
    assert decided.returncode == 0, decided.stdout + decided.stderr
    text = output.read_text()
    assert "decision<<ghadelimiter_" in text and "report-path<<" in text
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert report["subject"]["service"] == "api" and report["subject"]["environment"] == "production"
    assert (tmp_path / "reports" / "report.sarif").is_file() and "### Track record" in summary.read_text()
    # The same step records an outcome when record-outcome is set, here into a state file.
    recorded = _bash(script, history_repo, {**env, "GATE_RECORD": "rollback", "EMPATHY_GATE_STATE_FILE": str(state)})
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    outcomes = json.loads(state.read_text())["outcomes"]
    assert [(o["subject"], o["outcome"]) for o in outcomes] == [("api", "rollback")]
    # fail-on warn with thresholds that make this change a warn: exit 10 fails the step.
    (history_repo / ".empathy.toml").write_text("[plugins.gate]\nwarn_threshold = 0.01\nblock_threshold = 1.0\n")
    failed = _bash(script, history_repo, {**env, "EMPATHY_GATE_FAIL_ON": "warn"})
    assert failed.returncode == 10 and "::warning" in failed.stdout
