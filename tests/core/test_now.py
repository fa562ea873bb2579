"""'Now' is now: windows, ages and "days ago" count back from the clock (or a replay's day), not the last commit.

The test histories are dated from 2020 (``tests.gitrepo.EPOCH``), so a clock
"now" finds them quiet for years: exactly the case a user on a dormant
repository meets.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from empathy.cli.app import app
from empathy.core.errors import ConfigError
from empathy.core.workspace import resolve_as_of
from tests.gitrepo import EPOCH, RepoBuilder
from tests.plugins.helpers import DAY, workspace


def _busy_file(repo: RepoBuilder) -> None:
    for k in range(12):
        repo.commit(f"work {k}", {"core.py": "".join(f"v{i} = {k}\n" for i in range(40))})
    repo.commit("other", {"side.py": "s = 1\n"})


def test_the_clock_is_the_default_and_a_quiet_repository_says_so(
    repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_file(repo)
    monkeypatch.setenv("EMPATHY_AS_OF", "")  # the user's default
    ws = workspace(repo, tmp_path, "[plugins.churn]\ntop_share = 0.5\n")
    history = ws.history()
    assert abs(history.now - time.time()) < 120 and history.newest == EPOCH + 13 * DAY
    notice = ws.quiet_notice()
    assert notice is not None and notice.startswith("no commit for ") and "months (the last on 2020-09-26)" in notice
    ws.mine()
    # nothing happened in the last 365 days before today: no hotspot, whatever the file did in 2020
    assert [p for p in ws.store.patterns(ws.repo_id) if p.kind == "hotspot"] == []


def test_last_commit_and_a_day_replay_the_past(
    repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_file(repo)
    monkeypatch.setenv("EMPATHY_AS_OF", "last-commit")
    ws = workspace(repo, tmp_path, "[plugins.churn]\ntop_share = 0.5\n")
    assert ws.history().now == ws.history().newest and ws.quiet_notice() is None
    ws.mine()
    (hot,) = [p for p in ws.store.patterns(ws.repo_id) if p.kind == "hotspot"]
    assert hot.evidence["commits_window"] == 12
    monkeypatch.setenv("EMPATHY_AS_OF", "2020-10-01")  # five days after the last commit
    (tmp_path / "later").mkdir()
    later = workspace(repo, tmp_path / "later")
    assert later.history().now == resolve_as_of("2020-10-01") == 1_601_596_799  # the end of that day (UTC)
    assert later.quiet_notice() is None  # five days is not quiet


def test_a_bad_as_of_is_a_clear_error(tmp_path: Path, repo: RepoBuilder) -> None:
    with pytest.raises(ConfigError, match="is not a day"):
        resolve_as_of("yesterday")
    repo.commit("one", {"a.py": "a = 1\n"})
    result = CliRunner().invoke(app, ["--as-of", "13/01/2020", "forecast", str(repo.path)])
    assert result.exit_code == 4 and "is not a day" in result.output  # a usage error (README: 4)


def test_as_of_on_the_command_line_replays_and_the_miners_rerun_when_the_day_moves(
    repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_file(repo)
    env = {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    monkeypatch.setenv("EMPATHY_AS_OF", "")
    runner = CliRunner()
    today = runner.invoke(app, ["analyze", "--json", str(repo.path)], env=env)
    assert today.exit_code == 0, today.output
    assert "no commit for " in today.stderr  # the quiet notice, also when stdout is JSON
    assert not [p for p in json.loads(today.stdout)["patterns"] if p["kind"] == "hotspot"]
    # the same store replayed as of the last commit: the miners run again for that day, the hotspot is back
    replay = runner.invoke(app, ["--as-of", "last-commit", "analyze", "--json", str(repo.path)], env=env)
    assert replay.exit_code == 0, replay.output
    assert [p["subjects"] for p in json.loads(replay.stdout)["patterns"] if p["kind"] == "hotspot"] == [["core.py"]]
