"""The deployment gate's domain: decision, track record, state file and settings.

``decide_gate(ws, base, head)`` is the one use-case every surface calls: the
CLI (``empathy gate``), the GitHub Action (through the CLI) and the webhook
service (deployment protection rules).  Rendering for a host lives with the
surface (:mod:`empathy.ci_action` for GitHub); see docs/gate.md.

It sits above the plugins and below the surfaces (docs/architecture.md,
"Layers"): it reads what the plugins found through the workspace, and no
surface is imported here.
"""

from empathy.gate.evaluate import (
    EVENT_TYPE,
    GateResult,
    decide_gate,
    evaluate_gate,
    gate_settings,
    record_outcome,
    report_json,
)

__all__ = [
    "EVENT_TYPE",
    "GateResult",
    "decide_gate",
    "evaluate_gate",
    "gate_settings",
    "record_outcome",
    "report_json",
]
