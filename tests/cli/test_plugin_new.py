"""``empathy plugin new`` and the "Testing a plugin" recipe of docs/plugins.md, run for real.

Packages are installed into a private target directory and used by subprocesses
with ``PYTHONPATH`` pointing at it, so the plugin set of this test process never
changes.  The installation is done by :func:`install`, from the package's own
``pyproject.toml``: ``pip install --no-index --no-build-isolation`` cannot build
here (the venv's setuptools 65 has no ``bdist_wheel`` without the ``wheel``
package), and build isolation would need an index.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from empathy import __version__
from empathy.cli import scaffold
from empathy.core.host import AUTOLOAD_ENV
from tests.cli.helpers import invoke
from tests.gitrepo import RepoBuilder

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


# -- helpers -------------------------------------------------------------------


def install(package: Path, site: Path) -> None:
    """Install ``package`` into ``site`` as pip would: its modules, and a dist-info from its pyproject.toml.

    The entry points come from ``[project.entry-points]`` and the modules from
    ``[tool.setuptools]`` (``packages``, ``py-modules``), so a wrong
    pyproject.toml makes the tests that use the installed package fail.
    """
    meta = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))
    project = meta["project"]
    setuptools = meta.get("tool", {}).get("setuptools", {})
    site.mkdir(parents=True, exist_ok=True)
    for name in setuptools.get("packages", []):
        shutil.copytree(package / name.replace(".", "/"), site / name.replace(".", "/"))
    for name in setuptools.get("py-modules", []):
        shutil.copy(package / f"{name}.py", site / f"{name}.py")
    dist = re.sub(r"[-_.]+", "_", project["name"])
    info = site / f"{dist}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    groups = project.get("entry-points", {})
    lines = [f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items()]
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")


def run(args: list[str], site: Path, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """``args`` in a subprocess that sees the packages installed in ``site`` (and nothing of this process)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = str(site)
    env[AUTOLOAD_ENV] = "0"  # the scaffolded package is a third-party plugin
    env.update(extra_env)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


# -- the documented recipe -----------------------------------------------------


def recipe() -> str:
    """The python block of the "Testing a plugin" section of docs/plugins.md, as written."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## Testing a plugin\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "the section must hold exactly one python block"
    return str(blocks[0])


#: A plugin whose hooks read a value from its own ``settings_defaults``: a KeyError
#: when the defaults were never merged (what ``ws.host.register`` used to cause).
MY_PLUGIN = """
from empathy.plugin import Finding, Level, Location, Pattern, Severity, hookimpl


@hookimpl
def settings_defaults():
    return {"min_commits": 2}


@hookimpl
def mine_patterns(context):
    least = context.settings["min_commits"]
    counts = {}
    for commit in context.history.commits:
        for touch in commit.touches:
            counts[touch.path] = counts.get(touch.path, 0) + 1
    return [
        Pattern(kind="busy", plugin="my-plugin", subjects=[path], score=1.0, confidence=1.0,
                evidence={"commits": n, "min_commits": least})
        for path, n in sorted(counts.items()) if n >= least
    ]


@hookimpl
def level_findings(context, patterns):
    least = context.settings["min_commits"]
    return [
        Finding(code="busy", level=Level.PROACTIVE, severity=Severity.INFO, location=Location(p.subjects[0]),
                reason=f"{p.subjects[0]} changed in {p.evidence['commits']} commits, at least {least}",
                action=f"look at {p.subjects[0]}", source="my-plugin", evidence={"confidence": 1.0})
        for p in patterns if p.kind == "busy"
    ]
"""

#: Runs a snippet with ``repo_path`` and ``tmp_path`` bound, then prints what its reports hold.
RUNNER = """
import json, sys
from pathlib import Path

from empathy.core.findings import FindingsReport
from empathy.core.workspace import MineReport

namespace = {"repo_path": Path(sys.argv[1]), "tmp_path": Path(sys.argv[2])}
try:
    exec(compile(Path(sys.argv[3]).read_text(encoding="utf-8"), "docs/plugins.md", "exec"), namespace)
