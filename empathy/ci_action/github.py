"""GitHub Actions output: ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, workflow commands, SARIF.

Escaping follows the Actions toolkit (``command.ts``): in a message ``%``,
CR and LF are escaped; in a property also ``:`` and ``,``.  GitHub keeps at
most 10 warning and 10 error annotations per step, so the report caps them
(the full list is in the summary and the JSON).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from empathy import __version__

__all__ = [
    "annotation_commands",
    "escape_data",
    "escape_property",
    "sarif_report",
    "write_outputs",
    "write_step_summary",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_commands(annotations: list[Mapping[str, Any]]) -> list[str]:
    """``::error file=...,line=...,title=...::message`` lines for the report's annotations."""
    lines: list[str] = []
    for a in annotations:
        props = [f"file={escape_property(str(a['file']))}"]
        if a.get("line"):
            props.append(f"line={int(a['line'])}")
        props.append(f"title={escape_property(str(a['title']))}")
        lines.append(f"::{a['level']} {','.join(props)}::{escape_data(str(a['message']))}")
    return lines


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


def _sarif_level(level: str) -> str:
    return {"error": "error", "warning": "warning"}.get(level, "note")


def sarif_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """A SARIF 2.1.0 log for code scanning: the gate's annotations as results on the changed files."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for a in report["annotations"]:
        rule_id = str(a["title"]).removeprefix("empathy gate: ").removeprefix("empathy: ")
        rules.setdefault(
            rule_id,
            {
                "id": rule_id,
                "name": rule_id.replace("-", " ").replace("_", " ").title().replace(" ", ""),
                "shortDescription": {"text": f"empathy: {rule_id}"},
                "helpUri": "https://github.com/empathy-dev/empathy/blob/main/docs/gate.md",
            },
        )
        # A file-level result still needs a region for code scanning to place it: the first line.
        region = {"region": {"startLine": int(a["line"]) if a.get("line") else 1}}
        key = f"{rule_id}|{a['file']}|{a.get('line') or ''}|{a['message']}"
        results.append(
            {
                "ruleId": rule_id,
                "level": _sarif_level(str(a["level"])),
                "message": {"text": str(a["message"])},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": str(a["file"])}, **region}}],
                # Stable across runs for the same rule, file and message, so code scanning tracks one alert.
                "partialFingerprints": {
                    "empathyFinding/v1": hashlib.sha256(key.encode("utf-8")).hexdigest()[:32],
                },
            }
        )
    decision = report["decision"]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "empathy-gate",
                        "version": __version__,
                        "informationUri": "https://github.com/empathy-dev/empathy",
                        "rules": [rules[k] for k in sorted(rules)],
                    }
                },
                "results": results,
                "properties": {
                    "decision": decision["decision"],
                    "risk": decision["risk"],
                    "trust": decision["trust"],
                    "head": report["subject"]["head"],
                },
            }
        ],
    }


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a file, creating its directory (reports go under paths the workflow names)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
