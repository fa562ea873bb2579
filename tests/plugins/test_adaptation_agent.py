"""The adaptation agent through the orchestrator and the CLI: arms, ordering, deploy-driven thresholds."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from empathy.cli.app import app
from empathy.core.agents.adaptation import Experiment, assign_arm, unit_key
from empathy.core.agents.orchestrator import Request
from empathy.core.model import Finding, Level, Location, Severity
from empathy.plugins.agents.adaptation import STRATEGIES, AdaptationAgent
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import lines, workspace

DAY = 86_400


def _finding(code: str, severity: Severity, probability: float | None, level: Level = Level.PROACTIVE) -> Finding:
    return Finding(
        code=code,
        level=level,
        severity=severity,
        location=Location(path=f"{code}.py"),
        reason="r",
        action="a",
        source="t",
        probability=probability,
        horizon_days=None if probability is None else 90,
    )


def test_strategies_order_differently() -> None:
    low_error = _finding("e", Severity.ERROR, 0.2, Level.ANTICIPATORY)
    high_info = _finding("i", Severity.INFO, 0.9, Level.ANTICIPATORY)
    warning = _finding("w", Severity.WARNING, None)
    ranked = [high_info, warning, low_error]  # the insights agent's order
    assert STRATEGIES["value"](ranked) == ranked
    assert [f.code for f in STRATEGIES["severity"](ranked)] == ["e", "w", "i"]
    assert [f.code for f in STRATEGIES["recent"](ranked)] == ["i", "e", "w"]


def _when_arm(arm: str) -> float:
    exp = Experiment("ranking", ("value", "severity"))
    return next(
        float(1_700_000_000 + d * DAY)
        for d in range(100)
        if assign_arm(exp, unit_key(exp, "dev@example.com", 1_700_000_000 + d * DAY)) == arm
    )


def test_agent_uses_the_arm_of_the_user_and_day(repo: RepoBuilder, tmp_path: Path) -> None:
    for k in range(8):
        repo.commit(f"fix bug {k}", {"core.py": lines(30 + k, f"v{k}"), "b.py": lines(5 + k, "b")})
    ws = workspace(repo, tmp_path)
    ws.mine()
    for arm in ("value", "severity"):
        request = Request(kind="repo", context={"user": "dev@example.com", "now": _when_arm(arm)})
        answer = ws.orchestrate(request)
        assert answer.outcomes["adaptation"].status == "ok", answer.outcomes["adaptation"].error
        adapted = answer.value("adaptation")
        insight = answer.value("insights")
        assert adapted.arm == arm and adapted.experiment == "ranking"
        assert adapted.findings == STRATEGIES[arm](insight.findings)
        assert sorted(f.fingerprint for f in adapted.findings) == sorted(f.fingerprint for f in insight.findings)


def test_agent_applies_failed_deploys_to_thresholds(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("init", {"core.py": lines(10, "x")})
    ws = workspace(repo, tmp_path)
    ledger = ws.trust()
    ledger.record("repo", ledger.repo_subject, "deploy_failure", detail={"rules": ["hotspot"]})
    agent = AdaptationAgent()
    first = agent.run(Request(kind="repo", context={"workspace": ws, "user": "u"}), {"insights": None})
    assert [c["rule"] for c in first.threshold_changes] == ["hotspot"]
    assert first.threshold_changes[0]["new"] < first.threshold_changes[0]["old"]
    again = agent.run(Request(kind="repo", context={"workspace": ws, "user": "u"}), {"insights": None})
    assert again.threshold_changes == []


def test_feedback_is_attributed_to_an_arm_and_ab_reports_it(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("init", {"core.py": lines(10, "x")})
    env = {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    runner = CliRunner()
    given = runner.invoke(app, ["feedback", "hotspot", "--useful", "--json", str(repo.path)], env=env)
    assert given.exit_code == 0, given.output
    data = json.loads(given.stdout)
    assert data["experiment"] == "ranking" and data["arm"] in ("value", "severity")
    report = runner.invoke(app, ["ab", "--json", str(repo.path)], env=env)
    assert report.exit_code == 0, report.output
    arms = {a["arm"]: a for a in json.loads(report.stdout)["arms"]}
    assert arms[data["arm"]] == {"arm": data["arm"], "n": 1, "useful": 1, "rate": 1.0}
    assert json.loads(report.stdout)["winner"] is None


def test_ab_command_explains_a_disabled_or_broken_experiment(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("init", {"core.py": lines(10, "x")})
    env = {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    runner = CliRunner()
    off = runner.invoke(app, ["ab", str(repo.path)], env={**env, "EMPATHY_PLUGIN_ADAPTATION_ENABLED": "false"})
    assert off.exit_code == 4 and "disabled" in off.output
    repo.write("pyproject.toml", '[tool.empathy.plugins.adaptation]\narms = ["value", "coinflip"]\n')
    bad = runner.invoke(app, ["ab", str(repo.path)], env=env)
    assert bad.exit_code == 4 and "coinflip" in bad.output and "Traceback" not in bad.output
