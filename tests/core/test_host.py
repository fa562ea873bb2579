"""The plugin host: entry-point loading, isolation, selection, tracing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from empathy.core.hookspecs import hookimpl
from empathy.core.host import AUTOLOAD_ENV, PluginHost, default_host
from empathy.core.model import Pattern

PLUGIN_SOURCE = {
    "emp_good": """
from empathy.core.hookspecs import hookimpl
from empathy.core.model import Pattern

@hookimpl
def settings_defaults():
    return {"answer": 42}

@hookimpl
def mine_patterns(context):
    return [Pattern(kind="demo", plugin="good", subjects=[str(context)], score=0.5, confidence=0.5)]
""",
    "emp_broken": "raise ImportError('this plugin needs a package that is not installed')\n",
    "emp_unknown": """
from empathy.core.hookspecs import hookimpl

@hookimpl
def mine_patternz(context):
    return []
""",
}

ENTRY_POINTS = """[empathy]
good = emp_good
broken = emp_broken
unknown-hook = emp_unknown
"""


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real installed distribution (dist-info with entry points) on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    for module, source in PLUGIN_SOURCE.items():
        (site / f"{module}.py").write_text(source)
    dist = site / "empathy_demo-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: empathy-demo\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(AUTOLOAD_ENV)  # the session loads only built-ins; this tests the others
    return site


def test_entry_points_load_with_isolation_of_failures(third_party: Path) -> None:
    host = default_host()
    infos = {i.name: i for i in host.listing()}
    assert infos["good"].enabled and infos["good"].load_error is None
    assert infos["good"].version == "1.2.3"
    assert infos["good"].distribution == "empathy-demo"
    assert infos["good"].hooks == ["mine_patterns", "settings_defaults"]
    assert not infos["broken"].enabled
    assert "ImportError" in (infos["broken"].load_error or "")
    # check_pending refuses a hook this version does not know, without harming others
    assert not infos["unknown-hook"].enabled
    assert "mine_patternz" in (infos["unknown-hook"].load_error or "")
    # the built-ins are entry points like any other plugin
    for builtin in ("churn", "coupling", "fixes", "ownership", "age", "complexity"):
        assert infos[builtin].enabled, builtin
        assert infos[builtin].distribution == "empathy"
    results = host.call_each("mine_patterns", context="ctx", only=["good"])
    assert [r.value[0].subjects for r in results] == [["ctx"]]


def test_load_and_disable_selection(third_party: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPATHY_LOAD_PLUGINS", "good,churn")
    monkeypatch.setenv("EMPATHY_DISABLE_PLUGINS", "churn")
    host = default_host()
    enabled = sorted(i.name for i in host.listing() if i.enabled)
    assert enabled == ["good"]
    assert host.implementations("mine_patterns") == ["good"]
    listed = {i.name for i in host.listing()}
    assert {"churn", "coupling", "broken"} <= listed  # listed, but not enabled


def test_autoload_switch_leaves_out_only_third_party_plugins(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EMPATHY_DISABLE_PLUGIN_AUTOLOAD, as pytest's: the built-ins still load, an installed third party does not."""
    everything = {i.name for i in default_host().listing()}
    assert "good" in everything
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    own = {i.name: i for i in default_host().listing()}
    assert everything - set(own) >= {"good", "broken", "unknown-hook"}
    assert own and all(i.distribution == "empathy" and i.enabled for i in own.values())
    monkeypatch.setenv(AUTOLOAD_ENV, "0")  # "0" means autoload is on, as for pytest
    assert {i.name for i in default_host().listing()} == everything


def test_empty_load_list_loads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPATHY_LOAD_PLUGINS", "")
    host = default_host()
    assert host.implementations("mine_patterns") == []
    assert all(not i.enabled for i in host.listing())


class Healthy:
    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def mine_patterns(self, context: Any) -> list[Pattern]:
        return [Pattern(kind="ok", plugin=self.name, subjects=[self.name], score=1.0, confidence=1.0)]


class Crasher:
    @hookimpl
    def mine_patterns(self, context: Any) -> list[Pattern]:
        raise RuntimeError("boom")


class Sleeper:
    @hookimpl
    def mine_patterns(self, context: Any) -> list[Pattern]:
        time.sleep(30)
        return []


def test_crash_and_timeout_keep_other_results() -> None:
    host = PluginHost(load=None)
    for name, plugin in [
        ("a-healthy", Healthy("a-healthy")),
        ("crasher", Crasher()),
        ("sleeper", Sleeper()),
        ("z-healthy", Healthy("z-healthy")),
    ]:
        assert host.register(plugin, name)
    started = time.perf_counter()
    results = {r.plugin: r for r in host.call_each("mine_patterns", timeout=0.5, context=None)}
    elapsed = time.perf_counter() - started
    assert elapsed < 5, "a hanging plugin must not hold the others past its time-out"
    assert results["a-healthy"].ok and results["a-healthy"].value[0].subjects == ["a-healthy"]
    assert results["z-healthy"].ok and results["z-healthy"].value[0].subjects == ["z-healthy"]
    assert results["crasher"].error is not None and "RuntimeError: boom" in results["crasher"].error
    assert results["sleeper"].error is not None and "TimeoutError" in results["sleeper"].error
    infos = {i.name: i for i in host.listing()}
    assert any("boom" in e for e in infos["crasher"].errors)
    assert any("TimeoutError" in e for e in infos["sleeper"].errors)
    assert infos["a-healthy"].errors == []


def test_opt_in_arguments() -> None:
    """An implementation may take fewer arguments than the spec (additive evolution)."""

    class NoArgs:
        @hookimpl
        def mine_patterns(self) -> list[Pattern]:
            return [Pattern(kind="k", plugin="p", subjects=["x"], score=0.1, confidence=0.1)]

    host = PluginHost(load=None)
    host.register(NoArgs(), "noargs")
    (result,) = host.call_each("mine_patterns", context=object())
    assert result.ok and result.value[0].subjects == ["x"]


def test_duplicate_registration_is_refused() -> None:
    host = PluginHost(load=None)
    assert host.register(Healthy("x"), "x")
    assert not host.register(Healthy("x"), "x")
    assert host.implementations("mine_patterns") == ["x"]


def test_tracing_prints_hook_calls(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPATHY_TRACE_PLUGINS", "1")
    host = PluginHost(load=None)
    host.register(Healthy("traced"), "traced")
    host.call_each("mine_patterns", context=None)
    trace = capsys.readouterr().err
    assert "mine_patterns -> traced" in trace
    assert "mine_patterns <- 1 result(s)" in trace
