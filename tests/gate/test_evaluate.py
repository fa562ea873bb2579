"""evaluate_gate on real repositories: every verdict path, the error budget, determinism, the event."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from empathy.core.changes import BadRevisionError
from empathy.core.errors import EmptyRepositoryError
from empathy.core.hookspecs import hookimpl
from empathy.core.host import default_host
from empathy.core.model import Event
from empathy.core.workspace import open_workspace
from empathy.gate.evaluate import EVENT_TYPE, decide_gate, evaluate_gate, record_outcome, report_json
from tests.gitrepo import RepoBuilder, build_history


def _gate(path: Path, url: str, **over: Any) -> Any:
    return evaluate_gate(path, "main", "feature", {"database_url": url, **over})


def test_the_report_explains_the_decision(history_repo: Path, db_url: Callable[[str], str]) -> None:
    result = _gate(history_repo, db_url("s"))
    report = result.report
    assert result.decision in {"pass", "warn", "block"}
    assert report["decision"]["decision"] == result.decision and report["decision"]["risk"] == result.risk
    subject = report["subject"]
    assert subject["commits"] == 2 and subject["files"] == 2 and (subject["added"], subject["deleted"]) == (4, 1)
    model = report["risk"]["model"]
    assert model["status"] == "scored" and 0.0 <= model["percentile"] <= 1.0
    assert model["train_rows"] >= 200
    names = {s["name"] for s in report["risk"]["signals"]}
    assert {"hotspot-touched", "fix-prone-touched"} <= names  # core.py is both
    annotated = {(a["file"], a["level"]) for a in report["annotations"]}
    assert ("core.py", "notice" if result.decision == "pass" else "warning") in annotated or result.decision == "block"
    # the risk is the documented noisy-OR of the percentile and the signals' contributions
    assert result.risk == pytest.approx(
        model["percentile"] + sum(s["contribution"] for s in report["risk"]["signals"]), abs=1e-3
    )
    assert report["reasons"][0].startswith("its 2 commits carry an expected")
    assert f"more than {model['percentile']:.0%} of the last {model['past_deploys']} deploys" in report["reasons"][0]
    assert model["past_deploys"] >= 5 and model["compared_with"].startswith("windows of 2 consecutive commits")
    assert report["track_record"]["source"] == "none" and report["track_record"]["used"] is None
    assert "no track record" in " ".join(report["data_quality"]["notes"])
    assert "**" + result.decision.upper() + "**" in result.summary and len(result.summary) <= 1024


@pytest.mark.parametrize("verdict", ["pass", "warn", "block"])
def test_every_verdict_from_the_thresholds(history_repo: Path, db_url: Callable[[str], str], verdict: str) -> None:
    risk = _gate(history_repo, db_url("probe")).risk
    assert 0.05 < risk < 0.99
    thresholds = {
        "pass": {"warn_threshold": min(1.0, risk + 0.01), "block_threshold": 1.0},
        "warn": {"warn_threshold": risk - 0.01, "block_threshold": min(1.0, risk + 0.01)},
        "block": {"warn_threshold": risk - 0.02, "block_threshold": risk - 0.01},
    }[verdict]
    result = _gate(history_repo, db_url(verdict), **thresholds)
    assert result.decision == verdict and result.risk == risk
    steps = " ".join(result.report["next_steps"])
    if verdict != "pass":
        assert "must fall below" in steps and "fail-on: never" in steps


def test_thin_history_is_inconclusive_and_mapped_to_warn(repo: RepoBuilder, tmp_path: Path) -> None:
    build_history(repo, rounds=20)
    repo.commit("more", {"core.py": "z = 1\n"})
    result = evaluate_gate(repo.path, "HEAD~1", "HEAD", {"database_url": f"sqlite:///{tmp_path / 's.db'}"})
    assert result.decision == "inconclusive" and result.treated_as == "warn"
    assert result.report["risk"]["model"]["status"] == "fallback"
    assert "too thin" in result.report["next_steps"][0]
    as_block = evaluate_gate(
        repo.path, "HEAD~1", "HEAD", {"database_url": f"sqlite:///{tmp_path / 's.db'}", "inconclusive_as": "block"}
    )
    assert as_block.decision == "inconclusive" and as_block.treated_as == "block"


def test_failures_tighten_and_successes_loosen_the_thresholds(history_repo: Path, db_url: Callable[[str], str]) -> None:
    base = _gate(history_repo, db_url("base"))
    warn0 = base.report["decision"]["thresholds"]["warn"]
    assert warn0 == 0.7  # no record: the configured threshold
    # Just under the warn threshold: passes with no record.
    over = {"warn_threshold": round(base.risk + 0.03, 4), "block_threshold": 1.0}
    assert _gate(history_repo, db_url("bad"), **over).decision == "pass"
    ws = open_workspace(history_repo, {"database_url": db_url("bad")})
    head = ws.repo.git.rev_parse("feature")
    for i in range(10):
        record_outcome(ws, "rollback" if i % 2 else "failure", head, at=1_700_000_000 + i)
    bad = _gate(history_repo, db_url("bad"), **over)
    budget = bad.report["error_budget"]
    assert bad.report["track_record"]["source"] == "recorded"
    assert bad.report["track_record"]["used"]["n"] == 10
    assert budget["exhausted"] and budget["threshold_shift"] < -0.05
    assert bad.decision == "warn"  # the same change, after the failures
    assert bad.trust is not None and bad.trust < 0.2
    assert any("error budget is spent" in s for s in bad.report["next_steps"])

    ws_good = open_workspace(history_repo, {"database_url": db_url("good")})
    for i in range(30):
        record_outcome(ws_good, "success", head, at=1_700_000_000 + i)
    good = _gate(history_repo, db_url("good"))
    assert good.report["error_budget"]["threshold_shift"] > 0.05
    assert good.report["decision"]["thresholds"]["warn"] > warn0
    assert not good.report["error_budget"]["exhausted"]

    # Four successes and no failure: a failure rate of 0, never "spent" (the prior once made it 17%).
    ws_four = open_workspace(history_repo, {"database_url": db_url("four")})
    for i in range(4):
        record_outcome(ws_four, "success", head, at=1_700_000_000 + i)
    four = _gate(history_repo, db_url("four"))
    assert four.report["error_budget"]["failure_rate"] == 0.0
    assert not four.report["error_budget"]["exhausted"]
    assert not any("error budget is spent" in s for s in four.report["next_steps"])


def test_same_inputs_give_a_byte_identical_report(history_repo: Path, db_url: Callable[[str], str]) -> None:
    first = _gate(history_repo, db_url("s"))
    second = _gate(history_repo, db_url("s"))
    assert report_json(first.report) == report_json(second.report)
    other_store = _gate(history_repo, db_url("t"))
    assert report_json(other_store.report) == report_json(first.report)
    assert "created_at" not in report_json(first.report)


def test_decisions_are_stored_and_the_event_is_emitted(history_repo: Path, db_url: Callable[[str], str]) -> None:
    events: list[Event] = []

    class Listener:
        @hookimpl
        def handle_event(self, event: Event) -> None:
            events.append(event)

    host = default_host()
    host.register(Listener(), "test-listener")
    ws = open_workspace(history_repo, {"database_url": db_url("s")}, host=host)
    result = decide_gate(ws, "main", "feature", {"environment": "production"})
    head = ws.repo.git.rev_parse("feature")
    row = ws.store.latest_gate_decision(head, ws.repo_id)
    assert row is not None and row.decision == result.decision and row.report == result.report
    assert ws.store.latest_gate_decision(head) is not None  # the service looks up by sha alone
    assert ws.store.latest_gate_decision("0" * 40) is None
    gate_events = [e for e in events if e.type == EVENT_TYPE]
    assert len(gate_events) == 1
    data = gate_events[0].data
    assert data["decision"] == result.decision and data["head"] == head and data["environment"] == "production"
    assert data["repository"] == ws.repo.key and data["risk"] == result.risk
    json.dumps(data)  # listeners may forward it as JSON


def test_misuse_raises_documented_errors(history_repo: Path, db_url: Callable[[str], str], tmp_path: Path) -> None:
    with pytest.raises(BadRevisionError) as missing:
        evaluate_gate(history_repo, "no-such-branch", "feature", {"database_url": db_url("s")})
    assert missing.value.exit_code == 8
    with pytest.raises(BadRevisionError):
        evaluate_gate(history_repo, "main", "1234567" * 5 + "12345", {"database_url": db_url("s")})
    with pytest.raises(BadRevisionError) as null:
        evaluate_gate(history_repo, "0" * 40, "feature", {"database_url": db_url("s")})
    assert "null commit" in null.value.message
    empty = RepoBuilder(tmp_path / "empty")
    with pytest.raises(EmptyRepositoryError) as no_history:
        evaluate_gate(empty.path, "HEAD", "HEAD", {"database_url": db_url("e")})
    assert no_history.value.exit_code == 3


def test_a_failed_deploy_after_a_warning_lowers_the_warning_rules_thresholds(
    history_repo: Path, db_url: Callable[[str], str]
) -> None:
    """The outcome keeps the rules that warned; the adaptation step reads them once."""
    from empathy.core.agents.adaptation import adapt_from_deploys

    url = db_url("adapt")
    risk = _gate(history_repo, url).risk
    warned = _gate(history_repo, url, warn_threshold=risk - 0.01, block_threshold=1.0)
    assert warned.decision == "warn"
    codes = {f["code"] for f in warned.report["findings"]}
    assert codes
    ws = open_workspace(history_repo, {"database_url": url})
    head = ws.repo.git.rev_parse("feature")
    ledger = ws.trust()
    before = {code: ledger.threshold(code) for code in codes}
    record_outcome(ws, "failure", head)
    changes = adapt_from_deploys(ledger)
    assert {c.rule for c in changes} == codes
    assert all(ledger.threshold(code) < before[code] for code in codes)
    assert adapt_from_deploys(ledger) == []
