"""Findings in the formats CI systems read: SARIF 2.1.0, GitHub workflow commands, GitLab Code Quality, JUnit XML.

The conversions live here, once, so every surface that hands findings to a
pipeline (``empathy findings --output-format``, the deployment gate's SARIF
file) writes the same shapes; the CLI only chooses one.  Nothing here reads a
repository: the input is the findings (plain :class:`Finding` objects) and the
output is data (a dict to dump as JSON, lines, or XML text).

What each format must get right, and why it is done here:

* SARIF: ``artifactLocation.uri`` is a URI reference, so a path is
  percent-encoded (a space, ``%``, ``#``, non-ASCII) and a ``:`` is encoded too,
  or ``a:b.py`` would read as the scheme ``a``; code scanning places a result
  with no line at the file's first line, so a file-level finding gets
  ``startLine`` 1.
* GitHub workflow commands: escaping follows the Actions toolkit
  (``command.ts``): ``%``, CR and LF in the message; also ``:`` and ``,`` in a
  property, where they would end the value.
* JUnit: XML 1.0 cannot carry most control characters at all (escaping does not
  help), so they are replaced with U+FFFD; everything else is escaped by
  :mod:`xml.etree.ElementTree`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from empathy import __version__
from empathy.core.model import Finding, Severity

__all__ = [
    "FAIL_ON_EXIT",
    "FORMATS",
    "SARIF_SCHEMA",
    "SARIF_VERSION",
    "escape_data",
    "escape_property",
    "finding_message",
    "findings_github",
    "findings_gitlab",
    "findings_junit",
    "findings_sarif",
    "reaching",
    "sarif_level",
    "sarif_location",
    "sarif_log",
    "sarif_rule",
    "workflow_command",
]

#: What ``empathy findings --output-format`` accepts; ``text`` is the table, ``json`` the ``--json`` document.
FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")

#: The exit code of a command whose findings reached ``--fail-on`` (README "Exit codes"): a result
#: a pipeline asked to fail on, not an error; 1 already means a plugin failed, 10 the gate's decision.
FAIL_ON_EXIT = 13

SARIF_VERSION = "2.1.0"
#: The OASIS schema the logs follow (tests validate against a vendored copy of it).
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/empathy-dev/empathy"
RULES_HELP_URI = "https://github.com/empathy-dev/empathy/blob/main/docs/levels.md"

#: GitLab Code Quality severities (info, minor, major, critical, blocker): empathy's warnings are
#: advice about history, not defects found in the code, so they stay below "critical".
GITLAB_SEVERITY = {Severity.INFO: "info", Severity.WARNING: "minor", Severity.ERROR: "major"}
#: GitHub annotation levels.
GITHUB_LEVEL = {Severity.INFO: "notice", Severity.WARNING: "warning", Severity.ERROR: "error"}

# Characters XML 1.0 cannot carry, escaped or not (and lone surrogates, which are not characters).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def reaching(findings: Iterable[Finding], severity: Severity | str) -> list[Finding]:
    """The findings at ``severity`` or above (what ``--fail-on SEVERITY`` counts)."""
    floor = Severity(severity).rank
    return [f for f in findings if f.severity.rank >= floor]


def finding_message(finding: Finding) -> str:
    """One message for a finding: its reason, its forecast where it has one, and the action."""
    forecast = (
        f" (p={finding.probability:.2f} within {finding.horizon_days} days)" if finding.probability is not None else ""
    )
    return f"{finding.reason}{forecast} -> {finding.action}"


# -- GitHub workflow commands -------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped (the Actions toolkit's ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also ``:`` and ``,`` (the toolkit's ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(
    level: str, file: str, line: int | None, title: str, message: str, end_line: int | None = None
) -> str:
    """``::warning file=...,line=...,endLine=...,title=...::message``, every part escaped."""
    props = [f"file={escape_property(file)}"]
    if line:
        props.append(f"line={int(line)}")
        if end_line and end_line > line:
            props.append(f"endLine={int(end_line)}")
    props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def findings_github(findings: Iterable[Finding]) -> list[str]:
    """One annotation per finding (GitHub shows at most 10 per level and step; all are printed)."""
    return [
        workflow_command(
            GITHUB_LEVEL[f.severity],
            f.location.path,
            f.location.start_line,
            f"empathy: {f.code}",
            finding_message(f),
            f.location.end_line,
        )
        for f in findings
    ]


# -- SARIF 2.1.0 ----------------------------------------------------------------------


def sarif_level(severity: str) -> str:
    """SARIF's level for an empathy severity (or a GitHub annotation level): info and notice are notes."""
    return {"error": "error", "warning": "warning"}.get(severity, "note")


def sarif_uri(path: str) -> str:
    """A repository-relative path as a relative URI reference (percent-encoded, ``:`` included)."""
    return quote(path, safe="/", errors="surrogateescape")


def sarif_location(path: str, start_line: int | None = None, end_line: int | None = None) -> dict[str, Any]:
    """A physical location relative to the repository root (``%SRCROOT%``), with a region.

    A file-level result is placed on line 1: code scanning needs a region to
    show it at all.
    """
    start = max(1, int(start_line or 1))
    region: dict[str, int] = {"startLine": start}
    if start_line and end_line and end_line > start:
        region["endLine"] = int(end_line)
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": sarif_uri(path), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }


