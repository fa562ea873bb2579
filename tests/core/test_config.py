"""Settings: the precedence chain, sources, plugin sections and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy.core.config import CORE_SETTINGS, load_settings
from empathy.core.errors import ConfigError
from tests.gitrepo import RepoBuilder

PYPROJECT = "pyproject.toml [tool.empathy]"


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def test_defaults_only(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.values == {k: spec.default for k, spec in CORE_SETTINGS.items()}
    assert set(s.sources.values()) == {"default"}
    assert s.unknown == {}
    assert s["top"] == 20 and s.get("nope", "fallback") == "fallback"
    assert load_settings(None, environ={}).values == s.values


def test_pyproject_without_empathy_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    s = load_settings(tmp_path, environ={})
    assert set(s.sources.values()) == {"default"} and s.unknown == {}


def test_full_precedence_chain_and_sources(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        "[tool.empathy]\ntop = 5\nwindow_days = 100\nexclude = ['docs/*']\nfix_pattern = 'py'\nplugin_timeout = 1.5\n",
    )
    write(tmp_path, ".empathy.toml", "top = 6\nwindow_days = 200\nfix_pattern = 'local'\n")
    env = {"EMPATHY_TOP": "7", "EMPATHY_FIX_PATTERN": "from-env", "UNRELATED": "1"}
    s = load_settings(tmp_path, overrides={"top": 8, "window_days": None}, environ=env)

    expected = {
        "top": (8, "command line"),
        "fix_pattern": ("from-env", "env EMPATHY_FIX_PATTERN"),
        "window_days": (200, ".empathy.toml"),  # a None override does not count
        "exclude": (["docs/*"], PYPROJECT),
        "plugin_timeout": (1.5, PYPROJECT),
        "repo_key": ("", "default"),
    }
    for name, (value, source) in expected.items():
        assert (s[name], s.sources[name]) == (value, source), name


@pytest.mark.parametrize(
    ("layers", "value", "source"),
    [
        ({}, 20, "default"),
        ({"py": 1}, 1, PYPROJECT),
        ({"py": 1, "local": 2}, 2, ".empathy.toml"),
        ({"py": 1, "local": 2, "env": 3}, 3, "env EMPATHY_TOP"),
        ({"py": 1, "local": 2, "env": 3, "cli": 4}, 4, "command line"),
        ({"local": 2, "cli": 4}, 4, "command line"),
        ({"py": 1, "env": 3}, 3, "env EMPATHY_TOP"),
    ],
)
def test_each_layer_beats_the_ones_below(tmp_path: Path, layers: dict, value: int, source: str) -> None:
    if "py" in layers:
        write(tmp_path, "pyproject.toml", f"[tool.empathy]\ntop = {layers['py']}\n")
    if "local" in layers:
        write(tmp_path, ".empathy.toml", f"top = {layers['local']}\n")
    env = {"EMPATHY_TOP": str(layers["env"])} if "env" in layers else {}
    overrides = {"top": layers["cli"]} if "cli" in layers else None
    s = load_settings(tmp_path, overrides=overrides, environ=env)
    assert (s["top"], s.sources["top"]) == (value, source)


def test_process_environment_is_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPATHY_WINDOW_DAYS", "30")
    assert load_settings(tmp_path)["window_days"] == 30
    # an explicit mapping replaces the process environment
    assert load_settings(tmp_path, environ={})["window_days"] == 365


def test_env_values_are_coerced_to_the_setting_type(tmp_path: Path) -> None:
    env = {
        "EMPATHY_TOP": "15",
        "EMPATHY_PLUGIN_TIMEOUT": "2.5",
        "EMPATHY_EXCLUDE": " docs/*, *.lock ,,",
        "EMPATHY_LOAD_PLUGINS": "churn,fixes",
        "EMPATHY_DISABLE_PLUGINS": "",
        "EMPATHY_DATABASE_URL": "postgresql://u@h/db",
    }
    s = load_settings(tmp_path, environ=env)
    assert s["top"] == 15 and isinstance(s["top"], int)
    assert s["plugin_timeout"] == 2.5
    assert s["exclude"] == ["docs/*", "*.lock"]
    assert s["load_plugins"] == ["churn", "fixes"]
    assert s["disable_plugins"] == [] and s.sources["disable_plugins"] == "env EMPATHY_DISABLE_PLUGINS"
    assert s["database_url"] == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("name", "raw"), [("EMPATHY_TOP", "many"), ("EMPATHY_WINDOW_DAYS", "1.5"), ("EMPATHY_PLUGIN_TIMEOUT", "soon")]
)
def test_invalid_env_number_is_a_config_error(tmp_path: Path, name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(tmp_path, environ={name: raw})
    assert name in str(exc.value) and repr(raw) in str(exc.value)
    assert exc.value.exit_code != 0


@pytest.mark.parametrize("name", ["pyproject.toml", ".empathy.toml"])
def test_invalid_toml_is_a_config_error(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, "[tool.empathy\ntop = = 3\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(tmp_path, environ={})
    assert name in str(exc.value) and "not valid TOML" in str(exc.value)
    assert exc.value.hint


def test_empathy_section_must_be_a_table(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool]\nempathy = 3\n")
    with pytest.raises(ConfigError, match=r"\[tool.empathy\] must be a table"):
        load_settings(tmp_path, environ={})


def test_plugins_must_be_a_table(tmp_path: Path) -> None:
    write(tmp_path, ".empathy.toml", "plugins = 'churn'\n")
    with pytest.raises(ConfigError, match="'plugins' must be a table"):
        load_settings(tmp_path, environ={})


def test_unknown_keys_are_reported_not_applied(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.empathy]\ncolour = 'red'\ntop = 3\n")
    write(tmp_path, ".empathy.toml", "verbosity = 2\n")
    s = load_settings(tmp_path, overrides={"fancy": True}, environ={})
    assert s.unknown == {"colour": PYPROJECT, "verbosity": ".empathy.toml", "fancy": "command line"}
    assert "colour" not in s.values and "verbosity" not in s.values
    assert s["top"] == 3


def test_plugin_sections_merge_over_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        "[tool.empathy]\ntop = 1\n"
        "[tool.empathy.plugins.churn]\nthreshold = 20\nmode = 'py'\nextra = [1, 2]\n"
        "[tool.empathy.plugins.other]\nx = 1\n",
    )
    write(tmp_path, ".empathy.toml", "[plugins.churn]\nmode = 'local'\n")
    monkeypatch.setenv("EMPATHY_PLUGIN_CHURN_THRESHOLD", "30")
    monkeypatch.setenv("EMPATHY_PLUGIN_CHURN_ENABLED", "off")
    monkeypatch.setenv("EMPATHY_PLUGIN_CHURN_NEWKEY", "raw")
    s = load_settings(tmp_path)
    s.add_plugin_defaults("churn", {"threshold": 10, "mode": "default", "enabled": True, "ratio": 0.5})
    s.add_plugin_defaults("churn", {"ratio": 0.25})  # a later default call updates
    assert s.plugin_with_sources("churn") == {
        "threshold": (30, "env EMPATHY_PLUGIN_CHURN_THRESHOLD"),
        "mode": ("local", ".empathy.toml"),
        "enabled": (False, "env EMPATHY_PLUGIN_CHURN_ENABLED"),
        "ratio": (0.25, "plugin churn default"),
        "extra": ([1, 2], PYPROJECT),
        "newkey": ("raw", "env EMPATHY_PLUGIN_CHURN_NEWKEY"),
    }
    assert s.plugin("churn")["threshold"] == 30
    assert s.plugin("other") == {"x": 1}
    assert s.plugin("absent") == {}
    assert s.all_plugin_sections() == ["churn", "other"]
    assert "plugins" not in s.unknown and s["top"] == 1


def test_plugin_env_for_hyphenated_id(tmp_path: Path) -> None:
    env = {"EMPATHY_PLUGIN_MY_PLUGIN_LIMIT": "4", "EMPATHY_PLUGIN_MY_PLUGIN_NAMES": "a, b"}
    s = load_settings(tmp_path, environ=env)
    s.add_plugin_defaults("my-plugin", {"limit": 1, "names": ["z"]})
    assert s.plugin("my-plugin") == {"limit": 4, "names": ["a", "b"]}


@pytest.mark.parametrize(("raw", "value"), [("yes", True), ("ON", True), ("0", False), ("false", False)])
def test_plugin_env_bool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str, value: bool) -> None:
    s = load_settings(tmp_path, environ={"EMPATHY_PLUGIN_P_FLAG": raw})
    s.add_plugin_defaults("p", {"flag": not value})
    assert s.plugin("p")["flag"] is value


def test_invalid_plugin_env_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(tmp_path, environ={"EMPATHY_PLUGIN_P_FLAG": "maybe"})
    s.add_plugin_defaults("p", {"flag": True})
    with pytest.raises(ConfigError, match="maybe"):
        s.plugin("p")


def test_invalid_plugin_env_error_names_the_real_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(tmp_path, environ={"EMPATHY_PLUGIN_CHURN_THRESHOLD": "lots"})
    s.add_plugin_defaults("churn", {"threshold": 10})
    with pytest.raises(ConfigError) as exc:
        s.plugin("churn")
    assert "EMPATHY_PLUGIN_CHURN_THRESHOLD" in str(exc.value)


def test_plugin_env_follows_the_environ_argument(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={"EMPATHY_PLUGIN_CHURN_THRESHOLD": "30", "EMPATHY_TOP": "3"})
    s.add_plugin_defaults("churn", {"threshold": 10})
    assert s["top"] == 3  # honoured for core settings
    assert s.plugin("churn")["threshold"] == 30


def test_the_old_repo_id_name_still_sets_the_key_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / ".empathy.toml").write_text('repo_id = "acme/tool"\n', encoding="utf-8")
    settings = load_settings(tmp_path, environ={})
    assert settings["repo_key"] == "acme/tool"
    assert settings.sources["repo_key"] == ".empathy.toml"
    assert settings.deprecations == [".empathy.toml: repo_id is deprecated, use repo_key (same meaning)"]
    assert "repo_id" not in settings.unknown


def test_the_new_name_wins_over_the_old_one_in_the_environment(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"EMPATHY_REPO_ID": "old", "EMPATHY_REPO_KEY": "new"})
    assert settings["repo_key"] == "new"
    env_only = load_settings(tmp_path, environ={"EMPATHY_REPO_ID": "old"})
    assert env_only["repo_key"] == "old" and env_only.deprecations


@pytest.mark.parametrize(
    ("text", "environ", "name"),
    [
        ("window_days = -5\n", {}, "window_days"),
        ("top = 0\n", {}, "top"),
        ("", {"EMPATHY_PLUGIN_TIMEOUT": "-1"}, "plugin_timeout"),
        ("", {"EMPATHY_HORIZON_DAYS": "0"}, "horizon_days"),
    ],
)
def test_out_of_range_numbers_are_refused_where_they_are_set(
    tmp_path: Path, text: str, environ: dict[str, str], name: str
) -> None:
    if text:
        write(tmp_path, ".empathy.toml", text)
    with pytest.raises(ConfigError) as exc:
        load_settings(tmp_path, environ=environ)
    assert f"{name} = " in str(exc.value) and "is out of range" in str(exc.value)
    assert "must be at least" in exc.value.hint


def test_a_plugin_setting_of_the_wrong_type_is_refused_where_it_is_set(tmp_path: Path) -> None:
    """Item 16.10: ``szz_budget = "many"`` is a configuration error naming the file, not a crash in the miner."""
    write(tmp_path, ".empathy.toml", '[plugins.fixes]\nszz_budget = "many"\nmin_fixes = 2.5\n')
    s = load_settings(tmp_path)
    s.add_plugin_defaults("fixes", {"min_fixes": 3, "szz_budget": 150, "szz": True})
    wanted = r"\.empathy\.toml: \[plugins\.fixes\] szz_budget = 'many' should be a number"
    with pytest.raises(ConfigError, match=wanted):
        s.check_plugin_types()
    write(tmp_path, ".empathy.toml", "[plugins.fixes]\nszz = 1\n")
    s = load_settings(tmp_path)
    s.add_plugin_defaults("fixes", {"min_fixes": 3, "szz_budget": 150, "szz": True})
    with pytest.raises(ConfigError, match=r"szz = 1 should be true or false"):
        s.check_plugin_types()
    # a number for a number is fine (the plugin rounds), and keys it declares no default for are its own
    write(tmp_path, ".empathy.toml", "[plugins.fixes]\nmin_fixes = 2.5\nnew_key = 'x'\n")
    s = load_settings(tmp_path)
    s.add_plugin_defaults("fixes", {"min_fixes": 3, "szz_budget": 150, "szz": True})
    s.check_plugin_types()
    assert s.plugin("fixes")["min_fixes"] == 2.5


def test_a_bad_plugin_setting_stops_the_command_before_the_store_exists(repo: RepoBuilder, tmp_path: Path) -> None:
    from tests.cli.helpers import flat, invoke

    repo.commit("first", {"a.py": "x = 1\n"})
    write(repo.path, ".empathy.toml", '[plugins.fixes]\nszz_budget = "many"\n')
    store = tmp_path / "s.db"
    result = invoke("mine", repo.path, env={"EMPATHY_DATABASE_URL": f"sqlite:///{store}"})
    assert result.exit_code == 4
    assert ".empathy.toml: [plugins.fixes] szz_budget = 'many' should be a number" in flat(result.stderr)
    assert not store.exists()
