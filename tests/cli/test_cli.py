"""The ``empathy`` command line, through typer's CliRunner and as a real process."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import empathy.cli._common as common
from empathy import __version__
from empathy.core.config import CORE_SETTINGS
from empathy.core.hookspecs import hookimpl
from empathy.core.host import PluginHost, default_host
from tests.cli.helpers import flat, invoke
from tests.envs import child_env
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import build_template, clone

BUILTINS = {"churn", "coupling", "fixes", "ownership", "age", "complexity"}


def db_env(tmp_path: Path, name: str) -> dict[str, str]:
    return {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / name}"}


def build_project(repo: RepoBuilder) -> None:
    """a.py and b.py change together 6 times, a.py alone twice more (8 commits)."""
    for k in range(6):
        repo.commit(f"ab {k}", {"a.py": f"a = {k}\n", "b.py": f"b = {k}\n"})
    repo.commit("fix crash in a", {"a.py": "a = 10\n"})
    repo.commit("a again", {"a.py": "a = 11\n"})


@pytest.fixture(scope="module")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory, build_project)


@pytest.fixture
def project(project_template: Path, tmp_path: Path) -> RepoBuilder:
    """A private copy of the project (tests write settings files and stores into it)."""
    return clone(project_template, tmp_path / "repo")


# -- analyze -------------------------------------------------------------------


def test_analyze_json_structure(project: RepoBuilder, tmp_path: Path) -> None:
    result = invoke("analyze", "--json", project.path, env=db_env(tmp_path, "s.db"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout is pure JSON; nothing else is printed there

    assert set(data) == {"repository", "ingest", "plugins", "patterns"}
    assert data["repository"]["head"] == project.head()
    assert data["repository"]["commits"] == 8
    assert data["repository"]["shallow"] is False
    assert Path(data["repository"]["root"]).resolve() == project.path.resolve()
    assert data["ingest"]["new_commits"] == 8
    assert data["ingest"]["warnings"] == []
    assert set(data["plugins"]) == BUILTINS
    assert all(v["error"] is None and v["seconds"] >= 0 for v in data["plugins"].values())

    patterns = data["patterns"]
    assert patterns, "the project has a hotspot, a coupled pair and knowledge islands"
    for p in patterns:
        assert set(p) >= {"kind", "plugin", "subjects", "score", "confidence", "evidence", "summary", "key"}
    weights = [p["score"] * p["confidence"] for p in patterns]
    assert weights == sorted(weights, reverse=True)  # ranked
    coupling = [p for p in patterns if p["kind"] == "coupling"]
    assert [(p["subjects"], p["evidence"]["degree"]) for p in coupling] == [(["a.py", "b.py"], 85.7)]
    assert {p["kind"] for p in patterns} >= {"hotspot", "coupling", "knowledge_island"}

    again = json.loads(invoke("analyze", "--json", project.path, env=db_env(tmp_path, "s.db")).stdout)
    assert again["ingest"]["new_commits"] == 0
    assert again["repository"]["commits"] == 8
    assert [p["key"] for p in again["patterns"]] == [p["key"] for p in patterns]


def test_analyze_kind_and_top(project: RepoBuilder, tmp_path: Path) -> None:
    env = db_env(tmp_path, "s.db")
    only = json.loads(invoke("analyze", "--json", "--kind", "coupling", project.path, env=env).stdout)
    assert [p["kind"] for p in only["patterns"]] == ["coupling"]
    top = json.loads(invoke("analyze", "--json", "--top", "1", project.path, env=env).stdout)
    full = json.loads(invoke("analyze", "--json", project.path, env=env).stdout)
    assert len(full["patterns"]) > 1
    assert top["patterns"] == [{**full["patterns"][0], "usage_count": top["patterns"][0]["usage_count"]}]


def test_analyze_table(project: RepoBuilder, tmp_path: Path) -> None:
    result = invoke("analyze", project.path, env=db_env(tmp_path, "s.db"))
    assert result.exit_code == 0
    out = flat(result.stdout)
    assert "8 commits (8 new" in out
    # the header names the checkout being analysed, not its origin remote
    assert out.startswith(f"{project.path} at ")
    assert "coupling" in out and "hotspot" in out and "a.py" in out
    assert "changed together in 6 commits" in out


def test_analyze_counts_usage_of_shown_patterns(project: RepoBuilder, tmp_path: Path) -> None:
    env = db_env(tmp_path, "s.db")
    shown = json.loads(invoke("analyze", "--json", project.path, env=env).stdout)["patterns"]
    invoke("analyze", "--json", project.path, env=env)
    listed = json.loads(invoke("patterns", "list", "--json", project.path, env=env).stdout)
    assert {p["key"]: p["usage_count"] for p in listed} == {p["key"]: 2 for p in shown}
    # README's short spelling is the same command: `empathy patterns [PATH] [--kind K] [--all] [--json]`
    short = invoke("patterns", "--json", project.path, env=env)
    assert short.exit_code == 0, short.output
    assert json.loads(short.stdout) == listed
    kinds = {
        p["kind"] for p in json.loads(invoke("patterns", project.path, "--kind", "hotspot", "--json", env=env).stdout)
    }
    assert kinds == {"hotspot"}


def test_analyze_outside_a_repository_exits_2_with_a_hint(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = invoke("analyze", plain)
    assert result.exit_code == 2
    err = flat(result.stderr)
    assert "error:" in err and "is not inside a git repository" in err
    assert "hint:" in err and "empathy analyze PATH" in err
    assert result.stdout == ""


def test_analyze_missing_path_exits_2(tmp_path: Path) -> None:
    result = invoke("analyze", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "does not exist" in flat(result.stderr)


def test_analyze_empty_repository_exits_3(repo: RepoBuilder) -> None:
    result = invoke("analyze", "--json", repo.path)
    assert result.exit_code == 3
    err = flat(result.stderr)
    assert "error:" in err and "has no commits yet" in err
    assert "hint:" in err
    assert result.stdout == ""


def test_invalid_settings_file_exits_4(project: RepoBuilder) -> None:
    (project.path / ".empathy.toml").write_text("window_days = [\n", encoding="utf-8")
    result = invoke("analyze", project.path)
    assert result.exit_code == 4
    assert "is not valid TOML" in flat(result.stderr)
    assert "hint: fix the file or remove it" in flat(result.stderr)


def test_invalid_env_value_exits_4(project: RepoBuilder) -> None:
    result = invoke("analyze", project.path, env={"EMPATHY_WINDOW_DAYS": "a year"})
    assert result.exit_code == 4
    assert "EMPATHY_WINDOW_DAYS='a year' is not a valid int" in flat(result.stderr)


def test_unusable_store_exits_5(project: RepoBuilder, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 's.db'}"
    result = invoke("analyze", "--database-url", url, project.path)
    assert result.exit_code == 5
    assert "cannot open the store" in flat(result.stderr)


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"empathy {__version__}"


@pytest.mark.parametrize(
    ("command", "purpose"),
    [
        ([], "Learn from a repository's history what usually goes wrong there"),
        (["analyze"], "run every miner, and print a ranked report with evidence"),
        (["mine"], "run the miners; print what each miner found"),
        (["init"], "Create the store and a commented .empathy.toml"),
        (["plugins"], "List plugins: name, version, hooks, enabled"),
        (["config"], "Inspect the effective settings"),
        (["config", "show"], "Print every setting, its value and where it came from"),
        (["patterns"], "The pattern library: list (the default), export and import"),
        (["patterns", "list"], "List the stored patterns"),
        (["patterns", "export"], "Export every stored pattern"),
        (["patterns", "import"], "Import patterns exported from this repository"),
    ],
)
def test_help_of_each_command_states_its_purpose(command: list[str], purpose: str) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert purpose in flat(result.stdout)


# -- config show ---------------------------------------------------------------


def test_config_show_reports_values_and_sources(project: RepoBuilder) -> None:
    (project.path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.empathy]\ntop = 7\ncolour = "blue"\n\n'
        "[tool.empathy.plugins.coupling]\nmin_revs = 3\n",
        encoding="utf-8",
    )
    (project.path / ".empathy.toml").write_text("[plugins.coupling]\nmin_degree = 50\n", encoding="utf-8")
    env = {"EMPATHY_WINDOW_DAYS": "90", "EMPATHY_PLUGIN_CHURN_MIN_COMMITS": "2"}
    result = invoke("config", "show", "--json", project.path, env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {r["name"]: (r["value"], r["source"]) for r in data["settings"]}

    assert rows["top"] == (7, "pyproject.toml [tool.empathy]")
    assert rows["window_days"] == (90, "env EMPATHY_WINDOW_DAYS")
    assert rows["plugin_timeout"] == (120.0, "default")
    assert rows["plugins.coupling.min_revs"] == (3, "pyproject.toml [tool.empathy]")
    assert rows["plugins.coupling.min_degree"] == (50, ".empathy.toml")
    assert rows["plugins.coupling.min_shared_revs"] == (5, "plugin coupling default")
    assert rows["plugins.churn.min_commits"] == (2, "env EMPATHY_PLUGIN_CHURN_MIN_COMMITS")
    assert set(CORE_SETTINGS) <= set(rows)
    assert data["unknown"] == {"colour": "pyproject.toml [tool.empathy]"}


def test_bad_plugin_env_value_names_the_variable(project: RepoBuilder) -> None:
    result = invoke("config", "show", "--json", project.path, env={"EMPATHY_PLUGIN_CHURN_TOP_SHARE": "abc"})
    assert result.exit_code == 4
    assert "EMPATHY_PLUGIN_CHURN_TOP_SHARE='abc' is not a valid float" in flat(result.stderr)


def test_config_show_table_warns_about_unknown_settings(project: RepoBuilder) -> None:
    (project.path / ".empathy.toml").write_text("windw_days = 3\n", encoding="utf-8")
    result = invoke("config", "show", project.path)
    assert result.exit_code == 0
    assert "window_days" in result.stdout
    assert ".empathy.toml: unknown setting 'windw_days' is ignored; did you mean 'window_days'?" in flat(result.stderr)


# -- plugins -------------------------------------------------------------------


def plugin_rows(path: Path, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    result = invoke("plugins", "--json", path, env=env)
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_plugins_lists_the_six_builtins(project: RepoBuilder) -> None:
    rows = plugin_rows(project.path)
    assert BUILTINS <= set(rows)
    for name in BUILTINS:
        row = rows[name]
        assert row["enabled"] is True
        assert row["hooks"] == ["mine_patterns", "settings_defaults"]
        assert row["module"] == f"empathy.plugins.{name}"
        assert row["distribution"] == "empathy" and row["version"] == __version__
        assert row["load_error"] is None and row["last_error"] is None


def test_disable_plugins_env(project: RepoBuilder, tmp_path: Path) -> None:
    env = {"EMPATHY_DISABLE_PLUGINS": "coupling", **db_env(tmp_path, "s.db")}
    rows = plugin_rows(project.path, env)
    assert rows["coupling"]["enabled"] is False
    assert rows["coupling"]["hooks"] == []
    assert all(rows[n]["enabled"] for n in BUILTINS - {"coupling"})

    mined = json.loads(invoke("mine", "--json", project.path, env=env).stdout)
    assert {r["plugin"] for r in mined} == BUILTINS - {"coupling"}


def test_load_plugins_env(project: RepoBuilder, tmp_path: Path) -> None:
    env = {"EMPATHY_LOAD_PLUGINS": "churn", **db_env(tmp_path, "s.db")}
    rows = plugin_rows(project.path, env)
    assert {n for n in BUILTINS if rows[n]["enabled"]} == {"churn"}

    mined = json.loads(invoke("mine", "--json", project.path, env=env).stdout)
    assert [r["plugin"] for r in mined] == ["churn"]
    config = json.loads(invoke("config", "show", "--json", project.path, env=env).stdout)
    rows_by_name = {r["name"]: r for r in config["settings"]}
    assert rows_by_name["load_plugins"]["value"] == ["churn"]
    assert rows_by_name["load_plugins"]["source"] == "env EMPATHY_LOAD_PLUGINS"


def test_plugins_outside_a_repository_still_lists_the_builtins(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    rows = plugin_rows(plain)
    assert BUILTINS <= set(rows)
    assert all(rows[n]["enabled"] and rows[n]["last_error"] is None for n in BUILTINS)


def test_plugins_table(project: RepoBuilder) -> None:
    result = invoke("plugins", project.path, env={"EMPATHY_DISABLE_PLUGINS": "age"})
    assert result.exit_code == 0
    lines = {line.split()[1]: flat(line) for line in result.stdout.splitlines() if line.startswith("│")}
    assert "mine_patterns, settings_defaults yes" in lines["churn"]
    assert lines["age"].endswith(" no")


def test_unexpected_errors_are_one_line_with_exit_70(project: RepoBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(common, "open_workspace", broken)
    result = invoke("analyze", project.path)
    assert result.exit_code == 70
    err = flat(result.stderr)
    assert "internal error: RuntimeError: disk on fire" in err
    assert "rerun with EMPATHY_DEBUG=1" in err


def test_interrupt_exits_130(project: RepoBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(common, "open_workspace", interrupted)
    result = invoke("mine", project.path)
    assert result.exit_code == 130
    assert "interrupted" in result.stderr


class Crasher:
    @hookimpl
    def mine_patterns(self, context: object) -> list[object]:
        raise RuntimeError("boom")


@pytest.fixture
def with_crasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every workspace the CLI opens also has a plugin that crashes while mining."""

    def host(load: Any = None, disable: Any = ()) -> PluginHost:
        h = default_host(load=load, disable=disable)
        h.register(Crasher(), "crasher")
        return h

    monkeypatch.setattr("empathy.core.workspace.default_host", host)