finally:
    seen = {"patterns": None, "findings": None, "errors": {}}
    for value in namespace.values():
        if isinstance(value, MineReport):
            seen["patterns"] = [p.subjects for p in value.patterns]
            seen["errors"].update(value.errors)
        elif isinstance(value, FindingsReport):
            seen["findings"] = [f.location.path for f in value.findings]
            seen["errors"].update(value.errors)
    print(json.dumps(seen))
"""


def run_recipe(snippet: str, tmp_path: Path, entry_point: bool) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Install the throwaway ``my_plugin`` (with or without its entry point) and run ``snippet`` on a repo."""
    repo = RepoBuilder(tmp_path / "repo")
    repo.commit("one", {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    repo.commit("two", {"a.py": "a = 2\n"})
    repo.commit("three", {"a.py": "a = 3\n"})
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "my_plugin.py").write_text(MY_PLUGIN, encoding="utf-8")
    eps = '\n[project.entry-points.empathy]\n"my-plugin" = "my_plugin"\n' if entry_point else ""
    (package / "pyproject.toml").write_text(
        f'[project]\nname = "my-plugin"\nversion = "0.1"\n{eps}\n[tool.setuptools]\npy-modules = ["my_plugin"]\n',
        encoding="utf-8",
    )
    install(package, tmp_path / "site")
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")
    (tmp_path / "snippet.py").write_text(snippet, encoding="utf-8")
    args = [sys.executable, str(tmp_path / "runner.py"), str(repo.path), str(tmp_path), str(tmp_path / "snippet.py")]
    proc = run(args, tmp_path / "site", tmp_path)
    seen = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
    return proc, seen


def test_the_recipe_registers_with_ws_register() -> None:
    snippet = recipe()
    assert 'ws.register(my_plugin, "my-plugin")' in snippet
    assert "ws.host.register" not in snippet


@pytest.mark.parametrize("entry_point", [False, True], ids=["importable", "installed-with-entry-point"])
def test_the_documented_recipe_runs_as_written(tmp_path: Path, entry_point: bool) -> None:
    proc, seen = run_recipe(recipe(), tmp_path, entry_point)
    assert proc.returncode == 0, proc.stderr
    # the plugin read min_commits = 2 from its defaults: a.py (3 commits), not b.py (1)
    assert seen == {"patterns": [["a.py"]], "findings": ["a.py"], "errors": {}}


def test_the_old_recipe_fails_on_a_plugin_reading_its_defaults(tmp_path: Path) -> None:
    """The check above can fail: with ``ws.host.register`` the same plugin's defaults are missing."""
    old = recipe().replace("ws.register(", "ws.host.register(")
    proc, seen = run_recipe(old, tmp_path, entry_point=False)
    assert proc.returncode != 0
    assert "KeyError: 'min_commits'" in seen["errors"]["my-plugin"]


# -- empathy plugin new --------------------------------------------------------


def test_new_scaffolds_a_package_that_passes_its_own_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("plugin", "new", "demo")
    assert result.exit_code == 0, result.output
    package = tmp_path / "empathy-demo"
    files = ["pyproject.toml", "README.md", "empathy_demo/__init__.py", "tests/test_plugin.py"]
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == sorted(files)
    lines = result.stdout.splitlines()
    for rel in files:
        assert f"  empathy-demo/{rel}" in lines
    assert lines[-3:] == ["next:", "  pip install -e empathy-demo", "  pytest empathy-demo"]

    site = tmp_path / "site"
    install(package, site)
    # The generated tests need no pytest plugin; not loading this venv's (hypothesis, pytest-lsp ...) saves seconds.
    proc = run(
        [sys.executable, "-m", "pytest", str(package / "tests"), "-q"],
        site,
        tmp_path,
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed is not None and int(passed.group(1)) >= 1, proc.stdout
    assert re.search(r"\b\d+ (failed|errors?)\b", proc.stdout) is None, proc.stdout

    proc = run([sys.executable, "-m", "empathy", "plugins", "--json"], site, tmp_path)
    assert proc.returncode == 0, proc.stderr
    [row] = [r for r in json.loads(proc.stdout) if r["name"] == "demo"]
    assert row["enabled"] is True and row["load_error"] is None
    assert {"mine_patterns", "level_findings"} <= set(row["hooks"])
    assert (row["module"], row["distribution"]) == ("empathy_demo", "empathy-demo")


def test_new_json_lists_the_files(tmp_path: Path) -> None:
    target = tmp_path / "somewhere" / "pkg"
    result = invoke("plugin", "new", "my-plugin", "--dir", target, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    files = ["pyproject.toml", "README.md", "empathy_my_plugin/__init__.py", "tests/test_plugin.py"]
    assert data == {
        "plugin": "my-plugin",
        "module": "empathy_my_plugin",
        "directory": str(target),
        "files": [str(target / f) for f in files],
        "next": [f"pip install -e {target}", f"pytest {target}"],
    }
    assert all((target / f).is_file() for f in files)


def test_the_generated_files() -> None:
    files = scaffold.render("my-plugin", __version__)
    meta = tomllib.loads(files["pyproject.toml"])
    project = meta["project"]
    assert project["name"] == "empathy-my-plugin"
    assert project["requires-python"] == ">=3.11"
    assert project["dependencies"] == [f"empathy>={__version__}"]
    assert project["entry-points"] == {"empathy": {"my-plugin": "empathy_my_plugin"}}
    assert meta["build-system"]["build-backend"] == "setuptools.build_meta"
    assert meta["tool"]["setuptools"]["packages"] == ["empathy_my_plugin"]
    module = ast.parse(files["empathy_my_plugin/__init__.py"])
    imported = {n.module for n in ast.walk(module) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(module) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in imported if m and m.split(".")[0] == "empathy"} == {"empathy.plugin"}
    hooks = {
        n.name
        for n in module.body
        if isinstance(n, ast.FunctionDef) and any(ast.unparse(d) == "hookimpl" for d in n.decorator_list)
    }
    assert hooks == {"settings_defaults", "mine_patterns", "level_findings"}
    ast.parse(files["tests/test_plugin.py"])
    assert "ws.register(empathy_my_plugin, PLUGIN)" in files["tests/test_plugin.py"]
    assert "EMPATHY_PLUGIN_MY_PLUGIN_MIN_COMMITS" in files["README.md"]


@pytest.mark.parametrize("name", ["Demo", "my_plugin", "1st", "my--plugin", "-x", "x-", "a b", "", "x" * 51])
def test_new_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    result = invoke("plugin", "new", "--dir", tmp_path / "out", "--", name)  # "--": "-x" is a name, not an option
    assert result.exit_code == 4
    assert "invalid plugin id" in one_error_line(result.stderr)
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_new_refuses_a_built_in_id(tmp_path: Path) -> None:
    result = invoke("plugin", "new", "churn", "--dir", tmp_path / "out")
    assert result.exit_code == 4
    assert "taken by a built-in plugin" in one_error_line(result.stderr)
    assert not (tmp_path / "out").exists()


def test_new_keeps_an_existing_directory_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "empathy-demo"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n", encoding="utf-8")
    (target / "pyproject.toml").write_text("old\n", encoding="utf-8")

    result = invoke("plugin", "new", "demo", "--dir", target)
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        f"error: {target} exists and is not empty; use --force to write the plugin's files into it"
    )
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt", "pyproject.toml"]
    assert (target / "pyproject.toml").read_text(encoding="utf-8") == "old\n"

    result = invoke("plugin", "new", "demo", "--dir", target, "--force")
    assert result.exit_code == 0, result.output
    assert (target / "pyproject.toml").read_text(encoding="utf-8") == scaffold.render("demo", __version__)[
        "pyproject.toml"
    ]
    assert (target / "empathy_demo" / "__init__.py").is_file()
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine\n"  # files of its own are kept


def test_new_writes_into_an_empty_directory_and_refuses_a_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert invoke("plugin", "new", "demo", "--dir", empty).exit_code == 0
    assert (empty / "pyproject.toml").is_file()

    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    result = invoke("plugin", "new", "demo", "--dir", afile, "--force")
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == f"error: {afile} exists and is not a directory"
