"""`empathy findings --output-format` and `--fail-on` / `--exit-zero`: findings a CI system reads, and can fail on.

One repository is built for the module, with paths no CI format takes as they
are: a space, commas, colons, a ``%20`` that is not an escape, non-ASCII, and a
newline.  Each format is read back with the reader its consumer would use
(the official SARIF 2.1.0 schema, GitHub's workflow-command syntax, GitLab's
required fields, ``xml.etree``) and compared with the ``--json`` document of
the same run, finding by finding.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from empathy.ci_action.github import sarif_report
from empathy.core.findings_formats import (
    finding_message,
    findings_github,
    findings_gitlab,
    findings_junit,
    findings_sarif,
)
from empathy.core.model import Finding, Level, Location, Severity
from tests.cli.helpers import invoke
from tests.gitrepo import RepoBuilder, build_partner_history, py_source
from tests.plugins.helpers import build_template, clone

SCHEMA_PATH = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"
#: The coupled pair's files and a fix-prone, growing, one-author file: odd characters in every path.
ODD = "odd dir/a, b: c%20 é.py"
NEWLINE = "new\nline.py"
ENGINE = "odd dir/eng,ine:x.py"


def build_history(repo: RepoBuilder) -> None:
    build_partner_history(repo, rounds=40, api=ODD, client=NEWLINE)
    for k in range(30):
        message = f"fix crash in engine {k}" if k % 2 else f"extend engine {k}"
        repo.commit(message, {ENGINE: py_source(4 + k // 4, 2, "e") + f"# {k}\n"})
    repo.git_repo.git.gc("-q")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The repository and its store, shared by the module's tests (they only read)."""
    template = build_template(tmp_path_factory, build_history)
    here = tmp_path_factory.mktemp("formats")
    repo = clone(template, here / "repo")
    yield repo.path, {"EMPATHY_DATABASE_URL": f"sqlite:///{here / 'store.db'}"}


def run(project: tuple[Path, dict[str, str]], *options: str) -> tuple[int, str, str]:
    path, env = project
    result = invoke("findings", *options, path, env=env)
    return result.exit_code, result.stdout, result.stderr


def as_json(project: tuple[Path, dict[str, str]], *options: str) -> list[dict[str, Any]]:
    code, out, err = run(project, "--json", *options)
    assert code == 0, err
    findings: list[dict[str, Any]] = json.loads(out)["findings"]
    return findings


def message_of(f: dict[str, Any]) -> str:
    return finding_message(Finding.from_dict(f))


@pytest.fixture(scope="module")
def everything(project: tuple[Path, dict[str, str]]) -> list[dict[str, Any]]:
    found = as_json(project, "--all")
    paths = {f["location"]["path"] for f in found}
    # the module's premise: odd paths, a line range and two severities are among the findings
    assert {ENGINE, NEWLINE} <= paths
    assert any(f["location"]["end_line"] for f in found)
    assert {f["severity"] for f in found} >= {"warning", "info"}
    return found


# -- SARIF ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    validator: jsonschema.protocols.Validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.FormatChecker()
    )
    # The format checks are live (rfc3986-validator is installed): a raw path with a space is not a URI reference.
    bad = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "artifacts": [{"location": {"uri": "a b"}}]}],
    }
    assert not validator.is_valid(bad)
    return validator