@pytest.mark.usefixtures("with_crasher")
def test_failing_plugin_is_reported_by_mine_analyze_and_plugins(project: RepoBuilder, tmp_path: Path) -> None:
    env = db_env(tmp_path, "s.db")
    mined = invoke("mine", "--json", project.path, env=env)
    assert mined.exit_code == 1  # a plugin failed
    rows = {r["plugin"]: r for r in json.loads(mined.stdout)}
    assert rows["crasher"]["error"].startswith("RuntimeError: boom")
    assert rows["crasher"]["patterns"] == 0
    assert rows["coupling"]["error"] is None and rows["coupling"]["patterns"] == 1

    analyzed = invoke("analyze", project.path, env=env)
    assert analyzed.exit_code == 0  # the report still arrives
    assert "coupling" in analyzed.stdout
    assert "plugin crasher failed: RuntimeError: boom" in flat(analyzed.stderr)

    listed = plugin_rows(project.path, env)
    assert listed["crasher"]["last_error"].startswith("mine_patterns: RuntimeError: boom")
    assert listed["churn"]["last_error"] is None


# -- mine ----------------------------------------------------------------------


def test_mine_json_lists_each_plugins_count(project: RepoBuilder, tmp_path: Path) -> None:
    env = db_env(tmp_path, "s.db")
    result = invoke("mine", "--json", project.path, env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["plugin"] for r in rows] == sorted(BUILTINS)  # plugins run in id order
    assert all(set(r) == {"plugin", "patterns", "seconds", "error"} for r in rows)
    counts = {r["plugin"]: r["patterns"] for r in rows}

    stored = json.loads(invoke("patterns", "list", "--json", project.path, env=env).stdout)
    by_plugin = {name: sum(1 for p in stored if p["plugin"] == name) for name in BUILTINS}
    assert counts == by_plugin
    assert counts["coupling"] == 1  # a.py-b.py
    assert counts["churn"] == 1  # only the top 10 %: a.py
    assert counts["ownership"] == 2  # both files are Alice's islands


