"""The level commands end to end: findings, trust gating, forecast, eval, explain, answer, stats.

One three-year repository is built per module (deterministic dates) and copied
for each test, so every test owns its checkout and its store.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import typer.main

import empathy.cli.app as cli
from tests.cli.helpers import flat, invoke
from tests.envs import child_env
from tests.gitrepo import EPOCH, RepoBuilder, build_partner_history, py_source
from tests.plugins.helpers import build_template, clone

DAY = 86_400
ALICE = ("Alice", "alice@example.com")
BOB = ("Bob", "bob@example.com")
CARA = ("Cara", "cara@example.com")

#: The history spans day 0 to day LAST (a little over three years).
LAST = 1100
#: src/engine.py: changed every 40 days by Alice, every other change a bug fix.
ENGINE_DAYS = list(range(20, LAST - 5, 40))
#: src/api.py and src/schema.py: changed together every 100 days by Cara (every third a fix).
PAIR_DAYS = list(range(50, LAST - 5, 100))
#: src/util.py (first named helpers.py): changed every 150 days by Bob (every other a fix).
UTIL_DAYS = list(range(70, LAST - 5, 150))
TABLE_DAY = 300  # src/table.py: 800 lines in one commit (looks generated)
COLD_DAY = 500  # src/cold.py: one fix, otherwise untouched

SOURCES = {"src/engine.py", "src/api.py", "src/schema.py", "src/util.py", "src/cold.py", "src/table.py"}
LEVEL_PLUGINS = {"reactive", "guided", "proactive", "anticipatory", "systemic"}
FINDING_KEYS = {
    "code",
    "level",
    "severity",
    "location",
    "reason",
    "action",
    "source",
    "evidence",
    "probability",
    "horizon_days",
    "score",
    "fingerprint",
}
RANKINGS = {
    "ours (model)",
    "ours, risk order",
    "ours, per-line order",
    "fix+commit density per line",
    "commits 12m per line",
    "oracle per line",
    "LOC",
    "commits 12m",
    "prior fixes",
    "Google TWR",
    "FixCache",
    "rank avg (LOC, commits 12m, TWR)",
    "random",
    "oracle",
}
METRICS = {"touch@10%", "touch@20%", "touch@20%LOC", "P@10"}


def build_history(repo: RepoBuilder) -> None:
    repo.commit(
        "initial layout",
        {
            "src/engine.py": py_source(8, 2, "e"),
            "src/api.py": "def handler(x):\n    return x\n",
            "src/schema.py": "FIELDS = []\n",
            "helpers.py": "def helper(x):\n    return x\n",
            "src/cold.py": "COLD = 0\n",
            "tests/test_engine.py": "def test_x():\n    assert True\n",
            "README.md": "# demo\n",
        },
        author=ALICE,
        day=0,
    )
    repo.rename("helpers.py", "src/util.py", "move helpers into src", author=BOB, day=3)
    events: list[tuple[int, str, int]] = []
    events += [(d, "engine", k) for k, d in enumerate(ENGINE_DAYS)]
    events += [(d, "pair", k) for k, d in enumerate(PAIR_DAYS)]
    events += [(d, "util", k) for k, d in enumerate(UTIL_DAYS)]
    events += [(TABLE_DAY, "table", 0), (COLD_DAY, "cold", 0)]
    for d, kind, k in sorted(events):
        if kind == "engine":
            message = f"fix crash in engine {k}" if k % 2 else f"extend engine {k}"
            repo.commit(message, {"src/engine.py": py_source(8 + k // 3, 2, "e") + f"# {k}\n"}, author=ALICE, day=d)
        elif kind == "pair":
            message = f"fix field handling {k}" if k % 3 == 2 else f"add field {k}"
            files: dict[str, str | bytes] = {
                "src/api.py": f"def handler(x):\n    return x + {k}\n",
                "src/schema.py": f"FIELDS = {[k]}\n",
            }
            repo.commit(message, files, author=CARA, day=d)
        elif kind == "util":
            message = f"fix util edge case {k}" if k % 2 else f"util tweak {k}"
            repo.commit(message, {"src/util.py": f"def helper(x):\n    return x * {k + 2}\n"}, author=BOB, day=d)
        elif kind == "table":
            table = "".join(f"T{i} = {i}\n" for i in range(800))
            repo.commit("add lookup table", {"src/table.py": table}, author=BOB, day=d)
        else:
            repo.commit("fix cold path", {"src/cold.py": "COLD = 1\n"}, author=CARA, day=d)
    # The last commit changes only one file of the coupled pair.
    repo.commit("api: accept keywords", {"src/api.py": "def handler(x, **kw):\n    return x\n"}, author=CARA, day=LAST)
    repo.git_repo.git.gc("-q")  # one pack instead of hundreds of loose objects: each test copies the repository


# Exact numbers the history above implies.
ENGINE_COMMITS = 1 + len(ENGINE_DAYS)
ENGINE_FIXES = sum(1 for k in range(len(ENGINE_DAYS)) if k % 2)
ENGINE_WINDOW = sum(1 for d in ENGINE_DAYS if d > LAST - 365)  # commits in the 365-day window
HOTSPOT_CONFIDENCE = round(1 - 2 ** (-ENGINE_WINDOW / 5), 4)  # churn: saturate(commits, 5)
API_REVS = 1 + len(PAIR_DAYS) + 1  # initial layout, the pair commits, the last commit
SCHEMA_REVS = 1 + len(PAIR_DAYS)
PAIR_SHARED = 1 + len(PAIR_DAYS)
UTIL_COMMITS = 2 + len(UTIL_DAYS)  # initial layout (as helpers.py), the rename, its own commits
UTIL_FIXES = sum(1 for k in range(len(UTIL_DAYS)) if k % 2)


def date_of(day: int) -> str:
    return datetime.fromtimestamp(EPOCH + day * DAY, tz=UTC).strftime("%Y-%m-%d")


# -- helpers -------------------------------------------------------------------


def run_json(*args: str | Path, env: dict[str, str]) -> Any:
    result = invoke(*args, "--json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_history)


@pytest.fixture
def project(history_template: Path, tmp_path: Path) -> RepoBuilder:
    return clone(history_template, tmp_path / "repo")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}


def findings(repo: RepoBuilder, env: dict[str, str], *options: str) -> dict[str, Any]:
    data: dict[str, Any] = run_json("findings", *options, repo.path, env=env)
    return data


def codes_at(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["code"], f["location"]["path"]) for f in data["findings"]}


def feedback(repo: RepoBuilder, env: dict[str, str], rule: str, useful: bool) -> dict[str, Any]:
    flag = "--useful" if useful else "--not-useful"
    data: dict[str, Any] = run_json("feedback", rule, flag, repo.path, env=env)
    return data


def allow_low_forecasts(repo: RepoBuilder) -> None:
    """Let the level-4 plugin report forecasts below 0.5 (the fallback model gives the base rate)."""
    (repo.path / ".empathy.toml").write_text("[plugins.anticipatory]\nmin_probability = 0.0\n", encoding="utf-8")


# -- the commands under test ----------------------------------------------------

LEVEL_COMMANDS = {"findings", "forecast", "eval", "explain", "answer", "feedback", "trust", "stats"}


def test_every_level_command_is_registered() -> None:
    registered = set(typer.main.get_command(cli.app).commands)  # type: ignore[attr-defined]
    assert sorted(LEVEL_COMMANDS - registered) == []
    for command in sorted(LEVEL_COMMANDS):
        assert invoke(command, "--help").exit_code == 0


# -- findings --------------------------------------------------------------------


def test_findings_json_structure(project: RepoBuilder, env: dict[str, str]) -> None:
    allow_low_forecasts(project)
    data = findings(project, env, "--all")
    assert set(data) == {"findings", "held_back", "deselected_by_settings", "plugins"}
    assert data["held_back"] == 0  # --all holds nothing back
    assert set(data["plugins"]) == LEVEL_PLUGINS
    assert all(p["error"] is None for p in data["plugins"].values())

    items = data["findings"]
    for f in items:
        assert set(f) == FINDING_KEYS
        assert f["level"] in {1, 2, 3, 4, 5}
        assert f["severity"] in {"info", "warning", "error"}
        assert f["location"]["path"]
        assert f["reason"].strip() and f["action"].strip()
        assert isinstance(f["evidence"], dict)
        # A probability never comes without its horizon, and only forecasts carry one.
        assert (f["probability"] is None) == (f["horizon_days"] is None)
        assert f["probability"] is None or f["code"] == "fix-forecast"  # only forecasts carry one
    ranks = [{"error": 2, "warning": 1, "info": 0}[f["severity"]] for f in items]
    assert ranks == sorted(ranks, reverse=True)  # most important first

    assert codes_at(data) >= {
        ("hotspot", "src/engine.py"),
        ("fix-prone", "src/engine.py"),
        ("knowledge-island", "src/engine.py"),
        ("complexity-rising", "src/engine.py"),
        ("question-generated", "src/table.py"),
    }
    assert not [f for f in items if f["code"] in {"history", "missing-partner"}]  # nobody asked, no change
    (hotspot,) = [f for f in items if f["code"] == "hotspot"]
    assert hotspot["level"] == 3
    assert hotspot["evidence"]["commits_window"] == ENGINE_WINDOW
    assert hotspot["evidence"]["confidence"] == HOTSPOT_CONFIDENCE
    (question,) = [f for f in items if f["code"] == "question-generated"]
    assert question["level"] == 2
    assert question["evidence"] == {"question": "generated:src/table.py", "commits": 1, "lines_added": 800}

    # Forecast findings: the top 20% of the 6 source files (2), with the forecast's own numbers.
    forecast = run_json("forecast", project.path, env=env)
    expected = {row["path"]: row for row in forecast["forecasts"] if row["rank"] <= 2}
    fix = {f["location"]["path"]: f for f in items if f["code"] == "fix-forecast"}
    assert set(fix) == set(expected)
    for path, f in fix.items():
        assert f["level"] == 4
        # too little history to calibrate: the rank, no probability and no horizon to go with one
        assert f["probability"] is None and expected[path]["probability"] is None and f["horizon_days"] is None
        assert f["evidence"]["rank"] == expected[path]["rank"] and f["evidence"]["calibrated"] is False

    # Gated: the forecasts (uncalibrated and with no track record: confidence 0.3) are held back.
    assert all(f["evidence"]["confidence"] < 0.5 for f in fix.values())
    gated = findings(project, env)
    assert gated["held_back"] == len(fix)
    assert codes_at(gated) == codes_at(data) - {("fix-forecast", p) for p in fix}


def test_select_ignore_and_per_file_ignores_read_as_ruff_reads_them(project: RepoBuilder, env: dict[str, str]) -> None:
    everything = codes_at(findings(project, env, "--all"))
    expected = {("hotspot", "src/engine.py"), ("fix-forecast", "src/engine.py"), ("fix-forecast", "src/api.py")}
    assert expected <= everything
    settings = project.path / ".empathy.toml"
    # ruff's spelling of the table; a glob without '/' matches the file name, as in ruff
    settings.write_text('ignore = ["hotspot"]\n[per-file-ignores]\n"engine.py" = ["fix-forecast"]\n', encoding="utf-8")
    data = findings(project, env, "--all")
    dropped = {c for c in everything if c[0] == "hotspot"} | {("fix-forecast", "src/engine.py")}
    assert codes_at(data) == everything - dropped
    assert data["deselected_by_settings"] == len(dropped)
    assert ("fix-forecast", "src/api.py") in codes_at(data)  # the per-file rule stays on its file

    settings.write_text('select = ["knowledge-island"]\n', encoding="utf-8")
    islands = {c for c in everything if c[0] == "knowledge-island"}
    assert len(islands) == 3 and codes_at(findings(project, env, "--all")) == islands
    settings.unlink()
    env_only = {**env, "EMPATHY_PER_FILE_IGNORES": "src/*:knowledge-island,src/api.py:fix-forecast"}
    assert codes_at(findings(project, env_only, "--all")) == everything - islands - {("fix-forecast", "src/api.py")}


def test_a_misspelt_code_in_the_selection_is_said_by_every_command(project: RepoBuilder, env: dict[str, str]) -> None:
    (project.path / ".empathy.toml").write_text('ignore = ["hotspto"]\n', encoding="utf-8")
    for command in ("findings", "forecast", "trust"):
        result = invoke(command, project.path, env=env)
        assert result.exit_code == 0, result.output
        assert "ignore: no plugin reports the finding code 'hotspto'; did you mean 'hotspot'?" in flat(result.stderr)
    (project.path / ".empathy.toml").write_text('ignore = "hotspot"\n', encoding="utf-8")
    result = invoke("findings", project.path, env=env)
    assert result.exit_code == 4
    assert "ignore = 'hotspot' should be a list of strings" in flat(result.stderr)


def test_findings_file_limits_to_the_path_and_adds_its_history(project: RepoBuilder, env: dict[str, str]) -> None:
    data = findings(project, env, "--file", "src/engine.py")
    assert {f["location"]["path"] for f in data["findings"]} == {"src/engine.py"}
    assert {f["code"] for f in data["findings"]} >= {"history", "hotspot", "fix-prone"}
    (history,) = [f for f in data["findings"] if f["code"] == "history"]
    assert history["level"] == 1 and history["severity"] == "info"
    assert history["evidence"]["commits"] == ENGINE_COMMITS
    assert history["evidence"]["fixes"] == ENGINE_FIXES
    assert history["evidence"]["previous_names"] == []
    assert (
        f"{ENGINE_COMMITS} commits since {date_of(0)}, {ENGINE_FIXES} of them bug fixes, "
        f"last change {date_of(ENGINE_DAYS[-1])}; mostly Alice (100% of commits)"
    ) == history["reason"]
    assert history["action"] == "Run `empathy explain src/engine.py` for the commits, fixes, patterns and forecast"

    both = findings(project, env, "--file", "src/util.py", "--file", "src/cold.py")
    assert {f["location"]["path"] for f in both["findings"]} <= {"src/util.py", "src/cold.py"}
    hist = {f["location"]["path"]: f["evidence"] for f in both["findings"] if f["code"] == "history"}
    assert hist["src/util.py"]["previous_names"] == ["helpers.py"]
    assert (hist["src/util.py"]["commits"], hist["src/util.py"]["fixes"]) == (UTIL_COMMITS, UTIL_FIXES)
    assert (hist["src/cold.py"]["commits"], hist["src/cold.py"]["fixes"]) == (2, 1)
    assert not [f for f in both["findings"] if f["code"] == "question-fix-pattern"]

    # A file nobody knows is an error (exit 9, as `explain`), not an empty table.
    missing = invoke("findings", "--file", "nope.py", project.path, env=env)
    assert missing.exit_code == 9 and "nope.py is neither in the working tree nor in the ingested history" in flat(
        missing.stderr
    )
    # A path relative to the current directory is found, as `explain` finds it.
    cwd = Path.cwd()
    os.chdir(project.path / "src")
    try:
        local = findings(project, env, "--file", "engine.py")
    finally:
        os.chdir(cwd)
    assert {f["location"]["path"] for f in local["findings"]} == {"src/engine.py"}


@pytest.fixture
def coupled(tmp_path: Path) -> RepoBuilder:
    """Enough co-change history for the index to learn and warn; the last commit changes api.py alone."""
    repo = RepoBuilder(tmp_path / "coupled")
    build_partner_history(repo, rounds=70)
    repo.commit("api only", {"api.py": "a = 99\n"})
    return repo


def test_findings_range_head_names_the_untouched_partner(coupled: RepoBuilder, env: dict[str, str]) -> None:
    data = findings(coupled, env, "--range", "HEAD")
    partners = [f for f in data["findings"] if f["code"] == "missing-partner"]
    (missing,) = partners
    assert missing["level"] == 3 and missing["severity"] == "warning"
    assert missing["location"]["path"] == "client.py"
    ev = missing["evidence"]
    assert ev["partner"] == "client.py" and ev["changed"] == ["api.py"]
    assert ev["warn_threshold"] <= ev["probability"] <= 1.0
    assert ev["partner_commits"] > ev["together"] > 0  # "changed together in N of the M commits that changed api.py"
    assert missing["reason"].startswith("you changed api.py; client.py is untouched and probably needs changing too")
    assert f"in {ev['last_together_sha'][:7]}" in missing["reason"]
    # The change is about api.py: nothing on files it did not touch.
    assert {f["location"]["path"] for f in data["findings"]} <= {"api.py", "client.py"}
    # The same question as an explicit A..B range.
    ranged = findings(coupled, env, "--range", "HEAD~1..HEAD")
    assert [f for f in ranged["findings"] if f["code"] == "missing-partner"] == partners


def test_findings_diff_sees_the_working_tree(coupled: RepoBuilder, env: dict[str, str]) -> None:
    clean = findings(coupled, env, "--diff")
    assert not [f for f in clean["findings"] if f["code"] == "missing-partner"]

    (coupled.path / "src" / "m3.py").write_text("x = 'new'\n", encoding="utf-8")
    (coupled.path / "src" / "extra.py").write_text("EXTRA = 1\n", encoding="utf-8")  # untracked
    data = findings(coupled, env, "--diff")
    (missing,) = [f for f in data["findings"] if f["code"] == "missing-partner"]
    assert missing["location"]["path"] == "tests/test_m3.py"
    assert "src/m3.py" in missing["evidence"]["changed"]
    # Asking does not touch the working tree.
    assert coupled.git_repo.git.status("--porcelain").splitlines() == [" M src/m3.py", "?? src/extra.py"]


def test_findings_diff_and_range_together_exit_4(project: RepoBuilder, env: dict[str, str]) -> None:
    result = invoke("findings", "--json", "--diff", "--range", "HEAD", project.path, env=env)
    assert result.exit_code == 4
    assert "error: give either --diff or --range, not both" in flat(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize("spec", ["no-such-branch", "HEAD..no-such-branch", "HEAD~500"])
def test_findings_bad_range_exit_8(project: RepoBuilder, env: dict[str, str], spec: str) -> None:
    result = invoke("findings", "--json", "--range", spec, project.path, env=env)
    assert result.exit_code == 8
    err = flat(result.stderr)
    assert f"error: '{spec}' does not name commits" in err
    assert "hint: use a commit, a branch or a range such as main..HEAD" in err
    assert result.stdout == ""


def test_findings_range_of_the_root_commit(project: RepoBuilder, env: dict[str, str]) -> None:
    root = project.git_repo.git.rev_list("--max-parents=0", "HEAD").strip()
    result = invoke("findings", "--json", "--range", root, project.path, env=env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "src/engine.py" in {f["location"]["path"] for f in data["findings"]}  # the root commit added it


def test_python_m_empathy_findings_bad_range(project: RepoBuilder, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "empathy", "findings", "--json", "--range", "nope..HEAD", str(project.path)],
        capture_output=True,
        text=True,
        env={
            **child_env(),
            "COLUMNS": "300",
        },
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 8
    assert proc.stdout == ""
    assert "error:" in proc.stderr and "does not name commits" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_closed_stdout_is_not_an_internal_error(project: RepoBuilder, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "empathy", "forecast", "--json", str(project.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader went away (head, less quitting) before the JSON was written
    _out, err = proc.communicate(timeout=120)
    text = err.decode()
    assert "internal error" not in text and "BrokenPipeError" not in text
    assert proc.returncode != 70


# -- trust gating ------------------------------------------------------------------


def test_not_useful_feedback_raises_the_threshold_until_hotspots_are_held_back(
    project: RepoBuilder, env: dict[str, str]
) -> None:
    before = findings(project, env)
    assert ("hotspot", "src/engine.py") in codes_at(before)
    assert before["held_back"] == 2  # the two unproven forecasts, nothing else
    assert 0.70 < HOTSPOT_CONFIDENCE < 0.75  # shown at 0.70, held back at 0.75

    steps = [feedback(project, env, "hotspot", useful=False) for _ in range(4)]
    assert [(s["threshold_old"], s["threshold_new"]) for s in steps] == [
        (0.5, 0.55),
        (0.55, 0.6),
        (0.6, 0.65),
        (0.65, 0.7),
    ]
    assert [s["crossed"] for s in steps] == [[], [], [], [0.7]]
    assert steps[-1]["repo_trust"]["raw_n"] == 4
    assert run_json("trust", project.path, env=env)["thresholds"] == {"hotspot": 0.7}
    still = findings(project, env)
    assert ("hotspot", "src/engine.py") in codes_at(still)  # confidence 0.71 clears 0.70

    step = feedback(project, env, "hotspot", useful=False)
    assert (step["threshold_old"], step["threshold_new"]) == (0.7, 0.75)
    assert run_json("trust", project.path, env=env)["thresholds"] == {"hotspot": 0.75}
    gated = findings(project, env)
    assert "hotspot" not in {f["code"] for f in gated["findings"]}
    assert gated["held_back"] == 1 + 2  # the hotspot, and the two unproven forecasts as before
    # Only that rule moved: the other level-3 findings on the same file still show.
    assert codes_at(gated) == codes_at(before) - {("hotspot", "src/engine.py")}
    everything = findings(project, env, "--all")
    assert ("hotspot", "src/engine.py") in codes_at(everything)
    assert everything["held_back"] == 0
    # Level 1 answers a question and is never held back.
    asked = findings(project, env, "--file", "src/engine.py")
    assert {f["code"] for f in asked["findings"]} >= {"history"}
    assert "hotspot" not in {f["code"] for f in asked["findings"]}


def test_feedback_undo_takes_the_newest_back_exactly(project: RepoBuilder, env: dict[str, str]) -> None:
    """Item 17.6: `feedback --undo` puts the threshold, the repository's record and the findings back."""
    nothing = invoke("feedback", "--undo", project.path, env=env)
    assert nothing.exit_code == 4 and "there is no feedback to take back" in flat(nothing.stderr)
    shown = codes_at(findings(project, env))
    for _ in range(5):  # hotspot: 0.50 -> 0.75, which holds the hotspot back
        feedback(project, env, "hotspot", useful=False)
    after_hotspot = run_json("trust", project.path, env=env)
    feedback(project, env, "fix-prone", useful=True)
    assert run_json("trust", project.path, env=env)["thresholds"] == {"hotspot": 0.75, "fix-prone": 0.45}

    undone = run_json("feedback", "--undo", project.path, env=env)  # the newest: fix-prone
    assert undone["undone"]["rule"] == "fix-prone" and undone["undone"]["useful"] is True
    assert undone["undone"]["surface"] == "cli"
    assert (undone["threshold_old"], undone["threshold_new"]) == (0.45, 0.5)
    now = run_json("trust", project.path, env=env)
    assert now["thresholds"] == after_hotspot["thresholds"] | {"fix-prone": 0.5}
    raw_n = {(e["subject_kind"], e["subject"]): e["raw_n"] for e in now["estimates"]}
    assert raw_n == {(e["subject_kind"], e["subject"]): e["raw_n"] for e in after_hotspot["estimates"]}
    assert raw_n[("rule", "hotspot")] == 5 and ("rule", "fix-prone") not in raw_n  # its outcome is gone too

    assert ("hotspot", "src/engine.py") not in codes_at(findings(project, env))
    text = invoke("feedback", "hotspot", "--undo", project.path, env=env)
    assert text.exit_code == 0, text.output
    assert "took back `hotspot --not-useful`" in flat(text.stdout) and "threshold 0.75 -> 0.70" in flat(text.stdout)
    assert codes_at(findings(project, env)) == shown  # 0.70 shows the hotspot again

    both = invoke("feedback", "hotspot", "--undo", "--useful", project.path, env=env)
    assert both.exit_code == 4 and "cannot be given with --useful" in flat(both.stderr)
    none_left = invoke("feedback", "bogus-rule", "--undo", project.path, env=env)
    assert none_left.exit_code == 4 and "no feedback to take back on 'bogus-rule'" in flat(none_left.stderr)


