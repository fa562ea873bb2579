"""The plugin contract: every hook a plugin may implement.

Implementations may accept any subset of a hook's arguments (pluggy passes
only the names a function asks for), so the host can add arguments later
without breaking a plugin.  Every hook here is documented in
``docs/plugins.md``; ``tests/core/test_hookspecs_documented.py`` fails when
one is not.

A plugin is a module or object registered under the entry-point group
``empathy``; the entry-point name is the plugin id everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from empathy.core.agents.orchestrator import Agent
    from empathy.core.context import AnalysisContext, MiningContext
    from empathy.core.model import ChangeSet, CodeAction, Event, Finding, Pattern, RiskFactor

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "empathy"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def settings_defaults() -> dict[str, Any]:  # type: ignore[empty-body]
    """Return the default settings of this plugin.

    They appear under ``[tool.empathy.plugins.<plugin-id>]`` and in
    ``empathy config show``; user settings override them.
    """


@hookspec
def mine_patterns(context: MiningContext) -> list[Pattern]:  # type: ignore[empty-body]
    """Mine the ingested history and return patterns.

    ``context.history`` is the whole ingested history in memory,
    ``context.settings`` this plugin's settings, ``context.repo`` the
    repository (for blobs or blame).  Return plain :class:`Pattern` objects;
    the host persists them.  Called once per plugin, isolated: an exception
    or a time-out is recorded against this plugin and the others still run.
    """


@hookspec
def level_findings(context: AnalysisContext, patterns: list[Pattern]) -> list[Finding]:  # type: ignore[empty-body]
    """Turn patterns (and anything else in the context) into findings for users.

    Levels 1-5 are plugins of this hook.  Every finding needs a reason, the
    evidence numbers and an action; forecasts add a probability and a horizon.
    """


@hookspec
def register_agents() -> list[Agent]:  # type: ignore[empty-body]
    """Return agent objects this plugin contributes to the orchestrator.

    An agent has a ``name``, a tuple ``requires`` of the agents whose outputs
    it reads, an optional ``timeout`` and a ``run(request, inputs)`` method
    (see :mod:`empathy.core.agents.orchestrator`).
    """


@hookspec
def score_change_risk(context: AnalysisContext, change: ChangeSet) -> list[RiskFactor]:  # type: ignore[empty-body]
    """Score a change (a commit range or a diff) for the deployment gate.

    Return risk factors with a score in [0, 1], a reason and evidence; the
    gate combines them with the team's track record.
    """


@hookspec
def code_actions(context: AnalysisContext, finding: Finding) -> list[CodeAction]:  # type: ignore[empty-body]
    """Offer actions for a finding (feedback, open a file, ignore here).

    Actions are editor-neutral; the language server turns them into LSP code
    actions.
    """


@hookspec
def finding_codes() -> list[str]:  # type: ignore[empty-body]
    """The finding codes this plugin can report (optional).

    ``empathy feedback CODE`` accepts a code some plugin declares here, one
    already in the trust ledger, or one the levels report now, and refuses a
    typo instead of moving a threshold nobody reads.
    """


@hookspec
def handle_event(event: Event) -> None:
    """React to an event (pattern discovered, forecast made, gate decided ...).

    Listeners must be quick; slow work belongs in a queue.  A listener's
    exception is recorded and never stops delivery to other listeners.
    """