def test_mine_plugin_option_runs_only_that_miner(project: RepoBuilder, tmp_path: Path) -> None:
    result = invoke(
        "mine", "--json", "--plugin", "churn", "--plugin", "age", project.path, env=db_env(tmp_path, "s.db")
    )
    assert result.exit_code == 0
    assert sorted(r["plugin"] for r in json.loads(result.stdout)) == ["age", "churn"]


def test_mine_plugin_option_with_progress_display(
    project: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "progress_enabled", lambda json_mode: not json_mode)  # as on a terminal
    result = invoke("mine", "--plugin", "churn", project.path, env=db_env(tmp_path, "s.db"))
    assert result.exit_code == 0
    assert "churn" in result.stdout
    assert "coupling" not in result.stdout


def test_mine_unknown_plugin_is_refused(project: RepoBuilder, tmp_path: Path) -> None:
    env = {"EMPATHY_DISABLE_PLUGINS": "coupling", **db_env(tmp_path, "s.db")}
    result = invoke("mine", "--json", "--plugin", "nope", "--plugin", "coupling", project.path, env=env)
    assert result.exit_code == 4
    err = flat(result.stderr)
    assert "error: no enabled miner named coupling, nope" in err
    assert "hint: enabled miners: age, churn, complexity, fixes, ownership" in err
    assert result.stdout == ""