def test_useful_feedback_lowers_the_threshold_and_releases_held_findings(
    project: RepoBuilder, env: dict[str, str]
) -> None:
    allow_low_forecasts(project)
    held = findings(project, env)
    assert held["held_back"] == 2 and "fix-forecast" not in {f["code"] for f in held["findings"]}
    forecasts = [f for f in findings(project, env, "--all")["findings"] if f["code"] == "fix-forecast"]
    assert {f["probability"] for f in forecasts} == {None}  # too little history to calibrate: no probability
    assert {f["evidence"]["confidence"] for f in forecasts} == {0.3}  # unproven; released once the threshold is 0.30

    first = feedback(project, env, "fix-forecast", useful=True)
    assert (first["threshold_old"], first["threshold_new"], first["crossed"]) == (0.5, 0.45, [0.5])
    assert run_json("trust", project.path, env=env)["thresholds"] == {"fix-forecast": 0.45}
    for _ in range(2):
        feedback(project, env, "fix-forecast", useful=True)
    assert findings(project, env)["held_back"] == 2  # 0.35 still holds them back
    last = feedback(project, env, "fix-forecast", useful=True)
    # Landing on the 0.30 mark from above is not a crossing (the band is "at or above").
    assert (last["threshold_old"], last["threshold_new"], last["crossed"]) == (0.35, 0.3, [])
    released = findings(project, env)
    assert released["held_back"] == 0
    assert len([f for f in released["findings"] if f["code"] == "fix-forecast"]) == 2


