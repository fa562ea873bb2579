"""The example workflow uploads the very file `empathy report` writes, under the name the summary line gives."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from empathy.ci_action.report import report_link_markdown, run_url

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "gate-pull-request.yml"


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def test_the_uploaded_artifact_is_the_report_the_summary_names() -> None:
    steps = _steps()
    writing = next(s for s in steps if "report --html" in s.get("run", ""))
    words = shlex.split(writing["run"].replace("\\\n", " ").splitlines()[-1])
    html = words[words.index("--html") + 1]
    artifact = words[words.index("--github-artifact") + 1]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == artifact and upload["with"]["path"] == html
    assert upload["with"]["if-no-files-found"] == "error"  # a missing report fails the step, never a dead link
    assert steps.index(writing) < steps.index(upload)
    assert re.fullmatch(r"actions/upload-artifact@[0-9a-f]{40}", upload["uses"])  # pinned, as zizmor wants
    gate = next(s for s in steps if s.get("uses") == "./")
    assert steps.index(gate) < steps.index(writing)  # the report reads the store the gate filled
    assert writing["if"] == upload["if"]


def test_the_summary_line_links_the_run_only_on_github() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com/", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}
    assert run_url(env) == "https://github.com/o/r/actions/runs/7"
    assert run_url({"GITHUB_REPOSITORY": "o/r"}) is None
    line = report_link_markdown("a|b.html", 1_500_000, "empathy-report", None)
    assert "1.50 MB" in line and "a\\|b.html" in line and "](" not in line  # no link without a run to link