# -- patterns export / import --------------------------------------------------


def export(path: Path, target: Path, env: dict[str, str]) -> dict[str, Any]:
    result = invoke("patterns", "export", target, "-C", path, env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return data


def test_export_import_round_trip_is_exact(project: RepoBuilder, tmp_path: Path) -> None:
    env_a, env_b = db_env(tmp_path, "a.db"), db_env(tmp_path, "b.db")
    assert invoke("analyze", "--json", project.path, env=env_a).exit_code == 0  # usage counts become 1
    first = export(project.path, tmp_path / "a.json", env_a)
    assert first["format"] == "empathy-patterns" and first["version"] == 1
    assert len(first["patterns"]) >= 3
    assert all(p["usage_count"] == 1 for p in first["patterns"])

    assert json.loads(invoke("patterns", "list", "--json", project.path, env=env_b).stdout) == []
    imported = invoke("patterns", "import", tmp_path / "a.json", "-C", project.path, env=env_b)
    assert imported.exit_code == 0, imported.output
    assert f"imported {len(first['patterns'])} patterns" in flat(imported.stdout)

    second = export(project.path, tmp_path / "b.json", env_b)
    assert second["patterns"] == first["patterns"]
    assert second["repository"] == first["repository"]


def test_importing_another_repositorys_export_needs_force(project: RepoBuilder, tmp_path: Path) -> None:
    env_a, env_b = db_env(tmp_path, "a.db"), db_env(tmp_path, "b.db")
    invoke("analyze", "--json", project.path, env=env_a)
    data = export(project.path, tmp_path / "a.json", env_a)
    data["repository"] = "github.com/someone/else"
    (tmp_path / "other.json").write_text(json.dumps(data), encoding="utf-8")
    refused = invoke("patterns", "import", tmp_path / "other.json", "-C", project.path, env=env_b)
    assert refused.exit_code == 6
    assert "was exported from github.com/someone/else" in flat(refused.stderr) and "--force" in flat(refused.stderr)
    assert json.loads(invoke("patterns", "--json", project.path, env=env_b).stdout) == []  # nothing imported
    forced = invoke("patterns", "import", tmp_path / "other.json", "--force", "-C", project.path, env=env_b)
    assert forced.exit_code == 0 and "(exported from github.com/someone/else)" in flat(forced.stdout)


def test_round_trip_keeps_inactive_patterns_inactive(project: RepoBuilder, tmp_path: Path) -> None:
    env_a, env_b = db_env(tmp_path, "a.db"), db_env(tmp_path, "b.db")
    invoke("mine", "--json", project.path, env=env_a)
    (project.path / ".empathy.toml").write_text("[plugins.coupling]\nmin_degree = 101\n", encoding="utf-8")
    invoke("mine", "--json", project.path, env=env_a)  # the coupled pair is no longer found
    listed_a = json.loads(invoke("patterns", "list", "--json", project.path, env=env_a).stdout)
    assert "coupling" not in {p["kind"] for p in listed_a}
    export(project.path, tmp_path / "a.json", env_a)

    invoke("patterns", "import", tmp_path / "a.json", "-C", project.path, env=env_b)
    listed_b = json.loads(invoke("patterns", "list", "--json", project.path, env=env_b).stdout)
    assert listed_b == listed_a


def test_export_to_stdout(project: RepoBuilder, tmp_path: Path) -> None:
    env = db_env(tmp_path, "a.db")
    invoke("mine", "--json", project.path, env=env)
    result = invoke("patterns", "export", "-", "-C", project.path, env=env)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["format"] == "empathy-patterns"
    assert [p["key"] for p in data["patterns"]] == sorted(p["key"] for p in data["patterns"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json at all", "is not a JSON pattern file"),
        (b"\xff\xfe garbage", "is not a JSON pattern file"),
        (b'{"hello": "world"}', 'is not an empathy pattern export (no "format": "empathy-patterns")'),
        (b'{"format": "empathy-patterns", "version": 99, "patterns": []}', "has pattern format version 99"),
        (b'{"format": "empathy-patterns", "version": 1, "patterns": {}}', '"patterns" must be a list'),
        (
            b'{"format": "empathy-patterns", "version": 1, "patterns": [{"kind": "hotspot", "plugin": "churn",'
            b' "key": "k", "subjects": ["a.py"], "score": NaN, "confidence": 1.0, "summary": "", "evidence": {}}]}',
            "pattern #0 is malformed (score nan is not a finite number)",
        ),
    ],
)
def test_import_of_a_bad_file_exits_6_and_changes_nothing(
    project: RepoBuilder, tmp_path: Path, content: bytes, message: str
) -> None:
    env = db_env(tmp_path, "s.db")
    invoke("mine", "--json", project.path, env=env)
    before = export(project.path, tmp_path / "before.json", env)["patterns"]
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)

    result = invoke("patterns", "import", bad, "-C", project.path, env=env)
    assert result.exit_code == 6
    assert "error:" in flat(result.stderr)
    assert message in flat(result.stderr)
    assert export(project.path, tmp_path / "after.json", env)["patterns"] == before


