"""The built-in ``score_change_risk`` plugin: history signals that give a change's risk a reason."""

from __future__ import annotations

from pathlib import Path

from empathy.core.changes import working_tree_change
from tests.gitrepo import RepoBuilder, build_partner_history
from tests.plugins.helpers import lines, workspace

SETTINGS = (
    "[plugins.coupling]\nmin_revs = 3\nmin_shared_revs = 3\n"
    "[plugins.churn]\ntop_share = 0.5\nmin_commits = 3\n"
    "[plugins.ownership]\nmin_commits = 3\n"
)


def _repo(repo: RepoBuilder) -> None:
    ann = ("Ann", "ann@x.org")
    for k in range(6):
        repo.commit(f"feature {k}", {"api.py": lines(20 + k, f"a{k}"), "client.py": f"c = {k}\n"}, author=ann)
    for k in range(4):
        repo.commit(f"tweak {k}", {"misc.py": f"m = {k}\n"}, author=("Bob", "bob@x.org"))


def test_signals_for_a_change_by_a_newcomer(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path, SETTINGS)
    ws.mine()
    repo.write("api.py", lines(400, "new"))  # big, api.py only, and by someone new to it
    change = working_tree_change(ws.repo)
    change.author_email = "carol@x.org"
    factors, errors = ws.change_signals(change)
    assert errors == {}
    by_name = {f.name: f for f in factors}
    assert "partner-missing" not in by_name  # six joint commits: no calibrated record to warn from yet
    assert "Ann" in by_name["new-author-in-island"].reason
    assert by_name["unusually-large"].evidence["lines"] == change.added + change.deleted
    assert by_name["hotspot-touched"].paths == ["api.py"]
    assert all(f.source == "change-signals" for f in factors)
    assert [f.score for f in factors] == sorted((f.score for f in factors), reverse=True)


def test_no_signals_for_a_small_change_by_the_owner(repo: RepoBuilder, tmp_path: Path) -> None:
    _repo(repo)
    ws = workspace(repo, tmp_path, SETTINGS)
    ws.mine()
    repo.write("misc.py", "m = 99\n")
    change = working_tree_change(ws.repo)
    change.author_email = "bob@x.org"
    change.paths = ["misc.py"]  # leave the untracked settings file out of the change
    change.lines = {"misc.py": change.lines["misc.py"]}
    change.added, change.deleted = 1, 1
    factors, _errors = ws.change_signals(change)
    assert [f.name for f in factors] == []


def test_partner_missing_factor_from_the_co_change_index(repo: RepoBuilder, tmp_path: Path) -> None:
    build_partner_history(repo, rounds=70)
    ws = workspace(repo, tmp_path, SETTINGS)
    repo.write("src/m2.py", "x = 'new'\n")  # the module without its test
    change = working_tree_change(ws.repo)
    factors, errors = ws.change_signals(change)
    assert errors == {}
    (partner,) = [f for f in factors if f.name == "partner-missing"]
    assert partner.paths == ["tests/test_m2.py"]
    assert partner.reason.startswith("tests/test_m2.py is untouched and probably needs changing with")
    assert partner.evidence["warn_threshold"] <= partner.score <= 1.0



def test_ci_and_dependency_changes_carry_their_own_record(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {"app.py": "a = 1\n", "requirements.txt": "lib==1\n"}, day=1)
    for k in range(6):
        day = 30 * (k + 1)
        repo.commit(f"pin lib {k}", {"requirements.txt": f"lib=={k + 2}\n"}, day=day)
        if k % 3 == 0:  # two of the six pins needed a fix within days
            files = {"requirements.txt": f"lib=={k + 2}.1\n", "app.py": f"a = {k}\n"}
            repo.commit(f"fix crash with lib {k + 2}", files, day=day + 2)
    ws = workspace(repo, tmp_path)
    repo.write("requirements.txt", "lib==99\n")
    repo.write(".github/workflows/ci.yml", "on: push\n")
    factors, errors = ws.change_signals(working_tree_change(ws.repo))
    assert errors == {}
    (config,) = [f for f in factors if f.name == "build-config-changed"]
    assert config.paths == [".github/workflows/ci.yml", "requirements.txt"]
    assert config.evidence["kinds"] == "CI, dependency"
    assert config.evidence["followed_by_fix_or_revert"] == 2 and config.evidence["past_changes"] == 9
    assert config.score == round(2 / 9, 4)
    assert "2 of the last 9 changes to CI and dependency files were followed within 7 days" in config.reason