def test_thresholds_stay_within_bounds_and_levels_follow_the_record(project: RepoBuilder, env: dict[str, str]) -> None:
    fresh = run_json("trust", project.path, env=env)
    assert fresh["estimates"] == [] and fresh["thresholds"] == {}
    assert fresh["default_threshold"] == 0.5
    assert fresh["levels_allowed"] == {"1": True, "2": True, "3": True, "4": True, "5": False}

    ups = [feedback(project, env, "hotspot", useful=False)["threshold_new"] for _ in range(10)]
    assert ups == [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.9, 0.9]
    sour = run_json("trust", project.path, env=env)
    assert sour["thresholds"] == {"hotspot": 0.9}
    # Ten dismissals: enough evidence that forecasts are not wanted here; facts (1-3) still show.
    assert sour["levels_allowed"] == {"1": True, "2": True, "3": True, "4": False, "5": False}

    downs = [feedback(project, env, "hotspot", useful=True)["threshold_new"] for _ in range(16)]
    assert all(0.2 <= t <= 0.9 for t in ups + downs)
    assert downs[-3:] == [0.2, 0.2, 0.2]
    assert downs == sorted(downs, reverse=True)
    sweet = run_json("trust", project.path, env=env)
    assert sweet["thresholds"] == {"hotspot": 0.2}
    # 16 useful against 10 not useful: a good record with enough outcomes allows every level.
    assert sweet["levels_allowed"] == {"1": True, "2": True, "3": True, "4": True, "5": True}
    repo = [e for e in sweet["estimates"] if e["subject_kind"] == "repo"]
    assert len(repo) == 1 and repo[0]["raw_n"] == 26


