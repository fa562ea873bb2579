"""`empathy report --html`: one offline HTML file, opened in a real headless Chromium.

The repository (tests/report/history.py) has every kind of history the
report draws; the track records are made by the real commands (`empathy
eval`, `eval --partners`, `gate`, `gate record`), and the report's numbers are
checked against what those commands print, so the report cannot drift from
them.  Chromium is Debian's (`.ci/run` installs it), driven by playwright;
a missing browser fails the test unless EMPATHY_SKIP_BROWSER=1 says to skip.
A screenshot of each page is saved to $EMPATHY_TEST_ARTIFACTS (default
tests/.artifacts/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from empathy.cli.app import app
from tests.gitrepo import RepoBuilder, build_history
from tests.report.history import ODD_AUTHOR, ODD_FILE, build_report_history

CHROMIUM = os.environ.get("EMPATHY_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("EMPATHY_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / ".artifacts")
SECTIONS = 8


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr


def _ok(*args: str) -> str:
    code, out, err = _run(*args)
    assert code == 0, f"empathy {' '.join(args)} exited {code}: {err}"
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A repository with every record the report shows, the report itself, and the commands' own JSON."""
    root = tmp_path_factory.mktemp("report")
    repo = build_report_history(root / "repo")
    path = str(repo.path)
    runs: dict[str, Any] = {
        "eval": json.loads(_ok("eval", path, "--horizon", "90", "--cutoffs", "2", "--no-changes", "--json")),
        "partners": json.loads(_ok("eval", path, "--partners", "--json")),
        "gate": json.loads(
            _ok("gate", "--base", "main", "--head", "feature", "-C", path, "--fail-on", "never", "--no-github",
                "--json")
        ),
        "earlier_gate": json.loads(
            _ok("gate", "--base", "main~6", "--head", "main~2", "-C", path, "--fail-on", "never", "--no-github",
                "--json")
        ),
    }
    _ok("gate", "record", "--outcome", "failure", "--ref", "feature", "-C", path)
    _ok("gate", "record", "--outcome", "success", "--ref", "main~2", "-C", path)
    runs["forecast"] = json.loads(_ok("forecast", path, "--json"))
    html = root / "out" / "report.html"
    code, out, err = _run("report", path, "--html", str(html))
    assert code == 0, err
    runs["said"] = out
    runs["data"] = json.loads(_ok("report", path, "--json"))
    return {"repo": repo, "html": html, **runs}


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found:
        return found
    if os.environ.get("EMPATHY_SKIP_BROWSER") == "1":
        pytest.skip("Chromium is not installed and EMPATHY_SKIP_BROWSER=1")
    pytest.fail(
        f"Chromium is not installed at {CHROMIUM}: install Debian's chromium (`apt-get install chromium`, as .ci/run "
        "does), point EMPATHY_CHROMIUM at one, or set EMPATHY_SKIP_BROWSER=1 to skip the browser tests"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        # root in a container has no user namespace for the sandbox; the page is a local file we wrote
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


_FIGURES_JS = """() => Array.from(document.querySelectorAll('figure')).map(f => {
  const svg = f.querySelector(':scope > svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    svg: !!svg, width: box.width, height: box.height,
    children: svg ? svg.querySelectorAll('*').length : 0,
    marks: svg ? svg.querySelectorAll('path, use, rect').length : 0,
    texts: svg ? svg.querySelectorAll('text').length : 0,
    caption: (f.querySelector('figcaption') || {textContent: ''}).textContent,
    tables: f.querySelectorAll('table').length,
    rows: f.querySelector('table') ? f.querySelector('table tbody').rows.length : 0,
  };
})"""

_LINKS_JS = """() => Array.from(document.querySelectorAll('script, link, img, image, use, iframe, object, source'))
  .map(e => e.getAttribute('src') || e.getAttribute('href') || '').filter(v => v)"""


def _open(browser: Any, html: Path, shot: str) -> tuple[Any, list[str], list[str]]:
    """The page, its console errors and page errors, and every request beyond the file itself; saves a screenshot."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    url = html.resolve().as_uri()
    page.on("request", lambda r: None if r.url in (url,) or r.url.startswith("data:") else requests.append(r.url))
    page.goto(url)
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return page, errors, requests


def test_every_figure_renders_in_chromium_offline(full: dict[str, Any], browser: Any) -> None:
    page, errors, requests = _open(browser, full["html"], "report-full.png")
    assert errors == []
    assert requests == []  # nothing fetched: no script, style, font or image from anywhere
    figures = page.evaluate(_FIGURES_JS)
    assert len(figures) == SECTIONS  # every section has data here, so every one is a figure
    for f in figures:
        assert f["svg"], f
        assert f["width"] > 200 and f["height"] > 100, f
        assert f["children"] > 10 and f["marks"] > 0 and f["texts"] > 0, f
        assert f["tables"] >= 1 and f["rows"] >= 1, f
        assert re.search(r"\d", f["caption"]), f  # the caption carries numbers
    links = page.evaluate(_LINKS_JS)
    assert not [v for v in links if re.match(r"(?i)(https?:)?//", v)]
    assert not re.search(r"(?i)https?://", full["html"].read_text(encoding="utf-8"))
    assert (ARTIFACTS / "report-full.png").stat().st_size > 10_000
    page.close()


def test_odd_names_are_shown_as_text_never_as_markup(full: dict[str, Any], browser: Any) -> None:
    page, errors, _requests = _open(browser, full["html"], "report-odd-names.png")
    assert errors == []
    text = page.evaluate("() => document.body.textContent")  # the tables in closed <details> too
    assert ODD_FILE in text  # the path with <i>, <b>, & and " reads as written, in captions and tables
    assert 'Zoë "Z" O\'Brien & Co' in text  # the directory's main author (git drops < and > from names)
    assert page.evaluate("() => document.querySelectorAll('b, i').length") == 0  # no tag was injected
    svg_texts = page.evaluate("() => Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)")
    assert any("odd <b>&" in t for t in svg_texts)  # the treemap's label, escaped inside the SVG
    assert ODD_AUTHOR[1] not in text  # e-mail addresses are never shown
    page.close()


def test_the_report_says_what_the_other_commands_say(full: dict[str, Any]) -> None:
    data = full["data"]
    ranks = {f["path"]: f["rank"] for f in full["forecast"]["forecasts"]}
    assert {f["path"]: f["forecast_rank"] for f in data["hotspots"]["files"]} == ranks
    stored = full["eval"]["summary"]["rankings"]
    assert data["forecast_record"]["touch_at_20"] == {
        name: m["touch@20%"] for name, m in stored.items() if m["touch@20%"] is not None
    }
    assert data["forecast_record"]["touch_at_20_loc"] == {
        name: m["touch@20%LOC"] for name, m in stored.items() if m["touch@20%LOC"] is not None
    }
    partners = full["partners"]["partners"]
    assert data["partner_record"]["recall_at_1"] == partners["recall@1"]
    assert data["partner_record"]["warn_precision"] == partners["warn_precision"]
    decided = {e["head"]: e for e in data["gate"]["decisions"]}
    for run, outcome in ((full["gate"], "failure"), (full["earlier_gate"], "success")):
        entry = decided[run["subject"]["head"]]
        assert entry["decision"] == run["decision"]["decision"] and entry["risk"] == run["decision"]["risk"]
        assert entry["outcome"] == outcome
    assert sum(sum(row.values()) for row in data["gate"]["table"].values()) == len(decided) == 2
    pair = next(p for p in data["coupling"]["pairs"] if p["source"] == "coupling")
    assert {pair["a"], pair["b"]} == {"src/app/api.py", "src/app/client.py"} and pair["strength"] == 1.0
    bulk = [p for p in data["activity"]["periods"] if p["bulk"]]
    assert sum(p["bulk"] for p in bulk) == 1  # the formatter sweep in .git-blame-ignore-revs
    assert sum(p["commits"] for p in data["activity"]["periods"]) == data["meta"]["commits"]
    lib = next(a for a in data["knowledge"]["areas"] if a["area"] == "src/lib")
    assert lib["main_author"] == "Oscar Old" and not lib["main_active"] and lib["inactive_share"] > 0.9
    assert [f["path"] for f in data["knowledge"]["loss_files"]] == ["src/lib/parse.py"]
    assert data["missing"] == {}
    assert f"{SECTIONS} figures" in full["said"] and str(full["html"]) in full["said"]


def test_missing_records_are_said_in_words_with_the_command(repo: RepoBuilder, tmp_path: Path, browser: Any) -> None:
    build_history(repo, rounds=40)
    html = tmp_path / "fresh.html"
    code, out, err = _run("report", str(repo.path), "--html", str(html))
    assert code == 0, err
    assert "without data yet: forecast_record, partner_record, gate" in out
    page, errors, requests = _open(browser, html, "report-fresh.png")
    assert errors == [] and requests == []
    missing = page.evaluate("() => Array.from(document.querySelectorAll('.missing')).map(p => p.innerText)")
    said = " ".join(missing)
    for command in ("empathy eval", "empathy eval --partners", "empathy gate --base REF --head REF",
                    "empathy gate record"):
        assert command in said
    figures = page.evaluate(_FIGURES_JS)
    assert len(figures) == SECTIONS - 3 and all(f["svg"] and f["children"] > 10 for f in figures)
    page.close()


def test_step_summary_links_the_uploaded_report(full: dict[str, Any], tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    html = tmp_path / "empathy-report" / "report.html"
    env = {
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "team/service",
        "GITHUB_RUN_ID": "4242",
    }
    code, _out, err = _run("report", str(full["repo"].path), "--html", str(html), "--github-artifact", "gate-report",
                           env=env)
    assert code == 0, err
    line = summary.read_text(encoding="utf-8")
    size = html.stat().st_size / 1_000_000
    assert "`report.html`" in line and f"{size:.2f} MB" in line
    assert "artifact `gate-report`" in line
    assert "(https://github.example/team/service/actions/runs/4242#artifacts)" in line
    code, _out, err = _run("report", str(full["repo"].path), "--github-artifact", "x", "--json")
    assert code == 4 and "--html" in err


def test_usage_and_missing_extra_are_one_line_errors(full: dict[str, Any], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _run("report", str(full["repo"].path))
    assert code == 4 and "--html FILE" in err and out == ""
    monkeypatch.setitem(sys.modules, "squarify", None)  # how Python marks a module that cannot be imported
    target = tmp_path / "never.html"
    code, out, err = _run("report", str(full["repo"].path), "--html", str(target))
    assert code == 4 and 'pip install "empathy[report]"' in err and "squarify" in err
    assert "Traceback" not in err and not target.exists()
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.delitem(sys.modules, "squarify")
    code, _out, err = _run("report", str(full["repo"].path), "--html", str(blocked / "r.html"))
    assert code == 4 and "cannot write the report" in err


def test_the_file_stays_small_and_self_contained(full: dict[str, Any]) -> None:
    text = full["html"].read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 5_000_000
    assert "<script" not in text and "@import" not in text and "url(http" not in text
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # figures never share a clip path or marker id
    refs = set(re.findall(r'(?:url\(#|href="#)([^")]+)', text))
    assert refs <= set(ids)  # every reference inside an SVG points at its own figure's element


def test_two_files_with_one_name_get_labels_that_tell_them_apart() -> None:
    from empathy.report.charts import _distinct_names

    paths = ["src/flask/app.py", "src/flask/sansio/app.py", "src/flask/cli.py", "a/__init__.py", "__init__.py"]
    labels = _distinct_names(paths)
    assert len(set(labels.values())) == len(paths)
    assert labels["src/flask/cli.py"] == "cli.py"  # no clash: the file name alone
    assert labels["src/flask/app.py"] == "flask/app.py" and labels["src/flask/sansio/app.py"] == "sansio/app.py"
