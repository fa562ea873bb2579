"""The deployment gate: decision, report (JSON, Markdown, SARIF) and GitHub output.

``evaluate_gate`` (in :mod:`empathy.ci_action.api`) is the contract the CLI
(``empathy gate``), the GitHub Action (``action.yml``) and the webhook service
use; see docs/gate.md.
"""

from empathy.ci_action.api import EVENT_TYPE, GateResult, evaluate_gate, record_outcome

__all__ = ["EVENT_TYPE", "GateResult", "evaluate_gate", "record_outcome"]