def test_feedback_and_trust_tables(project: RepoBuilder, env: dict[str, str]) -> None:
    result = invoke("feedback", "missing-partner", "--not-useful", project.path, env=env)
    assert result.exit_code == 0
    assert "missing-partner: threshold 0.50 -> 0.55" in flat(result.stdout)
    table = invoke("trust", project.path, env=env)
    assert table.exit_code == 0
    out = flat(table.stdout)
    assert "missing-partner=0.55" in out
    assert "levels shown: 1 yes, 2 yes, 3 yes, 4 yes, 5 no" in out


def test_feedback_on_an_empty_rule_is_a_usage_error(project: RepoBuilder, env: dict[str, str]) -> None:
    result = invoke("feedback", "", "--not-useful", project.path, env=env)
    assert result.exit_code == 4
    assert "internal error" not in result.stderr


def test_feedback_on_an_unknown_rule_or_without_a_direction_changes_nothing(
    project: RepoBuilder, env: dict[str, str]
) -> None:
    typo = invoke("feedback", "hotspto", "--useful", project.path, env=env)
    assert typo.exit_code == 4
    text = flat(typo.stderr)
    assert "no finding has the code 'hotspto' here; did you mean 'hotspot'?" in text
    assert "known codes: " in text and "fix-prone" in text
    undecided = invoke("feedback", "hotspot", project.path, env=env)
    assert undecided.exit_code == 4 and "--useful or --not-useful" in flat(undecided.stderr)
    # neither moved anything: the ledger has no record and no threshold moved
    assert run_json("trust", project.path, env=env)["thresholds"] == {}


