"""The adaptation agent: an A/B test of two ranking strategies, and thresholds moved by deploy outcomes.

It runs after the ``insights`` agent.  For each request it

1. picks the arm of the configured experiment for this user and period
   (:func:`empathy.core.agents.adaptation.assign_arm`; a hash, so ``empathy feedback``
   later attributes the feedback to the same arm without any stored state);
2. orders the insights' findings by that arm's strategy (:data:`STRATEGIES`):
   ``value`` keeps the insights agent's expected-value order, ``severity``
   puts the most severe first and the most probable within a severity,
   ``recent`` puts forecasts (levels 4-5) first;
3. applies what failed deploys say about the rules that warned about them
   (:func:`empathy.core.agents.adaptation.adapt_from_deploys`), so a warning that a
   failed deploy proved right surfaces more easily next time.

Settings (``[tool.empathy.plugins.adaptation]``): ``enabled`` (true),
``experiment`` ("ranking"), ``arms`` (["value", "severity"]), ``unit``
("day" or "week"), ``min_n`` (20 outcomes per arm before a winner is named),
``confidence`` (0.95).  ``empathy ab`` prints the report.

Level gating is not decided here: it follows the repository's trust
estimate (:meth:`empathy.core.trust.TrustLedger.level_allowed`), which the
feedback recorded through this agent's arms moves like any other feedback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from empathy.plugin import (
    STRATEGIES,
    Agent,
    Experiment,
    Finding,
    adapt_from_deploys,
    assign_arm,
    check_strategies,
    hookimpl,
    unit_key,
)
from empathy.plugin import current_user as _current_user

__all__ = [
    "DEFAULTS",
    "PLUGIN",
    "STRATEGIES",
    "Adaptation",
    "AdaptationAgent",
    "check_strategies",
    "current_user",
    "experiment_for",
]

PLUGIN = "adaptation"

DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "experiment": "ranking",
    "arms": ["value", "severity"],
    "unit": "day",
    "min_n": 20,
    "confidence": 0.95,
}


@dataclass
class Adaptation:
    """The arm used for this request, the findings in its order, and thresholds moved by deploys."""

    experiment: str | None
    arm: str | None
    findings: list[Finding]
    threshold_changes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "arm": self.arm,
            "findings": [f.fingerprint for f in self.findings],
            "threshold_changes": self.threshold_changes,
        }


def experiment_for(section: Mapping[str, Any]) -> Experiment | None:
    """The configured experiment, or None when the agent is disabled."""
    merged = {**DEFAULTS, **section}
    if not merged.get("enabled", True):
        return None
    return check_strategies(Experiment.from_settings(merged))


def current_user(workspace: Any = None) -> str:
    """Who gives the feedback (see :func:`empathy.core.agents.adaptation.current_user`)."""
    return _current_user(getattr(getattr(workspace, "repo", None), "git", None))


def _section(request: Any) -> dict[str, Any]:
    settings = (getattr(request, "context", None) or {}).get("settings") or {}
    plugins = settings.get("plugins") if isinstance(settings, Mapping) else None
    section = plugins.get(PLUGIN) if isinstance(plugins, Mapping) else None
    return dict(section) if isinstance(section, Mapping) else {}


class AdaptationAgent:
    name = PLUGIN
    requires: tuple[str, ...] = ("insights",)
    timeout = 5.0

    def run(self, request: Any, inputs: Mapping[str, Any]) -> Adaptation:
        insight = inputs.get("insights")
        findings = [f for f in (getattr(insight, "findings", None) or []) if isinstance(f, Finding)]
        context = getattr(request, "context", None) or {}
        workspace = context.get("workspace")
        experiment = experiment_for(_section(request))
        changes: list[dict[str, Any]] = []
        if workspace is not None and hasattr(workspace, "trust"):
            changes = [
                {"rule": c.rule, "old": c.old, "new": c.new, "crossed": list(c.crossed)}
                for c in adapt_from_deploys(workspace.trust())
            ]
        if experiment is None:
            return Adaptation(None, None, findings, changes)
        user = str(context.get("user") or current_user(workspace))
        arm = assign_arm(experiment, unit_key(experiment, user, context.get("now")))
        return Adaptation(experiment.name, arm, STRATEGIES[arm](findings), changes)


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return dict(DEFAULTS)


@hookimpl
def register_agents() -> list[Agent]:
    return [AdaptationAgent()]
