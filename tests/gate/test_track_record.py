"""The inferred track record: release tags judged by the reverts and fixes that followed them."""

from __future__ import annotations

from pathlib import Path

from empathy.gate.decide import Budget, combine_risk, decide, error_budget
from empathy.gate.evaluate import evaluate_gate
from empathy.gate.settings import GateSettings
from tests.gitrepo import RepoBuilder


def test_release_tags_followed_by_a_revert_count_as_failed_deploys(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("init", {"a.py": "a = 1\n"}, day=1)
    repo.commit("feature one", {"a.py": "a = 1\nb = 2\n"}, day=2)
    repo.git_repo.create_tag("v1.0")
    bad = repo.commit("feature two", {"b.py": "c = 3\n"}, day=3)
    repo.git_repo.create_tag("v1.1")
    repo.commit(f'Revert "feature two"\n\nThis reverts commit {bad}.', {"b.py": ""}, day=5)
    repo.commit("feature three", {"c.py": "d = 4\n"}, day=20)
    repo.git_repo.create_tag("v1.2")
    repo.commit("feature four", {"d.py": "e = 5\n"}, day=40)
    repo.commit("feature five", {"e.py": "f = 6\n"}, day=41)
    repo.git_repo.create_tag("v1.3")  # its hotfix window has not passed: not judged yet
    repo.git_repo.create_tag("v1.4rc1")  # not a release by the default pattern
    result = evaluate_gate(repo.path, "HEAD~1", "HEAD", {"database_url": f"sqlite:///{tmp_path / 's.db'}"})
    track = result.report["track_record"]
    assert track["source"] == "inferred"
    inferred = track["inferred"]
    assert inferred["releases"] == 2 and inferred["failed"] == 1 and inferred["n"] == 2
    by_tag = {r["tag"]: r for r in inferred["recent"]}
    assert set(by_tag) == {"v1.1", "v1.2"}
    assert by_tag["v1.1"]["failed"] and "reverts" in by_tag["v1.1"]["why"]
    assert not by_tag["v1.2"]["failed"] and by_tag["v1.2"]["commits"] == 2
    assert result.trust == track["used"]["success_rate"]
    # A record of recorded deploys would take precedence; the summary says which one was used.
    assert "inferred from 2 release tags (N=2" in result.summary
    # With hotfix_days 0 nothing falls inside the window: both releases held.
    held = evaluate_gate(
        repo.path, "HEAD~1", "HEAD", {"database_url": f"sqlite:///{tmp_path / 's.db'}", "hotfix_days": 0}
    )
    assert held.report["track_record"]["inferred"]["failed"] == 0


def test_the_decision_policy_in_numbers() -> None:
    settings = GateSettings()
    risk, shares = combine_risk(0.5, [("a", 1.0, 1.0), ("b", 0.5, 1.0)], 0.1)
    assert risk == round(1 - 0.5 * 0.9 * 0.95, 4)
    assert [s.contribution for s in shares] == [0.05, 0.0225]
    assert combine_risk(None, [], 0.1)[0] == 0.0  # no source change and no signal: nothing to fear
    none = error_budget(None, 0.0, settings)
    assert (none.warn, none.block, none.shift) == (0.7, 0.9, 0.0)
    spent = error_budget(0.5, 10.0, settings)  # 50 % failures against a 15 % target, n = evidence_n
    assert spent.exhausted and spent.shift == -0.05 and spent.warn == 0.65
    thin_spent = error_budget(0.5, 3.0, settings)  # the same rate on 3 deploys: too few to call the budget spent
    assert not thin_spent.exhausted and thin_spent.shift == 0.0 and thin_spent.warn == 0.7  # and nothing moves
    earned = error_budget(0.0, 90.0, settings)
    assert earned.shift == 0.09 and earned.block == 0.99
    capped = error_budget(0.0, 90.0, GateSettings(block_threshold=0.95))
    assert capped.block == 0.995  # thresholds never move past 0.995
    thin = error_budget(0.0, 1.0, settings)
    assert thin.shift == 0.0  # one good deploy earns nothing: below min_budget_n there is no rate
    enough = error_budget(0.0, float(settings.min_budget_n), settings)
    assert 0 < enough.shift < 0.04 and not enough.exhausted
    budget = Budget(0.1, 5.0, 0.3, 0.0, 0.6, 0.9, False)
    assert [decide(r, budget, True) for r in (0.59, 0.6, 0.9)] == ["pass", "warn", "block"]
    assert decide(0.99, budget, False) == "inconclusive"