# -- forecast ----------------------------------------------------------------------


def test_forecast_ranks_every_python_source_file_once(project: RepoBuilder, env: dict[str, str]) -> None:
    data = run_json("forecast", project.path, env=env)
    assert data["as_of"] == EPOCH + LAST * DAY  # the newest commit
    assert data["horizon_days"] == 90
    assert data["files"] == len(SOURCES)
    rows = data["forecasts"]
    paths = [r["path"] for r in rows]
    assert sorted(paths) == sorted(SOURCES)  # tests/, README.md and the old name are not ranked
    assert [r["rank"] for r in rows] == list(range(1, len(SOURCES) + 1))
    assert 0.0 <= data["base_rate"] <= 1.0
    # Too little history to train: the output says so, and no probability is shown (only the rank).
    assert data["train_rows"] < 150 and "labelled" in data["fallback"]
    assert {r["probability"] for r in rows} == {None} and data["uncalibrated"]
    assert all(r["fixes_per_kloc"] >= 0.0 for r in rows) and any(r["fixes_per_kloc"] > 0 for r in rows)
    assert data["track_record"] is None
    assert paths[0] == "src/engine.py"  # most commits, most fixes, most lines after the table

    top = run_json("forecast", "--top", "2", project.path, env=env)
    assert top["forecasts"] == rows[:2]
    longer = run_json("forecast", "--horizon", "365", project.path, env=env)
    assert longer["horizon_days"] == 365 and sorted(r["path"] for r in longer["forecasts"]) == sorted(SOURCES)


