"""The co-change index: what it ranks first and why, what it leaves out, when it warns, and what it may know.

Most ranking tests turn learning off (``learn=False``) so the order is the
weighted overlap's alone and each test isolates one property of it; the
learning, warning and protocol tests turn it on.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from empathy.core.cochange import CochangeIndex, Settings, Suggestion, _features, hidden_file, looks_like_bulk
from empathy.core.cochange.naming import NameIndex, is_test_path, module_test_strength, name_template
from empathy.core.cochange.references import mentioned_names, module_name
from tests.gitrepo import EPOCH, RepoBuilder

DAY = 86400.0
T0 = 1_700_000_000.0
BENCH = Path(__file__).resolve().parents[2] / "bench" / "partners_dev.py"


def _paths(got: list[Suggestion]) -> list[str]:
    return [s.path for s in got]


def _index(learn: bool = False, **settings: object) -> CochangeIndex:
    return CochangeIndex(Settings(**settings), learn=learn)  # type: ignore[arg-type]


# -- the weighted overlap ----------------------------------------------------------------------------


def test_recent_co_change_ranks_above_an_old_one() -> None:
    idx = _index()
    idx.add("c1", T0, ["x.py", "old_partner.py"])
    idx.add("c2", T0 + 900 * DAY, ["x.py", "new_partner.py"])
    got = idx.suggest(["x.py"], T0 + 901 * DAY)
    assert _paths(got)[:2] == ["new_partner.py", "old_partner.py"]
    assert got[0].score > got[1].score


def test_commits_matching_more_of_the_query_weigh_more() -> None:
    idx = _index()
    # y_full changed with both query files, y_part with one of them; same age, same size
    idx.add("c1", T0, ["a.py", "b.py", "y_full.py"])
    idx.add("c2", T0, ["a.py", "y_part.py", "filler.py"])
    got = idx.suggest(["a.py", "b.py"], T0 + DAY)
    assert _paths(got)[0] == "y_full.py"
    assert got[0].score > 2 * got[_paths(got).index("y_part.py")].score


def test_small_commits_weigh_more_than_large_ones() -> None:
    idx = _index()
    idx.add("small", T0, ["x.py", "y_small.py"])
    idx.add("large", T0, ["x.py", "y_large.py", *(f"f{i}.py" for i in range(8))])
    got = idx.suggest(["x.py"], T0 + DAY)
    assert _paths(got)[0] == "y_small.py"
    assert got[0].score > 3 * got[_paths(got).index("y_large.py")].score


def test_oversized_commits_carry_no_co_change() -> None:
    idx = _index(max_files=5)
    idx.add("huge", T0, ["x.py", "y.py", *(f"f{i}.py" for i in range(10))])
    assert idx.suggest(["x.py"], T0 + DAY) == []


def test_bulk_commits_are_left_out_but_still_move_files() -> None:
    idx = _index()
    for k in range(5):
        idx.add(f"sweep{k}", T0 + k * DAY, ["x.py", "swept.py"], bulk=True)
    idx.add("real", T0 + 10 * DAY, ["x.py", "partner.py"])
    assert _paths(idx.suggest(["x.py"], T0 + 11 * DAY)) == ["partner.py"]
    # a bulk commit's deletions and renames still count
    idx.add("sweep-rename", T0 + 12 * DAY, ["partner2.py"], bulk=True, renames={"partner.py": "partner2.py"})
    assert _paths(idx.suggest(["x.py"], T0 + 13 * DAY)) == ["partner2.py"]


def test_bulk_heuristic_flags_sweeps_not_ordinary_commits() -> None:
    assert looks_like_bulk("[pre-commit.ci] pre-commit autoupdate", 3)
    assert looks_like_bulk("Apply ruff format to the code base", 40)
    assert looks_like_bulk("Update copyright year", 60, churn=[2] * 60)
    assert not looks_like_bulk("Fix the parser when a line is empty", 4)
    assert not looks_like_bulk("Fix typo", 1)  # one file has no couplings to spoil
    assert not looks_like_bulk("Add a feature", 60, churn=[2] * 59 + [300])


def test_renamed_files_keep_their_history_and_show_their_new_names() -> None:
    idx = _index()
    for k in range(3):
        idx.add(f"c{k}", T0 + k * DAY, ["pkg/old.py", "pkg/partner.py"])
    idx.add("mv", T0 + 5 * DAY, ["pkg/new.py"], renames={"pkg/old.py": "pkg/new.py"})
    idx.add("mv2", T0 + 6 * DAY, ["pkg/partner2.py"], renames={"pkg/partner.py": "pkg/partner2.py"})
    got = idx.suggest(["pkg/new.py"], T0 + 7 * DAY)
    assert _paths(got) == ["pkg/partner2.py"]
    assert got[0].evidence["together"] == 3
    assert "pkg/new.py" in got[0].why
    # the old names are gone
    assert not idx.alive("pkg/old.py") and idx.alive("pkg/new.py")
    assert idx.suggest(["pkg/old.py"], T0 + 7 * DAY) == []


def test_deleted_files_are_not_suggested() -> None:
    idx = _index()
    idx.add("c1", T0, ["x.py", "gone.py", "kept.py"])
    idx.add("rm", T0 + DAY, ["gone.py"], deleted={"gone.py"})
    assert _paths(idx.suggest(["x.py"], T0 + 2 * DAY)) == ["kept.py"]


def test_never_seen_query_files_do_not_break_it() -> None:
    idx = _index()
    assert idx.suggest(["brand/new.py"], T0) == []
    idx.add("c1", T0, ["x.py", "y.py"])
    assert idx.suggest(["brand/new.py", "other/new.rst"], T0 + DAY) == []
    assert _paths(idx.suggest(["brand/new.py", "x.py"], T0 + DAY)) == ["y.py"]
    assert idx.suggest([], T0 + DAY) == []


def test_a_new_file_borrows_the_history_of_its_name_template() -> None:
    idx = _index()
    for k in range(4):
        idx.add(f"c{k}", T0 + k * DAY, [f"changelog/{100 + k}.bugfix.rst", "src/pkg/core.py"])
    assert name_template("changelog/999.bugfix.rst") == "changelog/#.bugfix.rst"
    assert _paths(idx.suggest(["changelog/999.bugfix.rst"], T0 + 9 * DAY))[0] == "src/pkg/core.py"


def test_commits_must_come_in_time_order() -> None:
    idx = _index()
    idx.add("c1", T0, ["x.py", "y.py"])
    with pytest.raises(ValueError, match="time order"):
        idx.add("c0", T0 - 1, ["x.py", "y.py"])


# -- structure by naming convention ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "module", "linked"),
    [
        ("tests/test_foo.py", "src/pkg/foo.py", True),
        ("testing/test_foo.py", "pkg/foo.py", True),
        ("pkg/foo_test.py", "pkg/foo.py", True),
        ("tests/foo/test_bar.py", "pkg/foo.py", True),
        ("tests/test_downloadermiddleware_cookies.py", "pkg/downloadermiddlewares/cookies.py", True),
        ("tests/test_settings.py", "pkg/settings/__init__.py", True),
        ("testing/python/fixtures.py", "src/pkg/fixtures.py", True),
        ("tests/test_foo.py", "pkg/bar.py", False),
        ("tests/test_foo.py", "tests/foo.py", False),
        ("docs/foo.rst", "pkg/foo.py", False),
    ],
)
def test_module_and_test_naming_convention(test: str, module: str, linked: bool) -> None:
    assert (module_test_strength(test, module) > 0) is linked


def test_a_test_named_for_the_full_path_beats_one_named_for_the_stem_only() -> None:
    full = module_test_strength("tests/test_http_cookies.py", "pkg/http/cookies.py")
    other = module_test_strength("tests/test_downloadermiddleware_cookies.py", "pkg/http/cookies.py")
    assert full > other > 0


def test_name_index_links_module_test_package_and_docs_page() -> None:
    names = NameIndex()
    names.update(
        ["pkg/__init__.py", "pkg/exporters.py", "tests/test_exporters.py", "docs/exporters.rst", "tests/x.txt"]
    )
    assert names.partners("pkg/exporters.py") == {
        "tests/test_exporters.py": ("test", 0.8),
        "pkg/__init__.py": ("package", 0.5),
        "docs/exporters.rst": ("doc", 0.5),
    }
    assert names.partners("tests/test_exporters.py") == {"pkg/exporters.py": ("tested", 0.8)}
    names.discard("tests/test_exporters.py")
    assert "tests/test_exporters.py" not in names.partners("pkg/exporters.py")
    assert is_test_path("t/unit/test_app.py") and not is_test_path("pkg/testing_tools.py")


def test_the_test_module_is_suggested_by_convention_without_any_co_change() -> None:
    idx = _index()
    idx.add("c1", T0, ["src/pkg/literals.py", "README.rst"])
    idx.add("c2", T0 + DAY, ["tests/test_literals.py", "tests/test_other.py"])
    got = idx.suggest(["src/pkg/literals.py"], T0 + 2 * DAY)
    assert "tests/test_literals.py" in _paths(got)
    hit = got[_paths(got).index("tests/test_literals.py")]
    assert "naming convention" in hit.why and hit.evidence["structure"] == "test"
    assert "tests/test_other.py" not in _paths(got)


# -- learning and warning ----------------------------------------------------------------------------


def _paired_history(idx: CochangeIndex, commits: int, noise: float, seed: int = 1) -> float:
    """Module i and its test change together; with probability ``noise`` a random other pair instead."""
    rng = random.Random(seed)
    t = T0
    for k in range(commits):
        i = rng.randrange(12)
        files = [f"pkg/mod{i}.py", f"tests/test_mod{i}.py"]
        if rng.random() < noise:
            files = [f"pkg/mod{rng.randrange(12)}.py", f"docs/page{rng.randrange(12)}.rst", f"tests/test_mod{i}.py"]
        idx.add(f"s{k}", t, sorted(set(files)))
        t += DAY
    return t


def test_warns_on_a_reliable_pattern_with_its_calibrated_precision() -> None:
    idx = CochangeIndex(Settings(min_train_queries=40, warn_min_support=20))
    now = _paired_history(idx, 300, noise=0.05)
    record = idx.track_record(now)
    assert record.threshold is not None and record.precision is not None
    assert record.precision >= 0.70 and record.replayed > 100
    got = idx.suggest(["pkg/mod3.py"], now)
    assert got[0].path == "tests/test_mod3.py"
    assert got[0].warn and got[0].score >= record.threshold
    assert got[0].evidence["ranked_by"] == "learned combination"
    assert all(0.0 <= s.score <= 1.0 for s in got)
    assert sum(s.score for s in got) <= 1.0 + 1e-6  # probabilities of "this is the missing file"


def test_does_not_warn_when_the_past_says_the_top_suggestion_is_usually_wrong() -> None:
    idx = CochangeIndex(Settings(min_train_queries=40, warn_min_support=20))
    rng = random.Random(7)
    t = T0
    for k in range(300):
        idx.add(f"r{k}", t, sorted({f"f{rng.randrange(30)}.py" for _ in range(3)}))
        t += DAY
    assert idx.track_record(t).threshold is None
    assert not any(s.warn for s in idx.suggest(["f1.py", "f2.py"], t))


def test_learns_only_from_strictly_earlier_commits() -> None:
    idx = CochangeIndex(Settings(min_train_queries=10))
    for k in range(40):  # all at the same second
        idx.add(f"c{k}", T0, [f"pkg/m{k % 5}.py", f"tests/test_m{k % 5}.py"])
    assert idx.replayed == 80
    same_time = idx.suggest(["pkg/m1.py"], T0)
    assert same_time[0].evidence["ranked_by"] == "weighted overlap"
    later = idx.suggest(["pkg/m1.py"], T0 + 1)
    assert later[0].evidence["ranked_by"] == "learned combination"


def test_replay_hides_a_reproducible_file() -> None:
    files = ["a.py", "b.py", "c.py", "d.py"]
    assert hidden_file("abc123", files) == hidden_file("abc123", list(reversed(files)))
    assert {hidden_file(f"sha{k}", files) for k in range(40)} == set(files)


# -- the batch protocol of coupling_eval.py ---------------------------------------------------------


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("partners_dev", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(mod)
    return mod


def test_batch_uses_only_commits_strictly_before_the_query_time(tmp_path: Path) -> None:
    repo = RepoBuilder(tmp_path / "r")
    repo.commit("one", {"x.py": "1", "earlier_partner.py": "1"}, day=1)
    repo.commit("same second", {"x.py": "2", "same_time_partner.py": "1"}, day=5)
    query_sha = repo.commit("query", {"x.py": "3", "hidden.py": "1"}, day=5)
    repo.commit("later", {"x.py": "4", "later_partner.py": "1"}, day=9)
    batch = tmp_path / "q.jsonl"
    batch.write_text(json.dumps({"id": 7, "at": query_sha, "files": ["x.py"]}) + "\n")
    out = subprocess.run(
        [sys.executable, str(BENCH), "--batch", str(batch), "--top", "10", "--json"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(out.stdout.strip())
    assert answer["id"] == 7
    assert [s["path"] for s in answer["suggestions"]] == ["earlier_partner.py"]
    assert {"path", "score", "warn", "why"} <= set(answer["suggestions"][0])
    assert "queries in" in out.stderr


def test_history_reader_follows_renames_and_deletions(tmp_path: Path) -> None:
    repo = RepoBuilder(tmp_path / "r")
    repo.commit("one", {"a.py": "x = 1\n" * 20, "b.py": "1"})
    repo.rename("a.py", "c.py")
    repo.commit("rm", delete=["b.py"])
    commits = _bench().read_history(str(repo.path))
    assert [c.renames for c in commits] == [{}, {"a.py": "c.py"}, {}]
    assert commits[2].deleted == {"b.py"}
    assert [c.time for c in commits] == sorted(c.time for c in commits)
    assert commits[0].time >= EPOCH


def test_history_reader_keeps_odd_paths_as_the_store_spells_them(tmp_path: Path) -> None:
    """Without -z git quoted these ("odd dir, b\\303\\251.py") and the partners named no real file."""
    from empathy.core.cochange.gitfeed import read_history, read_references

    odd, quoted = "odd dir, b: c%20 é.py", 'new "q"\tname.py'
    repo = RepoBuilder(tmp_path / "r")
    repo.commit("one", {odd: "import os\n", "plain.py": "1"})
    repo.rename(odd, quoted)
    repo.commit("two é", {quoted: "import sys\n", "plain.py": "2"})
    commits = read_history(str(repo.path))
    assert [c.files for c in commits] == [sorted([odd, "plain.py"]), [quoted], sorted([quoted, "plain.py"])]
    assert commits[1].renames == {odd: quoted} and commits[2].subject == "two é"
    refs = read_references(str(repo.path), commits, 1)  # the tree before commit 1, read with ls-tree -z
    assert odd in refs[1] and "os" in refs[1][odd]


# -- structure from the text: imports and docs references --------------------------------------------


def test_references_read_imports_and_docs_names() -> None:
    code = "import os\nfrom . import nodes\nfrom pkg.http import Request\nfrom .util import (\n    helper,\n)\n"
    names = mentioned_names("src/pkg/core.py", code)
    assert {"os", "pkg.nodes", "pkg.http", "pkg.util"} <= names
    assert mentioned_names("docs/api.rst", ".. autoclass:: pkg.http.Request\nsee setup.py") == {"pkg.http.Request"}
    assert module_name("src/pkg/http/__init__.py") == "pkg.http" and module_name("docs/conf.txt") is None
    assert mentioned_names("big.py", "import os\n" * 50_000) == frozenset()


def test_a_module_that_imports_the_changed_one_is_a_candidate_without_co_change() -> None:
    idx = _index()
    idx.add("c1", T0, ["pkg/core.py", "pkg/user.py", "pkg/other.py", "docs/api.rst"])
    idx.add("c2", T0 + DAY, ["README.rst", "pkg/core.py"])
    refs = {
        "pkg/user.py": mentioned_names("pkg/user.py", "from pkg.core import thing\n"),
        "pkg/other.py": mentioned_names("pkg/other.py", "import os\n"),
    }
    idx.add("c3", T0 + 2 * DAY, ["setup.cfg"], references=refs)
    idx.add("mv", T0 + 3 * DAY, ["pkg/core2.py"], renames={"pkg/core.py": "pkg/core2.py"})
    # learn=False ranks by direct evidence only; the import link shows in the candidates' features
    cands = _features.candidates(idx._hist, ["pkg/core2.py"], T0 + 4 * DAY, idx.settings)
    row = {idx._hist.names[y]: cands.X[k] for k, y in enumerate(cands.ids)}
    col = _features.FEATURES.index("refers_to_query")
    assert row["pkg/user.py"][col] == 1.0
    assert row.get("pkg/other.py", [0.0] * len(_features.FEATURES))[col] == 0.0
    got = {s.path: s for s in idx.suggest(["pkg/core2.py"], T0 + 4 * DAY)}
    assert "imports or names pkg/core2.py" in got["pkg/user.py"].why
    assert "imports" not in got["pkg/other.py"].why


def test_replays_too_old_to_train_on_are_dropped() -> None:
    idx = CochangeIndex(Settings(min_train_queries=10, train_days=30.0))
    now = _paired_history(idx, 200, noise=0.0)
    idx.suggest(["pkg/mod1.py"], now)
    assert idx.replayed == 400
    assert len(idx._replays) <= 2 * 31 * 1.2  # about the last 30 days of replays, two per commit
