"""GitHub Actions output: ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, workflow commands, SARIF.

Escaping follows the Actions toolkit (``command.ts``): in a message ``%``,
CR and LF are escaped; in a property also ``:`` and ``,``.  GitHub keeps at
most 10 warning and 10 error annotations per step, so the report caps them
(the full list is in the summary and the JSON).  The escaping and the SARIF
log's shape are :mod:`empathy.core.findings_formats`'s, shared with
``empathy findings --output-format``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from empathy.core.findings_formats import (
    escape_data,
    escape_property,
    sarif_level,
    sarif_location,
    sarif_log,
    sarif_rule,
    workflow_command,
)

__all__ = [
    "annotation_commands",
    "escape_data",
    "escape_property",
    "sarif_report",
    "write_outputs",
    "write_step_summary",
]

GATE_HELP_URI = "https://github.com/empathy-dev/empathy/blob/main/docs/gate.md"


def annotation_commands(annotations: list[Mapping[str, Any]]) -> list[str]:
    """``::error file=...,line=...,title=...::message`` lines for the report's annotations."""
    return [
        workflow_command(str(a["level"]), str(a["file"]), a.get("line"), str(a["title"]), str(a["message"]))
        for a in annotations
    ]


def write_outputs(values: Mapping[str, str], path: str | os.PathLike[str] | None = None) -> bool:
    """Append ``name<<DELIM`` blocks to ``GITHUB_OUTPUT``; False when there is no such file.

    The heredoc form with a random delimiter is safe for any value (the
    toolkit does the same); a value containing the delimiter is refused.
    """
    target = path if path is not None else os.environ.get("GITHUB_OUTPUT")
    if not target:
        return False
    chunks: list[str] = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter in value or delimiter in name:  # pragma: no cover - a uuid collision
            raise ValueError("output value contains its delimiter")
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with open(target, "a", encoding="utf-8") as fh:
        fh.write("".join(chunks))
    return True


def write_step_summary(markdown: str, path: str | os.PathLike[str] | None = None) -> bool:
    """Append the Markdown report to ``GITHUB_STEP_SUMMARY``; False when there is no such file."""
    target = path if path is not None else os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(markdown)
    return True


def sarif_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """A SARIF 2.1.0 log for code scanning: the gate's annotations as results on the changed files."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for a in report["annotations"]:
        rule_id = str(a["title"]).removeprefix("empathy gate: ").removeprefix("empathy: ")
        rules.setdefault(rule_id, sarif_rule(rule_id, f"empathy: {rule_id}", GATE_HELP_URI))
        key = f"{rule_id}|{a['file']}|{a.get('line') or ''}|{a['message']}"
        results.append(
            {
                "ruleId": rule_id,
                "level": sarif_level(str(a["level"])),
                "message": {"text": str(a["message"])},
                "locations": [sarif_location(str(a["file"]), a.get("line"))],
                # Stable across runs for the same rule, file and message, so code scanning tracks one alert.
                "partialFingerprints": {
                    "empathyFinding/v1": hashlib.sha256(key.encode("utf-8")).hexdigest()[:32],
                },
            }
        )
    decision = report["decision"]
    return sarif_log(
        tool="empathy-gate",
        rules=rules,
        results=results,
        properties={
            "decision": decision["decision"],
            "risk": decision["risk"],
            "trust": decision["trust"],
            "head": report["subject"]["head"],
        },
    )


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a file, creating its directory (reports go under paths the workflow names)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