def test_forecast_as_of_uses_the_past_only(project: RepoBuilder, env: dict[str, str]) -> None:
    when = "2022-03-01"
    at = int(datetime(2022, 3, 1, tzinfo=UTC).timestamp())
    assert EPOCH < at < EPOCH + LAST * DAY
    past = run_json("forecast", "--as-of", when, project.path, env=env)
    assert past["as_of"] == at
    assert {r["path"] for r in past["forecasts"]} == SOURCES  # every file existed by then
    now = run_json("forecast", project.path, env=env)
    assert past["as_of"] != now["as_of"]

    # The future arrives: a rename, a new file, fixes everywhere.
    project.rename("src/cold.py", "src/frozen.py", "fix: rename cold", author=BOB, day=LAST + 10)
    project.commit(
        "fix crash everywhere",
        {"src/new.py": "NEW = 1\n", "src/util.py": "def helper(x):\n    return -x\n", "src/schema.py": "F = 0\n"},
        author=BOB,
        day=LAST + 20,
    )
    for k in range(5):
        project.commit(f"fix bug {k}", {"src/api.py": f"def handler(x):\n    return {k}\n"}, day=LAST + 30 + k)
    again = run_json("forecast", "--as-of", when, project.path, env=env)
    assert again == past
    moved = run_json("forecast", project.path, env=env)
    assert moved["as_of"] == EPOCH + (LAST + 34) * DAY
    assert "src/new.py" in {r["path"] for r in moved["forecasts"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--as-of", "last tuesday"], "--as-of 'last tuesday' is not a date"),
        (["--as-of", "2020-13-45"], "is not a date"),
        (["--as-of", "2019-06-30"], "--as-of 2019-06-30 is before the first commit"),
        (["--horizon", "-30"], "--horizon must be a positive number of days"),
        (["--horizon", "0"], "--horizon must be a positive number of days"),
    ],
)
def test_forecast_bad_options_exit_4(
    project: RepoBuilder, env: dict[str, str], options: list[str], message: str
) -> None:
    result = invoke("forecast", "--json", *options, project.path, env=env)
    assert result.exit_code == 4, result.stdout[:200]
    assert result.stdout == ""
    assert "error:" in result.stderr and message in flat(result.stderr)


def test_forecast_as_of_garbage_gives_a_hint(project: RepoBuilder, env: dict[str, str]) -> None:
    result = invoke("forecast", "--as-of", "yesterday", project.path, env=env)
    assert result.exit_code == 4
    assert "hint: use YYYY-MM-DD, e.g. --as-of 2024-01-31" in flat(result.stderr)


# -- eval ------------------------------------------------------------------------


def test_eval_json_compares_every_baseline_on_yearly_cutoffs(project: RepoBuilder, env: dict[str, str]) -> None:
    data = run_json("eval", "--horizon", "365", project.path, env=env)
    summary = data["summary"]
    assert summary["horizon_days"] == 365
    # Cutoffs one year apart from the newest commit, each with a year of history before it.
    last = EPOCH + LAST * DAY
    assert [c["at"] for c in data["cutoffs"]] == [last - 365 * DAY, last - 730 * DAY]
    assert summary["cutoffs"] == 2
    assert set(summary["rankings"]) == RANKINGS
    assert all(set(v) == METRICS for v in summary["rankings"].values())
    ours = {"ours (model)", "ours, risk order", "ours, per-line order"}
    assert summary["best_baseline"] in RANKINGS - ours - {"oracle", "oracle per line", "random"}
    assert summary["best_baseline_loc"] in RANKINGS - ours - {"oracle", "oracle per line", "random"}
    assert {m: summary[m] for m in METRICS} == summary["rankings"]["ours (model)"]
    for cut in data["cutoffs"]:
        assert cut["files"] == len(SOURCES) and cut["fix_touches"] > 0
        assert set(cut["scores"]) == RANKINGS
        oracle = cut["scores"]["oracle"]["touch@20%"]
        for name, scores in cut["scores"].items():
            assert 0.0 <= scores["touch@20%"] <= oracle, name
    assert data["cutoffs"][1]["train_rows"] == 0  # nothing labelled before the oldest cutoff
    assert data["cutoffs"][0]["train_rows"] > 0

    table = invoke("eval", "--horizon", "365", project.path, env=env)
    assert table.exit_code == 0
    text = flat(table.stdout)
    assert "file level, 2 cutoffs, 365-day horizon" in text
    # it leads with a sentence a user can check against the table below it
    ours = round(100 * summary["rankings"]["ours (model)"]["touch@20%"])
    size = round(100 * summary["rankings"]["LOC"]["touch@20%"])
    assert text.startswith(
        f"Verdict: over 2 past cutoffs, the 20% of files we ranked riskiest held {ours}% of the next 365 days' "
        f"bug-fix touches; size alone: {size}%; the best simple rule ("
    )
    assert "Google TWR" in table.stdout and "FixCache" in table.stdout


def test_eval_on_a_young_repository_exits_4_with_a_hint(repo: RepoBuilder, env: dict[str, str]) -> None:
    repo.commit("start", {"a.py": "a = 0\n"}, day=0)
    repo.commit("fix a", {"a.py": "a = 1\n"}, day=30)
    repo.commit("more", {"a.py": "a = 2\n", "b.py": "b = 0\n"}, day=200)
    result = invoke("eval", "--json", "--horizon", "365", repo.path, env=env)
    assert result.exit_code == 4
    err = flat(result.stderr)
    assert "error: not enough history for a 365-day backtest" in err
    assert "hint: try a shorter --horizon" in err
    assert result.stdout == ""


