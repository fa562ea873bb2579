"""``Workspace.refresh``: one staleness rule for every surface, slow miners deferred and never forgotten."""

from __future__ import annotations

from pathlib import Path

from empathy.core.workspace import open_workspace
from empathy.plugin import hookimpl
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import lines

ALL_MINERS = ["age", "churn", "complexity", "coupling", "fixes", "ownership"]


def _history(repo: RepoBuilder, n: int = 8) -> None:
    for k in range(n):
        files = {"core.py": lines(40 + k, f"c{k}"), "util.py": lines(10 + k, f"u{k}")}
        repo.commit(f"fix crash {k}" if k % 2 else f"add feature {k}", files)


def _open(repo: RepoBuilder, tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    return open_workspace(repo.path, {"database_url": f"sqlite:///{tmp_path / 'store.db'}", **overrides})


def test_a_fresh_store_runs_every_miner_then_nothing_until_history_grows(repo: RepoBuilder, tmp_path: Path) -> None:
    _history(repo)
    first = _open(repo, tmp_path).refresh()
    assert first.mined is not None and sorted(r.plugin for r in first.mined.results) == ALL_MINERS
    again = _open(repo, tmp_path).refresh()
    assert again.stale == [] and again.mined is None  # nothing new: nothing re-mined
    repo.commit("add feature x", {"core.py": lines(60, "x")})
    grown = _open(repo, tmp_path).refresh()
    assert grown.ingest.new_commits == 1 and sorted(grown.stale) == ALL_MINERS


def test_remine_commits_waits_for_enough_new_history(repo: RepoBuilder, tmp_path: Path) -> None:
    _history(repo)
    _open(repo, tmp_path).refresh()
    repo.commit("add feature y", {"core.py": lines(61, "y")})
    assert _open(repo, tmp_path).refresh(remine_commits=2).stale == []
    repo.commit("add feature z", {"core.py": lines(62, "z")})
    assert sorted(_open(repo, tmp_path).refresh(remine_commits=2).stale) == ALL_MINERS


def test_a_deferred_slow_miner_runs_in_the_next_session(repo: RepoBuilder, tmp_path: Path) -> None:
    """The editor once never re-ran the bug-fix miner when its first session closed before it finished."""
    _history(repo)
    editor = _open(repo, tmp_path).refresh(defer_slow=True)
    assert editor.deferred == ["fixes"]  # SZZ is known to be slow before it has a recorded run
    assert editor.mined is not None and "fixes" not in [r.plugin for r in editor.mined.results]
    # ... the editor closes here, before mining `fixes`; nothing was committed since.
    later = _open(repo, tmp_path).refresh()
    assert later.stale == ["fixes"]
    assert later.mined is not None and [r.plugin for r in later.mined.results] == ["fixes"]
    assert _open(repo, tmp_path).refresh().stale == []


def test_a_failed_miner_stays_stale(repo: RepoBuilder, tmp_path: Path) -> None:
    _history(repo)
    ws = _open(repo, tmp_path)
    ws.refresh()

    class Broken:
        @hookimpl
        def mine_patterns(self) -> list[object]:
            raise RuntimeError("boom")
    ws = _open(repo, tmp_path)
    ws.register(Broken(), "broken")
    errors = ws.refresh().errors
    assert list(errors) == ["broken"] and errors["broken"].startswith("RuntimeError: boom")
    ws = _open(repo, tmp_path)
    ws.register(Broken(), "broken")
    assert ws.refresh().stale == ["broken"]  # retried, while the healthy miners are left alone