def test_import_never_half_applies(project: RepoBuilder, tmp_path: Path) -> None:
    env = db_env(tmp_path, "s.db")
    invoke("mine", "--json", project.path, env=env)
    before = export(project.path, tmp_path / "before.json", env)["patterns"]
    good = {"kind": "custom", "plugin": "x", "subjects": ["z.py"], "score": 0.5, "confidence": 0.5}
    payload = {"format": "empathy-patterns", "version": 1, "patterns": [good, {"kind": "custom"}]}
    (tmp_path / "half.json").write_text(json.dumps(payload), encoding="utf-8")

    result = invoke("patterns", "import", tmp_path / "half.json", "-C", project.path, env=env)
    assert result.exit_code == 6
    assert "pattern #1 is malformed" in flat(result.stderr)
    assert export(project.path, tmp_path / "after.json", env)["patterns"] == before


def test_import_of_a_foreign_file_gives_a_hint(project: RepoBuilder, tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"hello": "world"}', encoding="utf-8")
    result = invoke("patterns", "import", tmp_path / "other.json", "-C", project.path)
    assert result.exit_code == 6
    assert "hint: export patterns with `empathy patterns export FILE`" in flat(result.stderr)


def test_patterns_list_before_any_mining(project: RepoBuilder, tmp_path: Path) -> None:
    result = invoke("patterns", "list", project.path, env=db_env(tmp_path, "s.db"))
    assert result.exit_code == 0
    assert "no patterns stored yet" in flat(result.stderr)