def test_eval_leaves_a_track_record_for_forecast_and_explain(project: RepoBuilder, env: dict[str, str]) -> None:
    assert run_json("forecast", project.path, env=env)["track_record"] is None
    data = run_json("eval", project.path, env=env)  # the default horizon is the forecast's (90 days)
    summary = data["summary"]
    assert summary["horizon_days"] == 90 and summary["cutoffs"] == len(data["cutoffs"]) >= 1
    assert all(c["at"] <= EPOCH + (LAST - 90) * DAY for c in data["cutoffs"])

    forecast = run_json("forecast", project.path, env=env)
    assert forecast["track_record"] == summary
    assert run_json("forecast", "--horizon", "365", project.path, env=env)["track_record"] is None  # other horizon
    explained = run_json("explain", "src/engine.py", "-C", project.path, env=env)
    assert explained["forecast"]["track_record"] == summary
    table = invoke("forecast", project.path, env=env)
    assert f"track record here ({summary['cutoffs']} cutoffs, 90-day horizon)" in flat(table.stdout)


# -- explain ---------------------------------------------------------------------


def test_explain_json(project: RepoBuilder, env: dict[str, str]) -> None:
    info = run_json("explain", "src/util.py", "-C", project.path, env=env)
    assert info["path"] == "src/util.py" and info["alive"] is True
    assert info["previous_names"] == ["helpers.py"]
    assert info["commits"] == UTIL_COMMITS
    assert info["fixes"] == UTIL_FIXES
    assert info["first_change"] == date_of(0) and info["last_change"] == date_of(UTIL_DAYS[-1])
    assert info["authors"] == [
        {"name": "Bob", "commits": UTIL_COMMITS - 1, "share": round((UTIL_COMMITS - 1) / UTIL_COMMITS, 3)},
        {"name": "Alice", "commits": 1, "share": round(1 / UTIL_COMMITS, 3)},
    ]
    fix_days = [d for k, d in enumerate(UTIL_DAYS) if k % 2]
    assert [c["date"] for c in info["recent_fixes"]] == [date_of(d) for d in fix_days[-5:]]
    assert all(c["subject"].startswith("fix util edge case") for c in info["recent_fixes"])
    # each fix behind the count says why it counts, and how to correct it
    assert all("starts with a fix verb" in c["why"] for c in info["recent_fixes"])
    assert all(c["correct"] == f"empathy label {c['sha']} --not-fix" for c in info["recent_fixes"])
    assert [c["date"] for c in info["recent_commits"]] == [date_of(d) for d in UTIL_DAYS[-5:]]
    assert info["patterns"] == []
    forecast = info["forecast"]
    assert forecast["horizon_days"] == 90 and forecast["files"] == len(SOURCES)
    ranked = run_json("forecast", project.path, env=env)["forecasts"]
    (row,) = [r for r in ranked if r["path"] == "src/util.py"]
    assert forecast["rank"] == row["rank"]
    assert forecast["probability"] == pytest.approx(row["probability"], abs=6e-4)  # 3 vs 4 decimals

    engine = run_json("explain", "src/engine.py", "-C", project.path, "--no-forecast", env=env)
    assert "forecast" not in engine
    assert (engine["commits"], engine["fixes"]) == (ENGINE_COMMITS, ENGINE_FIXES)
    assert engine["authors"] == [{"name": "Alice", "commits": ENGINE_COMMITS, "share": 1.0}]
    assert {p["kind"] for p in engine["patterns"]} == set()  # nothing mined yet in this store
    run_json("mine", project.path, env=env)
    mined = run_json("explain", "src/engine.py", "-C", project.path, "--no-forecast", env=env)
    assert {p["kind"] for p in mined["patterns"]} >= {"hotspot", "fix_prone", "knowledge_island"}

    # What the advice names is one command away: the files (and the test module) that changed with it.
    api = run_json("explain", "src/api.py", "-C", project.path, "--no-forecast", env=env)
    together = api["changes_with"]
    assert together["files"][0]["path"] == "src/schema.py"
    assert len(PAIR_DAYS) <= together["files"][0]["commits"] <= PAIR_SHARED <= together["of_commits"]
    assert together["test"] is None  # no test module ever changed with it twice
    api_table = flat(invoke("explain", "src/api.py", "-C", project.path, "--no-forecast", env=env).stdout)
    assert f"changes with, in its last {together['of_commits']} commits: src/schema.py (" in api_table

    # The old name and a path on disk both lead to the file.
    assert run_json("explain", "helpers.py", "-C", project.path, env=env)["path"] == "src/util.py"
    on_disk = project.path / "src" / "util.py"
    assert run_json("explain", on_disk, "-C", project.path, "--no-forecast", env=env)["path"] == "src/util.py"

    table = invoke("explain", "src/util.py", "-C", project.path, env=env)
    assert table.exit_code == 0
    out = flat(table.stdout)
    assert "previously: helpers.py" in out
    assert f"{UTIL_COMMITS} commits from {date_of(0)} to {date_of(UTIL_DAYS[-1])}" in out
    assert "no track record yet (`empathy eval --horizon 90`)" in out


def test_explain_unknown_file_exits_9_with_a_hint(project: RepoBuilder, env: dict[str, str]) -> None:
    result = invoke("explain", "src/nope.py", "-C", project.path, "--json", env=env)
    assert result.exit_code == 9
    err = flat(result.stderr)
    assert "error: no commit in the ingested history touches src/nope.py" in err
    assert "hint: give a path relative to the repository root" in err
    assert result.stdout == ""


# -- answer ----------------------------------------------------------------------