def test_sarif_is_valid_2_1_0_and_holds_every_finding(
    project: tuple[Path, dict[str, str]], everything: list[dict[str, Any]], sarif_validator: Any
) -> None:
    code, out, _ = run(project, "--all", "--output-format", "sarif")
    assert code == 0
    log = json.loads(out)
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    (sarif_run,) = log["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f["code"] for f in everything})
    results = sarif_run["results"]
    assert len(results) == len(everything)
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for result, f in zip(results, everything, strict=True):
        assert result["ruleId"] == f["code"] and rules[result["ruleIndex"]]["id"] == f["code"]
        assert result["level"] == levels[f["severity"]]
        assert result["message"]["text"] == message_of(f)
        assert result["partialFingerprints"] == {"empathyFinding/v1": f["fingerprint"]}
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        # a relative reference (no scheme: "odd dir/eng,ine:x.py" must not read as scheme "odd dir/eng,ine")
        assert urlsplit(uri).scheme == "" and not uri.startswith("/")
        assert unquote(uri) == f["location"]["path"]
        region = physical["region"]
        assert region["startLine"] == (f["location"]["start_line"] or 1)
        assert region.get("endLine") == f["location"]["end_line"]
    assert sarif_run["invocations"][0]["executionSuccessful"] is True


def test_the_gates_sarif_uses_the_same_builder_and_is_valid(sarif_validator: Any) -> None:
    report = {
        "annotations": [
            {"level": "error", "file": ENGINE, "line": None, "title": "empathy gate: hotspot", "message": "m\n1"},
            {"level": "notice", "file": ODD, "line": 3, "title": "empathy: fix-prone", "message": "50% é"},
        ],
        "decision": {"decision": "block", "risk": 0.7, "trust": None},
        "subject": {"head": "abc"},
    }
    log = sarif_report(report)
    assert sarif_validator.is_valid(log)
    results = log["runs"][0]["results"]
    assert [unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results] == [ENGINE, ODD]
    assert [r["level"] for r in results] == ["error", "note"]
    assert log["runs"][0]["tool"]["driver"]["name"] == "empathy-gate"
    assert log["runs"][0]["properties"]["decision"] == "block"


def test_a_failed_plugin_makes_the_sarif_run_unsuccessful(sarif_validator: Any) -> None:
    log = findings_sarif([], {"systemic": "TimeoutError: took 30 s"})
    assert sarif_validator.is_valid(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == (
        "plugin systemic failed: TimeoutError: took 30 s"
    )


# -- GitHub workflow commands -----------------------------------------------------------------


def _unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """The runner's reading of ``::level k=v,k=v::message``: properties end at the first ``::``."""
    match = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(","))
    return match.group(1), {k: _unescape(v) for k, v in props.items()}, _unescape(match.group(3))


def test_github_annotations_parse_back(project: tuple[Path, dict[str, str]], everything: list[dict[str, Any]]) -> None:
    code, out, _ = run(project, "--all", "--output-format", "github")
    assert code == 0
    lines = out.splitlines()  # one line each: newlines in paths and messages are escaped
    assert len(lines) == len(everything)
    for line, f in zip(lines, everything, strict=True):
        level, props, message = parse_workflow_command(line)
        assert level == {"error": "error", "warning": "warning", "info": "notice"}[f["severity"]]
        assert props["file"] == f["location"]["path"]
        assert props["title"] == f"empathy: {f['code']}"
        assert props.get("line") == (str(f["location"]["start_line"]) if f["location"]["start_line"] else None)
        assert props.get("endLine") == (str(f["location"]["end_line"]) if f["location"]["end_line"] else None)
        assert message == message_of(f)


# -- GitLab Code Quality ------------------------------------------------------------------------


def test_gitlab_code_quality_has_the_required_fields(
    project: tuple[Path, dict[str, str]], everything: list[dict[str, Any]]
) -> None:
    code, out, _ = run(project, "--all", "--output-format", "gitlab")
    assert code == 0
    issues = json.loads(out)
    assert isinstance(issues, list) and len(issues) == len(everything)
    # GitLab's documented required fields, with their types and allowed values
    for issue, f in zip(issues, everything, strict=True):
        assert issue["description"] == message_of(f)
        assert issue["check_name"] == f["code"]
        assert issue["fingerprint"] == f["fingerprint"]
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["severity"] == {"info": "info", "warning": "minor", "error": "major"}[f["severity"]]
        assert issue["location"]["path"] == f["location"]["path"]
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and begin == (f["location"]["start_line"] or 1)
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # GitLab tells issues apart by fingerprint


# -- JUnit XML --------------------------------------------------------------------------------


def test_junit_parses_and_carries_each_finding(
    project: tuple[Path, dict[str, str]], everything: list[dict[str, Any]]
) -> None:
    code, out, _ = run(project, "--all", "--output-format", "junit")
    assert code == 0
    root = ET.fromstring(out.encode("utf-8"))
    assert root.tag == "testsuites" and int(root.get("tests", "-1")) == len(everything)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(everything)
    by_suite = {s.get("name"): len(s.findall("testcase")) for s in root.findall("testsuite")}
    assert sum(by_suite.values()) == len(everything) and NEWLINE in by_suite
    want = sorted((f["location"]["path"], message_of(f), f["severity"]) for f in everything)
    got = sorted((c.get("file"), c.find("failure").get("message"), c.find("failure").get("type")) for c in cases)  # type: ignore[union-attr]
    assert got == want


def test_junit_replaces_what_xml_cannot_carry() -> None:
    finding = Finding(
        code="hotspot",
        level=Level.PROACTIVE,
        severity=Severity.WARNING,
        location=Location("a\x01b <&>.py", 2),
        reason='bell\x07 and "quotes" & <tags>\r\nnext',
        action="act",
        source="proactive",
    )
    root = ET.fromstring(findings_junit([finding]).encode("utf-8"))
    case = root.find("./testsuite/testcase")
    assert case is not None and case.get("file") == "a\ufffdb <&>.py" and case.get("line") == "2"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == 'bell\ufffd and "quotes" & <tags>\r\nnext -> act'


def test_every_format_keeps_odd_messages_apart_from_their_syntax() -> None:
    """A message with the syntax of each format in it (newlines, %, ::, commas, quotes) stays one finding."""
    finding = Finding(
        code="fix-prone",
        level=Level.PROACTIVE,
        severity=Severity.ERROR,
        location=Location("dir, x/a:b 100%.py", 7, 9),
        reason="line one\nline two:: 50%,\r end",
        action='say "hi" é',
        source="proactive",
    )
    text = finding_message(finding)
    (line,) = findings_github([finding])
    level, props, message = parse_workflow_command(line)
    assert (level, props["file"], props["line"], props["endLine"], message) == (
        "error",
        "dir, x/a:b 100%.py",
        "7",
        "9",
        text,
    )
    (issue,) = json.loads(json.dumps(findings_gitlab([finding])))
    assert issue["description"] == text and issue["location"] == {
        "path": "dir, x/a:b 100%.py",
        "lines": {"begin": 7, "end": 9},
    }
    result = json.loads(json.dumps(findings_sarif([finding])))["runs"][0]["results"][0]
    assert result["message"]["text"] == text
    assert unquote(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == "dir, x/a:b 100%.py"


# -- --output-format json, --fail-on, --exit-zero --------------------------------------------------


def test_output_format_json_is_the_json_flag(project: tuple[Path, dict[str, str]]) -> None:
    _, flag, _ = run(project, "--json")
    _, fmt, _ = run(project, "--output-format", "json")
    a, b = json.loads(flag), json.loads(fmt)
    assert a.pop("plugins").keys() == b.pop("plugins").keys()  # the same plugins ran (their times differ)
    assert a == b and a["findings"]
    code, _, err = run(project, "--json", "--output-format", "sarif")
    assert code == 4 and "--json is --output-format json" in err
    assert run(project, "--output-format", "yaml")[0] == 4


def test_fail_on_and_exit_zero(project: tuple[Path, dict[str, str]]) -> None:
    shown = as_json(project)
    warnings = [f for f in shown if f["severity"] == "warning"]
    assert warnings and not [f for f in shown if f["severity"] == "error"]
    assert run(project)[0] == 0  # advisory by default, whatever is found
    code, out, err = run(project, "--fail-on", "warning", "--output-format", "sarif")
    assert code == 13 and f"{len(warnings)} finding(s) at warning or above" in err
    assert len(json.loads(out)["runs"][0]["results"]) == len(shown)  # the report is written before failing
    assert run(project, "--fail-on", "info")[0] == 13
    assert run(project, "--fail-on", "error")[0] == 0  # no finding reaches error
    code, _, err = run(project, "--fail-on", "warning", "--exit-zero")
    assert code == 0 and "exit 0 (--exit-zero)" in err
    assert run(project, "--fail-on", "fatal")[0] == 4


def test_findings_held_back_by_trust_never_fail_the_run(project: tuple[Path, dict[str, str]]) -> None:
    shown = as_json(project, "--file", NEWLINE)
    everything = as_json(project, "--file", NEWLINE, "--all")
    # on this file the warnings are all held back by trust (unproven), the shown findings are informational
    assert [f for f in everything if f["severity"] == "warning"]
    assert not [f for f in shown if f["severity"] != "info"]
    assert run(project, "--file", NEWLINE, "--fail-on", "warning")[0] == 0
    assert run(project, "--file", NEWLINE, "--fail-on", "warning", "--all")[0] == 13
