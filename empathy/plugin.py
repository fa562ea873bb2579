"""The public API for plugin authors: everything a miner, a level or an agent needs, from one module.

Write a plugin against this module only; the built-in plugins do the same
(a test walks the import graph and fails when one reaches past it)::

    from empathy.plugin import MiningContext, Pattern, hookimpl, saturate

    @hookimpl
    def mine_patterns(context: MiningContext) -> list[Pattern]:
        ...

Register it under the entry-point group ``empathy`` (docs/plugins.md), or
scaffold a package that already works with ``empathy plugin new NAME``.
What is not re-exported here is internal and may change without notice.

Contents, by purpose:

* the hook markers: :data:`hookimpl` (and :data:`hookspec` for hosts);
* what hooks receive: :class:`MiningContext`, :class:`AnalysisContext`, the
  in-memory :class:`History` (:class:`CommitInfo`, :class:`FileInfo`,
  :class:`Touch`), :class:`RepoInfo`;
* what hooks return: :class:`Pattern`, :class:`Finding` (:class:`Level`,
  :class:`Severity`, :class:`Location`), :class:`RiskFactor`,
  :class:`CodeAction`, :class:`Event`, :class:`ChangeSet`, :func:`fingerprint`;
* helpers the built-ins use: :func:`date`, :func:`saturate`,
  :func:`percentile_ranks`, :func:`source_files`, :func:`head_loc`,
  :func:`module_of`, :class:`BlobReader`, :class:`Mainline`, :func:`count_loc`,
  :func:`indentation_complexity`, the bug-fix links (:func:`run_szz`,
  :func:`szz_links`), :func:`explain_file`, the level-2 answers
  (:func:`load_answers`), the model's track record (:func:`latest_record`),
  :class:`ForecastRun`, and the missing-partner finding and risk factor
  (:class:`Suggestion`, :func:`missing_partner_finding`, :func:`missing_partner_factor`);
* tests: :func:`open_workspace` and :class:`Workspace` (``ws.register(plugin, "id")``,
  then ``ws.ingest()``, ``ws.mine(only=[...])``, ``ws.findings(only=[...])``);
* agents: the :class:`Agent` protocol, :class:`Request`, the memory
  (:class:`Memory`, :class:`Consolidation`) and the A/B adaptation
  (:class:`Experiment`, :data:`STRATEGIES` and friends).
"""

from __future__ import annotations

from empathy.core.advice import action_for
from empathy.core.agents.adaptation import (
    STRATEGIES,
    Experiment,
    adapt_from_deploys,
    assign_arm,
    check_strategies,
    current_user,
    unit_key,
)
from empathy.core.agents.memory import Consolidation, Memory
from empathy.core.agents.orchestrator import Agent, Request
from empathy.core.context import AnalysisContext, MiningContext
from empathy.core.explain import UnknownFileError, explain_file
from empathy.core.guided import load_answers
from empathy.core.helpers import date, head_loc, module_of, percentile_ranks, saturate, source_files
from empathy.core.history.blobs import BlobReader, count_loc, indentation_complexity
from empathy.core.history.facts import FileFacts, HistoryFacts
from empathy.core.history.mainline import Mainline
from empathy.core.history.szz import SzzLink, run_szz, szz_links
from empathy.core.history.view import DAY, CommitInfo, FileInfo, History, Touch
from empathy.core.hookspecs import hookimpl, hookspec
from empathy.core.model import (
    ChangeSet,
    CodeAction,
    Event,
    Evidence,
    Finding,
    Level,
    Location,
    Pattern,
    RiskFactor,
    Severity,
    fingerprint,
)
from empathy.core.partners import Suggestion, missing_partner_factor, missing_partner_finding
from empathy.core.predict.forecast import FileForecast, ForecastRun
from empathy.core.predict.records import latest_record
from empathy.core.repo import RepoInfo
from empathy.core.workspace import Workspace, open_workspace

__all__ = [
    "DAY",
    "STRATEGIES",
    "Agent",
    "AnalysisContext",
    "BlobReader",
    "ChangeSet",
    "CodeAction",
    "CommitInfo",
    "Consolidation",
    "Event",
    "Evidence",
    "Experiment",
    "FileFacts",
    "FileForecast",
    "FileInfo",
    "Finding",
    "ForecastRun",
    "History",
    "HistoryFacts",
    "Level",
    "Location",
    "Mainline",
    "Memory",
    "MiningContext",
    "Pattern",
    "RepoInfo",
    "Request",
    "RiskFactor",
    "Severity",
    "Suggestion",
    "SzzLink",
    "Touch",
    "UnknownFileError",
    "Workspace",
    "action_for",
    "adapt_from_deploys",
    "assign_arm",
    "check_strategies",
    "count_loc",
    "current_user",
    "date",
    "explain_file",
    "fingerprint",
    "head_loc",
    "hookimpl",
    "hookspec",
    "indentation_complexity",
    "latest_record",
    "load_answers",
    "missing_partner_factor",
    "missing_partner_finding",
    "module_of",
    "open_workspace",
    "percentile_ranks",
    "run_szz",
    "saturate",
    "source_files",
    "szz_links",
    "unit_key",
]