def test_answer_generated_excludes_the_file(project: RepoBuilder, env: dict[str, str]) -> None:
    assert ("question-generated", "src/table.py") in codes_at(findings(project, env))
    result = invoke("answer", "generated:src/table.py", "yes", "-C", project.path, env=env)
    assert result.exit_code == 0, result.output
    assert "generated:src/table.py = 'yes' stored" in flat(result.stdout)

    config = run_json("config", "show", project.path, env=env)
    (exclude,) = [r for r in config["settings"] if r["name"] == "exclude"]
    assert "src/table.py" in exclude["value"]
    assert "tests/*" in exclude["value"]  # added to the defaults, not replacing them
    assert exclude["source"].startswith("answers")

    # From the next run on the answer is used: no question again, and the file is not ranked.
    after = findings(project, env, "--all")
    assert "question-generated" not in {f["code"] for f in after["findings"]}
    forecast = run_json("forecast", project.path, env=env)
    assert {r["path"] for r in forecast["forecasts"]} == SOURCES - {"src/table.py"}

    # An environment variable still wins over the answer.
    env_exclude = {**env, "EMPATHY_EXCLUDE": "docs/*,build/*"}
    overridden = run_json("config", "show", project.path, env=env_exclude)
    (row,) = [r for r in overridden["settings"] if r["name"] == "exclude"]
    assert row["value"] == ["docs/*", "build/*"] and row["source"].startswith("env")


@pytest.mark.parametrize(
    ("question", "value", "message"),
    [
        ("fix-pattern", "(unclosed", "'(unclosed' is not a valid regular expression"),
        ("generated:src/table.py", "maybe", "answer 'generated:src/table.py' with yes or no"),
        ("favourite-colour", "blue", "unknown question 'favourite-colour'"),
    ],
)
def test_bad_answers_exit_4_and_store_nothing(
    project: RepoBuilder, env: dict[str, str], question: str, value: str, message: str
) -> None:
    result = invoke("answer", question, value, "-C", project.path, env=env)
    assert result.exit_code == 4
    assert f"error: {message}" in flat(result.stderr)
    config = run_json("config", "show", project.path, env=env)
    sources = {r["name"]: r["source"] for r in config["settings"]}
    assert sources["fix_pattern"] == "default" and sources["exclude"] == "default"


def test_answer_fix_pattern_changes_what_counts_as_a_fix(project: RepoBuilder, env: dict[str, str]) -> None:
    assert run_json("explain", "src/engine.py", "-C", project.path, "--no-forecast", env=env)["fixes"] == ENGINE_FIXES
    result = invoke("answer", "fix-pattern", r"^extend engine", "-C", project.path, env=env)
    assert result.exit_code == 0
    config = run_json("config", "show", project.path, env=env)
    (row,) = [r for r in config["settings"] if r["name"] == "fix_pattern"]
    assert row["value"] == r"^extend engine" and row["source"].startswith("answers")
    engine = run_json("explain", "src/engine.py", "-C", project.path, "--no-forecast", env=env)
    # the team's marker adds its fixes to the ones the labels find ("fix crash ..." still counts)
    assert engine["fixes"] == len(ENGINE_DAYS)
    assert any(f["why"] == "matches the fix_pattern setting" for f in engine["recent_fixes"])


# -- stats -----------------------------------------------------------------------


def test_stats_json(project: RepoBuilder, env: dict[str, str]) -> None:
    shown = run_json("analyze", project.path, env=env)["patterns"]
    for _ in range(2):
        feedback(project, env, "hotspot", useful=False)
    feedback(project, env, "fix-prone", useful=True)

    data = run_json("stats", project.path, env=env)
    assert set(data) == {"pattern_usage", "rules", "trust_trend"}
    assert data["pattern_usage"] == dict(Counter(p["kind"] for p in shown))  # analyze showed each once
    rules = {r["rule"]: r for r in data["rules"]}
    assert set(rules) == {"hotspot", "fix-prone"}
    assert rules["hotspot"]["n"] == 2 and rules["hotspot"]["threshold"] == 0.6
    assert rules["hotspot"]["success_rate"] == pytest.approx(1 / 4, abs=1e-3)  # Beta(1, 1 + 2)
    assert rules["fix-prone"]["n"] == 1 and rules["fix-prone"]["threshold"] == 0.45
    assert rules["fix-prone"]["success_rate"] == pytest.approx(2 / 3, abs=1e-3)  # Beta(1 + 1, 1)
    assert all(0.0 <= r["lower"] <= r["success_rate"] for r in rules.values())

    trend = data["trust_trend"]
    assert len(trend) == 8
    assert [t["as_of"] for t in trend] == sorted(t["as_of"] for t in trend)
    assert all(b["as_of"] - a["as_of"] == 7 * DAY for a, b in pairwise(trend))
    assert trend[-1]["n"] == pytest.approx(3.0, abs=0.01) and trend[-1]["mean"] == pytest.approx(2 / 5, abs=1e-3)
    assert all(t == {"as_of": t["as_of"], "mean": 0.5, "n": 0.0} for t in trend[:-1])  # nothing a week ago
    assert len(run_json("stats", "--weeks", "3", project.path, env=env)["trust_trend"]) == 3

    table = invoke("stats", project.path, env=env)
    assert table.exit_code == 0
    out = flat(table.stdout)
    assert "patterns shown, by kind:" in out and "hotspot=1" in out
    assert re.search(r"hotspot 0\.25 0\.\d\d 2 0\.60", out)


def test_findings_count_as_pattern_usage(project: RepoBuilder, env: dict[str, str]) -> None:
    shown = findings(project, env)
    assert ("hotspot", "src/engine.py") in codes_at(shown)
    assert run_json("stats", project.path, env=env)["pattern_usage"]["hotspot"] >= 1


def test_findings_after_new_commits_use_fresh_patterns(project: RepoBuilder, env: dict[str, str]) -> None:
    findings(project, env)  # ingests and mines
    for k in range(3):
        project.commit(f"extend engine again {k}", {"src/engine.py": py_source(20, 2, "e") + f"# {k}\n"}, day=LAST + k)
    data = findings(project, env, "--file", "src/engine.py")
    by_code = {f["code"]: f for f in data["findings"]}
    assert by_code["history"]["evidence"]["commits"] == ENGINE_COMMITS + 3  # level 1 reads the new history
    assert by_code["hotspot"]["evidence"]["commits_window"] == ENGINE_WINDOW + 3  # level 3 should too
