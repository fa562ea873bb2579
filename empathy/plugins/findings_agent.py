"""The ``findings`` agent: what the five levels say about the request's files or change.

It is the bridge from the levels to the agents: the orchestrator runs it first,
and the insights agent ranks and summarises its output.  It reads the
workspace from ``request.context["workspace"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from empathy.plugin import Agent, Finding, Request, hookimpl

PLUGIN = "findings-agent"


class FindingsAgent:
    name = "findings"
    requires: tuple[str, ...] = ()
    timeout = 30.0

    def run(self, request: Request, inputs: Mapping[str, Any]) -> list[Finding]:
        ws = request.context["workspace"]
        report = ws.findings(change=request.change, paths=request.paths or None)
        findings: list[Finding] = report.findings
        return findings


@hookimpl
def register_agents() -> list[Agent]:
    return [FindingsAgent()]
