"""`empathy risk`: a change's probability with its factors, plus the findings for the change."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from empathy.cli.app import app
from tests.gitrepo import RepoBuilder, build_history


def _invoke(*args: str, tmp_path: Path) -> tuple[int, str]:
    env = {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout


def test_risk_of_a_commit_as_json(repo: RepoBuilder, tmp_path: Path) -> None:
    build_history(repo)
    code, out = _invoke("risk", "HEAD", "--json", "-C", str(repo.path), tmp_path=tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert data["files"] == ["core.py", "util.py"]
    # no track record yet: the model's score is not a probability here, the percentile speaks
    assert data["probability"] is None and data["calibration"] is None
    assert 0.0 <= data["percentile"] <= 1.0 and 0.0 < data["base_rate"] < 1.0
    assert data["train_rows"] == 209  # 140 features + 70 fixes, the scored commit left out
    assert data["fallback"] is None
    assert {f["factor"] for f in data["factors"]} >= {"lines added (log)", "marked as a bug fix"}
    assert data["kamei"]["fix"] is False and data["kamei"]["la"] == 5 + 1  # x139_0..4 and util.py
    assert data["fixes_not_yet_linked"] == 0


def test_thin_history_falls_back_to_the_base_rate(repo: RepoBuilder, tmp_path: Path) -> None:
    build_history(repo, rounds=20)
    code, out = _invoke("risk", "HEAD", "--json", "-C", str(repo.path), tmp_path=tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert "only 29 earlier changes" in data["fallback"]
    assert data["probability"] is None and data["factors"] == []


def test_risk_of_the_working_tree_and_usage_errors(repo: RepoBuilder, tmp_path: Path) -> None:
    build_history(repo, rounds=20)
    repo.write("util.py", "u = 'changed'\n")
    code, out = _invoke("risk", "--diff", "--json", "-C", str(repo.path), tmp_path=tmp_path)
    assert code == 0, out
    assert json.loads(out)["files"] == ["util.py"]
    assert _invoke("risk", "-C", str(repo.path), tmp_path=tmp_path)[0] == 4  # neither REV nor --diff
    assert _invoke("risk", "HEAD", "--diff", "-C", str(repo.path), tmp_path=tmp_path)[0] == 4
    assert _invoke("risk", "no-such-rev", "-C", str(repo.path), tmp_path=tmp_path)[0] == 8


def test_probability_is_shown_only_where_the_record_says_it_is_calibrated(repo: RepoBuilder, tmp_path: Path) -> None:
    """`empathy eval` measures the change model's calibration here; only a good record lets p through."""
    from empathy.core.predict.records import save_record
    from empathy.core.workspace import open_workspace

    build_history(repo)
    ws = open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 's.db'}"})
    code, text = _invoke("risk", "HEAD", "-C", str(repo.path), tmp_path=tmp_path)
    assert code == 0 and "no probability" in text and "run `empathy eval` to measure it" in text
    assert "risk p=" not in text

    save_record(ws.store, ws.repo_id, "change", 365, ws.repo.head, {"cutoffs": 3, "ece": 0.031, "brier_skill": 0.08})
    data = json.loads(_invoke("risk", "HEAD", "--json", "-C", str(repo.path), tmp_path=tmp_path)[1])
    assert 0.0 < data["probability"] < 1.0
    assert data["calibration"] == {"ece": 0.031, "brier_skill": 0.08, "cutoffs": 3, "max_ece": 0.05}
    text = _invoke("risk", "HEAD", "-C", str(repo.path), tmp_path=tmp_path)[1]
    assert "risk p=" in text and "calibrated here: ECE 0.031 over 3 cutoffs" in " ".join(text.split())

    # a newer, worse record takes the probability away again
    save_record(ws.store, ws.repo_id, "change", 365, ws.repo.head, {"cutoffs": 3, "ece": 0.14, "brier_skill": 0.08})
    data = json.loads(_invoke("risk", "HEAD", "--json", "-C", str(repo.path), tmp_path=tmp_path)[1])
    assert data["probability"] is None and data["calibration"]["ece"] == 0.14
    text = " ".join(_invoke("risk", "HEAD", "-C", str(repo.path), tmp_path=tmp_path)[1].split())
    assert "measured ECE 0.14 over 3 cutoffs, above 0.05" in text