def test_patterns_without_a_subcommand_lists_the_current_repository(
    project: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = db_env(tmp_path, "s.db")
    invoke("mine", "--json", project.path, env=env)
    monkeypatch.chdir(project.path)
    result = invoke("patterns", env=env)
    assert result.exit_code == 0
    assert "coupling" in result.stdout and "a.py" in result.stdout


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` cannot be written, even by root (chattr +i); chmod for other users."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)  # ext4 on CI; a failure here is a failure
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)


def test_a_read_only_git_directory_is_a_store_error_not_a_crash(project: RepoBuilder) -> None:
    """Issue 16.10: was exit 70 (PermissionError) when .git/empathy could not be created."""
    hint = "EMPATHY_DATABASE_URL=sqlite:////tmp/empathy-store.db"
    with unwritable(project.path / ".git"):
        result = invoke("analyze", project.path)
    assert result.exit_code == 5, result.stdout + result.stderr
    assert "cannot create the store's folder" in flat(result.stderr) and hint in flat(result.stderr)
    assert invoke("analyze", project.path).exit_code == 0  # writable again: nothing was left half-made
    with unwritable(project.path / ".git" / "empathy" / "store.db"), unwritable(project.path / ".git" / "empathy"):
        again = invoke("analyze", project.path)
    assert again.exit_code == 5 and hint in flat(again.stderr), again.stdout + again.stderr


# -- init ----------------------------------------------------------------------


def test_init_writes_a_commented_valid_toml(project: RepoBuilder) -> None:
    result = invoke("init", project.path)
    assert result.exit_code == 0, result.output
    target = project.path / ".empathy.toml"
    text = target.read_text(encoding="utf-8")

    assert tomllib.loads(text) == {}  # valid TOML that changes nothing
    assert all(line.startswith("#") for line in text.splitlines() if line.strip())
    assert "wrote" in flat(result.stdout) and "store:" in result.stdout

    # Uncommenting a setting line gives a valid setting with its default value.
    setting = re.compile(r"^# (\[plugins\.[\w-]+\]|\w+ = .*)$")
    uncommented = "\n".join(m.group(1) for line in text.splitlines() if (m := setting.match(line)))
    data = tomllib.loads(uncommented)
    for name, spec in CORE_SETTINGS.items():
        if spec.default is not None:
            assert data[name] == spec.default, name
    assert set(data["plugins"]) >= BUILTINS
    assert data["plugins"]["coupling"] == {
        "min_revs": 5,
        "min_shared_revs": 5,
        "min_degree": 30,
        "max_changeset_size": 30,
    }


def test_init_says_how_to_share_or_keep_the_settings_file(project: RepoBuilder) -> None:
    """Item 17.10: a new untracked file asks a decision: commit it, or exclude it in this checkout only."""
    first = invoke("init", project.path)
    assert first.exit_code == 0, first.output
    hint = (
        ".empathy.toml is not in git yet: commit it to share these settings with the team "
        "(`git add .empathy.toml`), or keep them to this checkout (`echo .empathy.toml >> .git/info/exclude`)"
    )
    assert hint in first.stdout
    data = tomllib.loads(
        "\n".join(line[len("# e.g. ") :] for line in first_lines(project) if line.startswith("# e.g. "))
    )
    assert data["per_file_ignores"] and data["ignore"]  # each example is valid TOML

    (project.path / ".git" / "info").mkdir(exist_ok=True)
    with (project.path / ".git" / "info" / "exclude").open("a", encoding="utf-8") as fh:
        fh.write(".empathy.toml\n")
    again = invoke("init", "--force", project.path)
    assert again.exit_code == 0 and "is not in git yet" not in again.stdout  # decided: nothing to say


def first_lines(project: RepoBuilder) -> list[str]:
    return (project.path / ".empathy.toml").read_text(encoding="utf-8").splitlines()


def test_init_does_not_overwrite_without_force(project: RepoBuilder) -> None:
    target = project.path / ".empathy.toml"
    target.write_text("window_days = 30\n", encoding="utf-8")

    kept = invoke("init", project.path)
    assert kept.exit_code == 0
    assert target.read_text(encoding="utf-8") == "window_days = 30\n"
    assert "exists; keeping it (use --force to overwrite)" in flat(kept.stderr)

    forced = invoke("init", "--force", project.path)
    assert forced.exit_code == 0
    assert tomllib.loads(target.read_text(encoding="utf-8")) == {}


# -- a real process --------------------------------------------------------------


def run_module(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = child_env()
    return subprocess.run(
        [sys.executable, "-m", "empathy", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_python_m_empathy_analyze_json(project: RepoBuilder, tmp_path: Path) -> None:
    proc = run_module("analyze", "--json", project.path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert data["repository"]["commits"] == 8
    patterns = data["patterns"]
    assert {p["kind"] for p in patterns} >= {"hotspot", "coupling"}
    weights = [p["score"] * p["confidence"] for p in patterns]
    assert weights == sorted(weights, reverse=True)
    # The default store lives inside the repository's git directory.
    assert list((project.path / ".git").glob("empathy*"))


def test_python_m_empathy_outside_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    proc = run_module("analyze", "--json", plain, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_errors_exit_4_and_the_readme_table_says_so(tmp_path: Path) -> None:
    """2 is "not a repository" (README's table); a usage error is 4, "configuration or usage error"."""
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8").split())
    assert "2 not a repository" in readme and "4 configuration or usage error" in readme
    assert invoke("--no-such-option").exit_code == 4
    assert invoke("feedback").exit_code == 4  # a missing argument
    assert invoke("analyze", "--top", "many", tmp_path).exit_code == 4  # a bad value
    plain = tmp_path / "plain"
    plain.mkdir()
    assert invoke("analyze", plain).exit_code == 2


def test_every_command_names_a_typo_in_the_settings(repo: RepoBuilder, tmp_path: Path) -> None:
    """A misspelt key or plugin section changes nothing; every command says so, with the nearest valid name."""
    repo.commit("one", {"a.py": "a = 1\n"})
    (repo.path / ".empathy.toml").write_text("windows_days = 30\n[plugins.churnn]\ntop_share = 0.5\n", encoding="utf-8")
    result = invoke("commits", "--json", "-C", repo.path, env=db_env(tmp_path, "s.db"))
    assert result.exit_code == 0, result.output
    err = flat(result.stderr)
    assert "unknown setting 'windows_days' is ignored; did you mean 'window_days'?" in err
    assert "[plugins.churnn] names no loaded plugin and is ignored; did you mean 'churn'?" in err
    json.loads(result.stdout)  # stdout stays clean JSON


def test_config_show_never_prints_a_secret(project: RepoBuilder, postgres_url: str) -> None:
    """Its output ends up in bug reports and CI logs: secrets show as ***, URLs without their password."""
    from sqlalchemy.engine import make_url

    with_password = make_url(postgres_url).set(password="hunter2").render_as_string(hide_password=False)
    env = {
        "EMPATHY_DATABASE_URL": with_password,  # trust auth on the test server ignores the password
        "EMPATHY_PLUGIN_WEBHOOKS_GITHUB_SECRET": "gh-s3cret",
        "EMPATHY_PLUGIN_WEBHOOKS_GITHUB_TOKEN": "ghs_t0ken",
        "EMPATHY_PLUGIN_WEBHOOKS_REDIS_URL": "redis://:r3dispw@127.0.0.1:6379/0",
    }
    for args in (["config", "show", project.path], ["config", "show", "--json", project.path]):
        result = invoke(*args, env=env)
        assert result.exit_code == 0, result.output
        text = result.stdout + result.stderr
        assert not any(secret in text for secret in ("hunter2", "gh-s3cret", "ghs_t0ken", "r3dispw"))
    rows = {
        r["name"]: r["value"]
        for r in json.loads(invoke("config", "show", "--json", project.path, env=env).stdout)["settings"]
    }
    assert rows["plugins.webhooks.github_secret"] == "***" and rows["plugins.webhooks.github_token"] == "***"
    assert rows["database_url"].endswith(make_url(postgres_url).database) and ":***@" in rows["database_url"]


def test_a_settings_file_that_is_not_utf8_and_an_unwritable_export_are_clear_errors(
    project: RepoBuilder, tmp_path: Path
) -> None:
    """Two paths that ended in "internal error" (exit 70): now one line naming the file, and a hint."""
    env = db_env(tmp_path, "s.db")
    (project.path / ".empathy.toml").write_bytes(b"top = 5\n# caf\xe9\n")
    result = invoke("analyze", project.path, env=env)
    assert result.exit_code == 4 and ".empathy.toml is not UTF-8 (byte " in flat(result.stderr)
    (project.path / ".empathy.toml").unlink()
    export_to = tmp_path / "no" / "such" / "dir" / "x.json"
    result = invoke("patterns", "export", export_to, "-C", project.path, env=env)
    assert result.exit_code == 6 and f"cannot write {export_to}: No such file or directory" in flat(result.stderr)
    assert "internal error" not in result.stderr


def test_an_empty_store_file_is_recreated_and_said(project: RepoBuilder, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    db.write_bytes(b"")
    result = invoke("commits", "--json", "-C", project.path, env={"EMPATHY_DATABASE_URL": f"sqlite:///{db}"})
    assert result.exit_code == 0, result.output
    assert f"the store {db} was an empty file (0 bytes): a new, empty store was created" in flat(result.stderr)
    again = invoke("commits", "--json", "-C", project.path, env={"EMPATHY_DATABASE_URL": f"sqlite:///{db}"})
    assert "was an empty file" not in again.stderr  # said once, when it happened


def test_long_work_off_a_terminal_says_where_it_is_on_stderr(
    project: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI log gets a plain line every few seconds (here: every step), never a bar; stdout stays clean JSON."""
    from empathy.cli import _common

    quick = invoke("analyze", "--json", project.path, env=db_env(tmp_path, "quick.db"))
    assert "ingesting:" not in quick.stderr  # quick work stays silent
    monkeypatch.setattr(_common, "HEARTBEAT_SECONDS", 0.0)
    result = invoke("analyze", "--json", project.path, env=db_env(tmp_path, "s.db"))
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(line.startswith("ingesting: ") and " commits (" in line for line in lines)
    assert any(line.startswith("mining: ") for line in lines)
    json.loads(result.stdout)
