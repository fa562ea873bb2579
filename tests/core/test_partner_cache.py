"""The partner index kept between processes must answer exactly as a fresh build would."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy.core.usecases.partner_cache import cache_path
from empathy.core.workspace import Workspace, open_workspace
from tests.gitrepo import RepoBuilder, build_partner_history

QUERIES = [["api.py"], ["client.py"], ["src/m1.py"], ["tests/test_m3.py"], ["api.py", "src/m2.py"]]


def answers(ws: Workspace) -> list[object]:
    index = ws.partner_index()
    got: list[object] = [[(s.path, s.score, s.warn, s.why) for s in ws.partners(q, warn_only=False)] for q in QUERIES]
    return [*got, index.track_record(), index.fed]


def fresh(path: Path, db: str) -> list[object]:
    cache_path(open_workspace(path, {"database_url": db}).repo.git_dir).unlink(missing_ok=True)
    ws = open_workspace(path, {"database_url": db})
    ws.ingest()
    result = answers(ws)
    return result


def test_an_index_fed_on_from_the_cache_equals_a_fresh_build(repo: RepoBuilder, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    build_partner_history(repo, rounds=40)
    first = open_workspace(repo.path, {"database_url": db})
    first.ingest()
    answers(first)
    kept = cache_path(first.repo.git_dir)
    assert kept.exists()
    fed_before = first.partner_index().fed

    for k in range(6):  # new commits after the cached head
        repo.commit(f"extend the api again {k}", {"api.py": f"a = {k} + 1\n", "client.py": f"c = {k} + 1\n"})
    warm = open_workspace(repo.path, {"database_url": db})
    warm.ingest()
    from empathy.core.usecases.partners import open_partner_index

    restored = open_partner_index(warm, cached=True)
    assert restored.fed == fed_before  # it starts where the last process stopped
    warm_answers = answers(warm)
    assert warm_answers[-1] == fed_before + 6
    assert warm_answers == fresh(repo.path, db)


def test_a_rewritten_history_or_a_damaged_cache_is_rebuilt(
    repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    build_partner_history(repo, rounds=30)
    ws = open_workspace(repo.path, {"database_url": db})
    ws.ingest()
    answers(ws)
    from empathy.core.usecases.partners import open_partner_index

    repo.git_repo.git.reset("--hard", "HEAD~3")  # three commits the cache was fed are gone
    repo.commit("another ending", {"api.py": "a = 'other'\n"})
    again = open_workspace(repo.path, {"database_url": db})
    again.ingest()
    assert open_partner_index(again, cached=True).fed == 0  # not a prefix of this history: rebuilt
    assert answers(again) == fresh(repo.path, db)

    from empathy.core.usecases import partner_cache

    monkeypatch.setattr(partner_cache, "code_fingerprint", lambda: "the index's code changed")
    assert open_partner_index(again, cached=True).fed == 0  # a pickle of other code is never loaded
    monkeypatch.undo()
    assert open_partner_index(again, cached=True).fed > 0
    cache_path(again.repo.git_dir).write_bytes(b"not a pickle")
    assert open_partner_index(open_workspace(repo.path, {"database_url": db}), cached=True).fed == 0
