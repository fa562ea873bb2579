"""The fixes miner: fix classifier, fix-prone files (TWR) and B-SZZ links."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy.core.errors import ConfigError
from empathy.core.history import szz
from empathy.core.history.szz import szz_links
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import build_template, clone, lines, mine, of_kind, workspace

NO_SZZ = "[plugins.fixes]\nszz = false\n"
ALL = "[plugins.fixes]\nmin_fixes = 1\ntop_share = 1.0\n"


@pytest.mark.parametrize(
    ("message", "is_fix"),
    [
        ("Fix crash in parser", True),
        ("Bugfix: broken import", True),
        ("Avoid raising KeyError twice", True),  # no fix word, but a repair verb
        ("Parser does not work on empty input. Closes #12", True),  # a symptom
        ("docs: fix typo", False),
        ("Fix typo in README", False),
        ("[lint] fix warnings", False),
        ("Add feature", False),
        ("prefix the debug output", False),  # 'fix' only as a whole word
        ("Add option --strict\n\nFixes #4416", False),  # a closing trailer on a feature is not a fix
        ("Refactor the parser\n\nThis also fixes a crash on empty input.", False),  # the body does not decide
    ],
)
def test_commit_labels_decide_fixes(repo: RepoBuilder, tmp_path: Path, message: str, is_fix: bool) -> None:
    repo.commit("start", {"src/app.py": "a = 1\n"})
    repo.commit(message, {"src/app.py": "a = 2\n"})
    history = workspace(repo, tmp_path).history()
    assert history.is_fix(history.commits[-1]) is is_fix, history.label(history.commits[-1])


def test_the_fix_pattern_setting_marks_a_team_s_own_fixes(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {"a.py": "a = 1\n"})
    repo.commit("ABC-12 login stays after logout", {"a.py": "a = 2\n"})
    repo.commit("ABC-13 new login page", {"a.py": "a = 3\n"})
    history = workspace(repo, tmp_path, 'fix_pattern = "^ABC-12"\n').history()
    assert [history.is_fix(c) for c in history.commits] == [False, True, False]
    assert history.label(history.commits[1]).why == ("matches the fix_pattern setting",)


def test_invalid_fix_pattern_is_a_config_error(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {"a.py": "a = 1\n"})
    ws = workspace(repo, tmp_path, 'fix_pattern = "(unclosed"\n')
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        ws.history()


def build_fix_history(repo: RepoBuilder) -> None:
    """p.py gets 4 fixes (days 2, 5, 7, 11) and 2 non-fixes; q.py one fix (day 6)."""
    repo.commit("start", {"p.py": lines(5), "q.py": lines(3, "q")}, day=1)
    repo.commit("Fix crash in parser", {"p.py": lines(4) + "a = 2\n"}, day=2)
    repo.commit("Add feature", {"p.py": lines(4) + "a = 3\n"}, day=3)
    repo.commit("docs: fix typo", {"p.py": lines(4) + "a = 4\n"}, day=4)
    repo.commit("fix wrong result", {"p.py": lines(4) + "a = 5\n"}, day=5)
    repo.commit("Fix crash in q", {"q.py": lines(2, "q") + "b = 1\n"}, day=6)
    repo.commit("regression in parser", {"p.py": lines(4) + "a = 7\n"}, day=7)
    repo.commit("bugfix: off by one", {"p.py": lines(4) + "a = 11\n"}, day=11)


@pytest.fixture(scope="module")
def fix_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_fix_history)


def test_fix_prone_exact_counts_and_twr(fix_history: Path, tmp_path: Path) -> None:
    repo = clone(fix_history, tmp_path / "repo")
    prone = of_kind(mine(repo, tmp_path, "fixes", NO_SZZ), "fix_prone")

    assert list(prone) == [("p.py",)]  # q.py: 1 fix < min_fixes 3
    ev = prone[("p.py",)].evidence
    assert ev["fixes_total"] == 4  # 'Add feature' and 'docs: fix typo' are not fixes
    assert ev["fixes_window"] == 4
    assert ev["last_fix"] == "2020-09-24"  # day 11
    # TWR: t = 0.1, 0.4, 0.6, 1.0 over days 1..11 -> 2.0e-5 + 7.5e-4 + 0.00816 + 0.5
    assert ev["twr"] == 0.509
    assert ev["fix_share_of_repo"] == round(5 / 8, 3)
    assert ev["szz_links"] == 0 and ev["median_bug_age_days"] is None
    assert prone[("p.py",)].score == 1.0
    assert prone[("p.py",)].confidence == pytest.approx(round(1 - 2 ** (-4 / 5), 4))
    assert prone[("p.py",)].summary.startswith("4 bug-fix commits (4 in the window)")


def test_fixes_window_counts_only_recent_fixes(fix_history: Path, tmp_path: Path) -> None:
    repo = clone(fix_history, tmp_path / "repo")
    toml = "window_days = 5\n" + NO_SZZ  # since = day 6: only the fixes of days 7 and 11
    prone = of_kind(mine(repo, tmp_path, "fixes", toml), "fix_prone")
    assert prone[("p.py",)].evidence["fixes_total"] == 4
    assert prone[("p.py",)].evidence["fixes_window"] == 2


def test_twr_is_larger_for_recent_fixes(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("start", {"old.py": lines(3), "new.py": lines(3, "n")}, day=1)
    for d in (2, 3, 4):
        repo.commit(f"fix crash {d}", {"old.py": lines(2) + f"x = {d}\n"}, day=d)
    for d in (18, 19, 20):
        repo.commit(f"fix crash {d}", {"new.py": lines(2, "n") + f"x = {d}\n"}, day=d)
    toml = "[plugins.fixes]\nszz = false\ntop_share = 1.0\n"
    prone = of_kind(mine(repo, tmp_path, "fixes", toml), "fix_prone")

    old, new = prone[("old.py",)], prone[("new.py",)]
    assert old.evidence["fixes_total"] == new.evidence["fixes_total"] == 3
    assert new.evidence["twr"] == 1.068  # t = 17/19, 18/19, 1
    assert old.evidence["twr"] == 0.0  # t = 1/19, 2/19, 3/19: about 7e-5
    assert new.evidence["twr"] > old.evidence["twr"]
    assert new.score > old.score


def build_szz_history(repo: RepoBuilder) -> dict[str, str]:
    shas = {}
    repo.commit("add parser", {"m.py": "def parse(x):\n    return x\n\n\ndef other():\n    return 1\n"}, day=1)
    shas["bug1"] = repo.commit(
        "add offset",
        {"m.py": "def parse(x):\n    return x + 1\n\n\ndef other():\n    return 1\n"},
        author=("Bob", "bob@example.com"),
        day=2,
    )
    shas["fix1"] = repo.commit(
        "fix bug in parse", {"m.py": "def parse(x):\n    return x\n\n\ndef other():\n    return 1\n"}, day=4
    )
    shas["bug2"] = repo.commit(
        "tune other", {"m.py": "def parse(x):\n    return x\n\n\ndef other():\n    return 0\n"}, day=5
    )
    shas["fix2"] = repo.commit(
        "Fix crash in other", {"m.py": "def parse(x):\n    return x\n\n\ndef other():\n    return 1\n"}, day=10
    )
    return shas


@pytest.fixture(scope="module")
def szz_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    builder = RepoBuilder(tmp_path_factory.mktemp("template") / "repo")
    return builder.path, build_szz_history(builder)


@pytest.fixture
def szz_repo(szz_template: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[RepoBuilder, dict[str, str]]:
    path, shas = szz_template
    return clone(path, tmp_path / "repo"), dict(shas)


def test_szz_links_the_fix_to_the_commit_that_introduced_the_line(
    szz_repo: tuple[RepoBuilder, dict[str, str]], tmp_path: Path
) -> None:
    repo, shas = szz_repo
    ws = workspace(repo, tmp_path, ALL)
    report = ws.mine(only=["fixes"])
    assert report.errors == {}

    links = {(link.fix_sha, link.inducing_sha, link.path, link.lines) for link in szz_links(ws.store, ws.repo_id)}
    assert links == {(shas["fix1"], shas["bug1"], "m.py", 1), (shas["fix2"], shas["bug2"], "m.py", 1)}

    ev = of_kind(report.patterns, "fix_prone")[("m.py",)].evidence
    assert ev["szz_links"] == 2
    assert ev["szz_fixes_processed"] == 2
    assert ev["median_bug_age_days"] == 3.5  # bugs lived 2 and 5 days
    assert "fixed lines had lived a median 4 days" in of_kind(report.patterns, "fix_prone")[("m.py",)].summary


def test_szz_honours_git_blame_ignore_revs(repo: RepoBuilder, tmp_path: Path) -> None:
    repo.commit("add", {"m.py": "def f(x):\n    return x\n"}, day=1)
    bug = repo.commit("change", {"m.py": "def f(x):\n    return x + 1\n"}, day=2)
    reformat = repo.commit("reformat", {"m.py": "def f(x):\n    return (x + 1)\n"}, day=3)
    fix = repo.commit("fix bug in f", {"m.py": "def f(x):\n    return x\n"}, day=4)
    (repo.path / ".git-blame-ignore-revs").write_text(f"{reformat}\n", encoding="utf-8")
    ws = workspace(repo, tmp_path, ALL)
    ws.mine(only=["fixes"])
    links = {(link.fix_sha, link.inducing_sha) for link in szz_links(ws.store, ws.repo_id)}
    assert links == {(fix, bug)}


def test_second_mine_does_not_blame_again(
    szz_repo: tuple[RepoBuilder, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, shas = szz_repo
    # A fix that only adds lines has nothing to blame: it is recorded as processed too.
    shas["fix3"] = repo.commit(
        "fix: missing guard",
        {"m.py": "def parse(x):\n    return x\n\n\ndef other():\n    return 1\n\n\nGUARD = 1\n"},
        day=11,
    )
    blamed: list[tuple[str, str]] = []
    diffed: list[list[str]] = []
    real_blame, real_ranges = szz._blame, szz.fix_ranges

    def counting_blame(info, fix, path, ranges, ignore_file):  # type: ignore[no-untyped-def]
        blamed.append((fix, path))
        return real_blame(info, fix, path, ranges, ignore_file)

    def counting_ranges(info, shas_):  # type: ignore[no-untyped-def]
        diffed.append(list(shas_))
        return real_ranges(info, shas_)

    monkeypatch.setattr(szz, "_blame", counting_blame)
    monkeypatch.setattr(szz, "fix_ranges", counting_ranges)

    ws = workspace(repo, tmp_path, ALL)
    ws.mine(only=["fixes"])
    assert sorted(blamed) == sorted([(shas["fix1"], "m.py"), (shas["fix2"], "m.py")])
    assert sorted(diffed[0]) == sorted([shas["fix1"], shas["fix2"], shas["fix3"]])
    links_before = sorted((lk.fix_sha, lk.inducing_sha) for lk in szz_links(ws.store, ws.repo_id))

    blamed.clear()
    diffed.clear()
    report = ws.mine(only=["fixes"])
    assert blamed == [] and diffed == []
    assert sorted((lk.fix_sha, lk.inducing_sha) for lk in szz_links(ws.store, ws.repo_id)) == links_before
    assert of_kind(report.patterns, "fix_prone")[("m.py",)].evidence["szz_links"] == 2


def test_szz_budget_blames_the_newest_fixes_first(szz_repo: tuple[RepoBuilder, dict[str, str]], tmp_path: Path) -> None:
    repo, shas = szz_repo
    ws = workspace(repo, tmp_path, ALL + "szz_budget = 1\n")

    ws.mine(only=["fixes"])
    assert {lk.fix_sha for lk in szz_links(ws.store, ws.repo_id)} == {shas["fix2"]}
    ws.mine(only=["fixes"])
    assert {lk.fix_sha for lk in szz_links(ws.store, ws.repo_id)} == {shas["fix1"], shas["fix2"]}
    ws.mine(only=["fixes"])
    assert len(szz_links(ws.store, ws.repo_id)) == 2


def test_szz_off_blames_nothing(szz_repo: tuple[RepoBuilder, dict[str, str]], tmp_path: Path) -> None:
    repo, _shas = szz_repo
    ws = workspace(repo, tmp_path, ALL + "szz = false\n")
    ws.mine(only=["fixes"])
    assert szz_links(ws.store, ws.repo_id) == []


def _szz_on_path(repo: RepoBuilder, tmp_path: Path, name: str) -> tuple[set[tuple[str, str, str]], str, str]:
    repo.commit("add", {name: "a = 1\nb = 2\nc = 3\n"}, day=1)
    bug = repo.commit("change", {name: "a = 1\nb = 20\nc = 3\n"}, day=2)
    fix = repo.commit("fix bug in b", {name: "a = 1\nb = 2\nc = 3\n"}, day=3)
    ws = workspace(repo, tmp_path, ALL)
    assert ws.mine(only=["fixes"]).errors == {}
    return {(lk.fix_sha, lk.inducing_sha, lk.path) for lk in szz_links(ws.store, ws.repo_id)}, bug, fix


def test_szz_on_a_plain_path(repo: RepoBuilder, tmp_path: Path) -> None:
    links, bug, fix = _szz_on_path(repo, tmp_path, "pkg/plain.py")
    assert links == {(fix, bug, "pkg/plain.py")}


def test_szz_on_a_path_with_a_space(repo: RepoBuilder, tmp_path: Path) -> None:
    links, bug, fix = _szz_on_path(repo, tmp_path, "pkg/my file.py")
    assert links == {(fix, bug, "pkg/my file.py")}


def test_szz_on_a_non_ascii_path(repo: RepoBuilder, tmp_path: Path) -> None:
    links, bug, fix = _szz_on_path(repo, tmp_path, "pkg/café.py")
    assert links == {(fix, bug, "pkg/café.py")}