def sarif_rule(rule_id: str, description: str, help_uri: str = RULES_HELP_URI) -> dict[str, Any]:
    """A ``reportingDescriptor`` for ``tool.driver.rules``."""
    return {
        "id": rule_id,
        "name": rule_id.replace("-", " ").replace("_", " ").title().replace(" ", ""),
        "shortDescription": {"text": description},
        "helpUri": help_uri,
    }


def sarif_log(
    *,
    tool: str,
    rules: Mapping[str, dict[str, Any]],
    results: list[dict[str, Any]],
    properties: Mapping[str, Any] | None = None,
    notifications: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run: the driver with ``rules`` (sorted by id), the ``results``.

    ``notifications`` are ``(plugin, error)`` pairs: a plugin that failed makes
    the invocation unsuccessful and says why, so a partial answer is never
    read as a clean one.  Each result's ``ruleIndex`` is set from its ``ruleId``.
    """
    ordered = [rules[k] for k in sorted(rules)]
    index = {rule["id"]: n for n, rule in enumerate(ordered)}
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": tool,
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": ordered,
            }
        },
        "invocations": [
            {
                "executionSuccessful": not notifications,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"plugin {name} failed: {error}"}}
                    for name, error in notifications
                ],
            }
        ],
        "results": results,
    }
    if properties:
        run["properties"] = dict(properties)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def findings_sarif(findings: Iterable[Finding], errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log of findings: a rule per finding code, a result per finding.

    ``partialFingerprints`` carry the finding's own stable fingerprint, so code
    scanning keeps one alert for the same finding across runs; the evidence,
    level, plugin and forecast go in the result's property bag.
    """
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for f in findings:
        rules.setdefault(f.code, sarif_rule(f.code, f"empathy: {f.code} (level {int(f.level)})"))
        props: dict[str, Any] = {"level": int(f.level), "source": f.source, "evidence": dict(f.evidence)}
        if f.probability is not None:
            props.update(probability=f.probability, horizon_days=f.horizon_days)
        results.append(
            {
                "ruleId": f.code,
                "level": sarif_level(f.severity.value),
                "message": {"text": finding_message(f)},
                "locations": [sarif_location(f.location.path, f.location.start_line, f.location.end_line)],
                "partialFingerprints": {"empathyFinding/v1": f.fingerprint},
                "properties": props,
            }
        )
    return sarif_log(tool="empathy", rules=rules, results=results, notifications=sorted((errors or {}).items()))


# -- GitLab Code Quality ----------------------------------------------------------------


def findings_gitlab(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """GitLab's Code Quality report (a CodeClimate subset): one issue per finding.

    Every field GitLab requires is set: ``description``, ``check_name``,
    ``fingerprint`` (the finding's, unique in a report), ``severity`` and
    ``location.path`` with ``location.lines.begin`` (1 for a file-level finding).
    """
    issues: list[dict[str, Any]] = []
    for f in findings:
        lines: dict[str, int] = {"begin": max(1, f.location.start_line or 1)}
        if f.location.start_line and f.location.end_line and f.location.end_line > lines["begin"]:
            lines["end"] = f.location.end_line
        issues.append(
            {
                "type": "issue",
                "description": finding_message(f),
                "check_name": f.code,
                "categories": ["Bug Risk"],
                "fingerprint": f.fingerprint,
                "severity": GITLAB_SEVERITY[f.severity],
                "location": {"path": f.location.path, "lines": lines},
            }
        )
    return issues


# -- JUnit XML --------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def findings_junit(findings: Iterable[Finding], name: str = "empathy") -> str:
    """JUnit XML: a test suite per file, a failing test case per finding (its message and evidence).

    Returned as text with an XML declaration; :mod:`xml.etree.ElementTree`
    escapes markup, quotes and newlines in attributes.
    """
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.location.path, []).append(f)
    total = sum(len(v) for v in by_file.values())
    root = ET.Element("testsuites", name=name, tests=str(total), failures=str(total), errors="0")
    for path, items in by_file.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_xml_text(path),
            tests=str(len(items)),
            failures=str(len(items)),
            errors="0",
            skipped="0",
        )
        for f in items:
            line = f":{f.location.start_line}" if f.location.start_line else ""
            case = ET.SubElement(
                suite,
                "testcase",
                name=_xml_text(f"{f.code} {path}{line}"),
                classname=_xml_text(f"{name}.{f.code}"),
                file=_xml_text(path),
            )
            if f.location.start_line:
                case.set("line", str(f.location.start_line))
            failure = ET.SubElement(case, "failure", type=f.severity.value, message=_xml_text(finding_message(f)))
            evidence = ", ".join(f"{k}={v}" for k, v in f.evidence.items() if not isinstance(v, list | dict))
            failure.text = _xml_text(
                f"{f.severity.value} {f.code} (level {int(f.level)}, {f.source}) at {path}{line}\n"
                f"{f.reason}\n-> {f.action}\n{evidence}"
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
