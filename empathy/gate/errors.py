"""The gate's own errors and exit codes (the CLI maps them; core knows nothing of the gate)."""

from __future__ import annotations

from empathy.core.errors import EmpathyError

__all__ = ["GATE_FAILED_EXIT", "GateFailed", "GateStateError"]


class GateFailed(EmpathyError):
    """``empathy gate``'s decision reached ``--fail-on`` (block by default; warn, or
    inconclusive mapped to warn, under ``--fail-on warn``).

    A decision rather than an error: the report says why.  The CLI exits with
    this class's code.
    """

    exit_code = 10


#: The gate's exit code for a decision that reached ``--fail-on``.
GATE_FAILED_EXIT = GateFailed.exit_code


class GateStateError(EmpathyError):
    """The deployment gate's state file cannot be read or is not a state file."""

    exit_code = 11
