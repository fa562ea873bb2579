"""The ownership miner: knowledge islands, knowledge loss and fragmentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import build_template, clone, mine, of_kind

ALICE = ("Alice", "alice@example.com")
BOB = ("Bob", "bob@example.com")
CAROL = ("Carol", "carol@example.com")
DAVE = ("Dave", "dave@example.com")


class Appender:
    """Appends lines to one file so every commit adds an exact number of lines."""

    def __init__(self, repo: RepoBuilder, path: str) -> None:
        self.repo, self.path, self.text, self.n = repo, path, "", 0

    def add(self, count: int, author: tuple[str, str], day: int | None = None) -> None:
        for _ in range(count):
            self.text += f"line_{self.n} = {self.n}\n"
            self.n += 1
        self.repo.commit(f"{self.path} +{count}", {self.path: self.text}, author=author, day=day)

    def adds(self, *steps: tuple[int, tuple[str, str]]) -> None:
        for count, author in steps:
            self.add(count, author)


def test_knowledge_island_at_eighty_percent(repo: RepoBuilder, tmp_path: Path) -> None:
    a, b, c = Appender(repo, "a.py"), Appender(repo, "b.py"), Appender(repo, "c.py")
    a.adds((5, ALICE), (1, ALICE), (1, ALICE), (1, ALICE), (2, BOB))  # 8 of 10
    b.adds((5, ALICE), (1, ALICE), (1, BOB), (1, BOB), (1, BOB), (1, ALICE))  # 7 of 10
    for _ in range(4):
        c.add(3, ALICE)  # 100% but only 4 commits < min_commits 5

    islands = of_kind(mine(repo, tmp_path, "ownership"), "knowledge_island")
    assert list(islands) == [("a.py",)]
    p = islands[("a.py",)]
    assert p.score == 0.8
    ev = p.evidence
    assert ev["main_developer"] == "Alice"
    assert ev["main_developer_share"] == 0.8
    assert ev["authors"] == 2
    assert ev["commits"] == 5
    assert ev["fragmentation"] == 0.32  # 1 - (4/5)^2 - (1/5)^2
    assert ev["share_by_inactive_authors"] == 0.0
    assert ev["main_developer_active"] is True
    assert p.confidence == pytest.approx(round(1 - 2 ** (-5 / 10), 4))
    assert p.summary.startswith("Alice wrote 80% of the lines")


def test_island_share_setting(repo: RepoBuilder, tmp_path: Path) -> None:
    b = Appender(repo, "b.py")
    b.adds((5, ALICE), (1, ALICE), (1, BOB), (1, BOB), (1, BOB), (1, ALICE))
    islands = of_kind(
        mine(repo, tmp_path, "ownership", "[plugins.ownership]\nisland_share = 0.7\n"), "knowledge_island"
    )
    assert islands[("b.py",)].evidence["main_developer_share"] == 0.7
    assert islands[("b.py",)].evidence["fragmentation"] == 0.5  # 3 and 3 commits


def test_fragmentation_of_three_authors(repo: RepoBuilder, tmp_path: Path) -> None:
    f = Appender(repo, "f.py")
    f.adds((10, ALICE), (2, ALICE), (2, ALICE), (1, BOB), (1, CAROL))
    islands = of_kind(mine(repo, tmp_path, "ownership"), "knowledge_island")
    ev = islands[("f.py",)].evidence  # Alice wrote 14 of 16 lines
    assert ev["main_developer_share"] == 0.875
    assert ev["authors"] == 3
    assert ev["fragmentation"] == 0.56  # 1 - (3/5)^2 - (1/5)^2 - (1/5)^2


def build_departures(repo: RepoBuilder) -> None:
    """Now = day 600; inactive = no commit since day 235 (365 days before now)."""
    legacy, dormant = Appender(repo, "legacy.py"), Appender(repo, "dormant.py")
    active, edge = Appender(repo, "active.py"), Appender(repo, "edge.py")
    for d in range(1, 6):
        legacy.add(2, BOB, day=d)  # Bob: 10 lines, last commit day 5
    for d in range(6, 11):
        dormant.add(2, BOB, day=d)  # never changed again
    for d in range(230, 235):
        edge.add(2, DAVE, day=d)  # Dave's last commit: day 234, 366 days before now
    for d in range(236, 241):
        active.add(2, CAROL, day=d)  # Carol's last commit: day 240, 360 days before now
    # Alice changes one line of each of three files on day 600.
    repo.commit(
        "touch",
        {
            "legacy.py": legacy.text.replace("line_0 = 0", "line_0 = 100"),
            "edge.py": edge.text.replace("line_0 = 0", "line_0 = 100"),
            "active.py": active.text.replace("line_0 = 0", "line_0 = 100"),
        },
        author=ALICE,
        day=600,
    )


@pytest.fixture(scope="module")
def departures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_departures)


def test_knowledge_loss_when_inactive_authors_wrote_most_of_a_changed_file(departures: Path, tmp_path: Path) -> None:
    repo = clone(departures, tmp_path / "repo")
    patterns = mine(repo, tmp_path, "ownership")
    loss = of_kind(patterns, "knowledge_loss")

    # dormant.py is all Bob's but nobody changes it; active.py's author is still around.
    assert set(loss) == {("legacy.py",), ("edge.py",)}
    p = loss[("legacy.py",)]
    assert p.score == pytest.approx(round(10 / 11, 4))
    ev = p.evidence
    assert ev["share_by_inactive_authors"] == 0.909
    assert ev["main_developer"] == "Bob"
    assert ev["main_developer_active"] is False
    assert ev["main_developer_last_commit"] == "2020-09-23"  # day 10: Bob's last commit anywhere
    assert ev["commits_window"] == 1
    assert ev["commits"] == 6
    assert "inactive for over a year" in p.summary

    islands = of_kind(patterns, "knowledge_island")
    assert ("dormant.py",) in islands
    assert islands[("dormant.py",)].evidence["main_developer_active"] is False
    assert of_kind(patterns, "knowledge_island")[("active.py",)].evidence["main_developer_active"] is True


def test_inactive_days_setting_moves_the_cutoff(departures: Path, tmp_path: Path) -> None:
    repo = clone(departures, tmp_path / "repo")
    loss = of_kind(mine(repo, tmp_path, "ownership", "[plugins.ownership]\ninactive_days = 370\n"), "knowledge_loss")
    assert set(loss) == {("legacy.py",)}  # Dave (366 days) now counts as active


@pytest.mark.parametrize(("window_days", "reported"), [(365, True), (200, False)])
def test_no_knowledge_loss_when_the_file_is_not_changed_in_the_window(
    repo: RepoBuilder, tmp_path: Path, window_days: int, reported: bool
) -> None:
    legacy = Appender(repo, "legacy.py")
    for d in range(1, 6):
        legacy.add(2, BOB, day=d)
    repo.commit("touch", {"legacy.py": legacy.text.replace("line_0 = 0", "line_0 = 1")}, author=ALICE, day=300)
    repo.commit("elsewhere", {"other.py": "o = 1\n"}, author=ALICE, day=600)
    toml = f"window_days = {window_days}\n"  # the last change of legacy.py is 300 days old
    loss = of_kind(mine(repo, tmp_path, "ownership", toml), "knowledge_loss")
    assert (("legacy.py",) in loss) is reported


def test_loss_share_threshold_is_inclusive(repo: RepoBuilder, tmp_path: Path) -> None:
    half = Appender(repo, "half.py")
    for d in range(1, 5):
        half.add(1, BOB, day=d)  # Bob: 4 lines
    half.add(4, ALICE, day=500)  # Alice: 4 lines, in the window
    loss = of_kind(mine(repo, tmp_path, "ownership"), "knowledge_loss")
    assert loss[("half.py",)].evidence["share_by_inactive_authors"] == 0.5
    (tmp_path / "x").mkdir()
    assert (
        of_kind(mine(repo, tmp_path / "x", "ownership", "[plugins.ownership]\nloss_share = 0.51\n"), "knowledge_loss")
        == {}
    )


def test_excluded_paths_are_not_reported(repo: RepoBuilder, tmp_path: Path) -> None:
    t = Appender(repo, "tests/test_a.py")
    for _ in range(6):
        t.add(1, ALICE)
    assert mine(repo, tmp_path, "ownership") == []
