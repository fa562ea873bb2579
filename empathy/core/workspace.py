"""One repository opened for work, and the use-cases every surface calls on it.

Every surface (CLI, language server, gate, service) goes through this module
so the order of precedence, the store location, the plugin isolation and
each use-case are the same everywhere: ``refresh`` (ingest, then re-mine what
is stale), ``findings``, ``forecast``, ``partners``, ``change_risk`` and
``backtest``.  The heavier use-cases live in :mod:`empathy.core.usecases`;
the methods here are their one entry point (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from empathy.core.agents.orchestrator import Agent, Answer, ErrorBudget, EventBus, Orchestrator, Request
from empathy.core.config import Settings, load_settings
from empathy.core.context import MiningContext
from empathy.core.guided import apply_answers, load_answers
from empathy.core.history.ingest import IngestReport, ingest
from empathy.core.history.labeling import CommitLabels, FixPatterns, label_history, load_corrections
from empathy.core.history.view import CommitInfo, History, load_history
from empathy.core.host import CallResult, PluginHost, default_host
from empathy.core.model import ChangeSet, Event, Finding, Pattern, RiskFactor, fingerprint
from empathy.core.repo import RepoInfo, open_repository
from empathy.core.store.store import Store, open_store

if TYPE_CHECKING:
    from empathy.core.agents.adaptation import Experiment
    from empathy.core.cochange import Suggestion
    from empathy.core.context import AnalysisContext
    from empathy.core.findings import FindingsReport
    from empathy.core.trust import ThresholdChange, TrustEstimate, TrustLedger, UndoneFeedback
    from empathy.core.usecases.backtest import Backtest
    from empathy.core.usecases.forecast import Forecast
    from empathy.core.usecases.partners import PartnerIndex
    from empathy.core.usecases.refresh import Refresh
    from empathy.core.usecases.risk import ChangeAssessment

__all__ = ["MineReport", "Workspace", "open_workspace", "rank_patterns"]

log = logging.getLogger("empathy.events")

#: A first mining run on a large repository finds dozens of patterns; only
#: the most notable this many are announced one by one.
MAX_DISCOVERY_EVENTS = 100


@dataclass
class MineReport:
    """Patterns found in one mining run and how each plugin fared."""

    patterns: list[Pattern] = field(default_factory=list)
    results: list[CallResult] = field(default_factory=list)

    @property
    def errors(self) -> dict[str, str]:
        return {r.plugin: r.error for r in self.results if r.error}

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for p in self.patterns:
            counts[p.plugin] = counts.get(p.plugin, 0) + 1
        return {
            "plugins": [
                {
                    "plugin": r.plugin,
                    "patterns": counts.get(r.plugin, 0),
                    "seconds": round(r.seconds, 3),
                    "error": r.error,
                }
                for r in self.results
            ]
        }


def resolve_as_of(value: str) -> int | None:
    """The ``as_of`` setting as a unix time: "" the clock, ``last-commit`` None, ``YYYY-MM-DD`` that day's end (UTC).

    A unix time (digits) is taken as is: the gate and replays pass one.
    """
    import time
    from datetime import UTC, datetime

    from empathy.core.errors import ConfigError

    text = value.strip()
    if not text or text == "now":
        return int(time.time())
    if text == "last-commit":
        return None
    if text.isdigit():
        return int(text)
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError(
            f"as_of = {value!r} is not a day, `last-commit` or empty (now)", "e.g. as_of = \"2026-05-01\""
        ) from None
    return int(day.timestamp()) + 86_399


@dataclass
class Workspace:
    repo: RepoInfo
    settings: Settings
    store: Store
    host: PluginHost
    repo_id: int
    _history: History | None = field(default=None, repr=False, compare=False)
    _pinned_at: int | None = field(default=None, repr=False, compare=False)
    _partner_index: tuple[str, PartnerIndex] | None = field(default=None, repr=False, compare=False)
    #: Kept across requests, so an agent failing request after request is benched.
    _budget: ErrorBudget = field(default_factory=ErrorBudget, repr=False, compare=False)

    def ingest(
        self, progress: Callable[[int, int], None] | None = None, on_wait: Callable[[], None] | None = None
    ) -> IngestReport:
        """Ingest new commits; ``on_wait()`` is called if another process is ingesting this repository."""
        report = ingest(self.repo, self.store, progress=progress, on_wait=on_wait)
        if not report.up_to_date:
            self._history = None
        return report

    def emit(self, event: Event) -> bool:
        """Hand ``event`` to every ``handle_event`` listener (each alone, with a time-out; never raises).

        True when every listener took it (for the webhook listener: stored in the outbox). A
        failure is a warning on stderr naming the event and the listener, never silence: the
        caller decides whether to try again (announcements do, on the next run).
        """
        ok = True
        for result in self.host.call_each("handle_event", timeout=10.0, event=event):
            if result.error:
                ok = False
                log.warning("the %s event was not taken by %s: %s", event.type, result.plugin, result.error.strip())
        return ok

    @functools.cached_property
    def is_source(self) -> Callable[[str], bool]:
        """The source-file test of the settings (suffixes and exclusions); cached, paths repeat."""
        from empathy.core.context import is_source_path

        return functools.cache(lambda path: is_source_path(self.settings, path))

    @functools.cached_property
    def is_python_source(self) -> Callable[[str], bool]:
        """Python source files, as the file forecast and the change model count them."""
        return functools.cache(lambda path: path.endswith(".py") and self.is_source(path))

    # -- use-cases ------------------------------------------------------------------
    def refresh(
        self,
        *,
        ingest_progress: Callable[[int, int], None] | None = None,
        mine_progress: Callable[[str], None] | None = None,
        remine_commits: int | None = None,
        defer_slow: bool = False,
        on_wait: Callable[[], None] | None = None,
    ) -> Refresh:
        """Ingest new commits, then re-run the stale miners (:mod:`empathy.core.usecases.refresh`)."""
        from empathy.core.usecases.refresh import refresh

        return refresh(
            self,
            ingest_progress=ingest_progress,
            mine_progress=mine_progress,
            remine_commits=remine_commits,
            defer_slow=defer_slow,
            on_wait=on_wait,
        )

    def forecast(
        self,
        as_of: int | None = None,
        horizon_days: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Forecast:
        """The file forecast with its track record (:mod:`empathy.core.usecases.forecast`)."""
        from empathy.core.usecases.forecast import file_forecast

        return file_forecast(self, as_of=as_of, horizon_days=horizon_days, progress=progress)

    def partner_index(self) -> PartnerIndex:
        """The co-change index over the whole ingested history, built once per head and kept (the editor asks often)."""
        from empathy.core.usecases.partners import open_partner_index, save_partner_index

        if self._partner_index is None or self._partner_index[0] != self.repo.head:
            index = open_partner_index(self, cached=True)
            before = index.fed
            index.feed_all()
            if index.fed != before:
                save_partner_index(self, index)  # the next process (a hook, the gate) feeds on from here
            self._partner_index = (self.repo.head, index)
        return self._partner_index[1]

    def partners(self, changed: Collection[str], top: int = 10, warn_only: bool = True) -> list[Suggestion]:
        """Files that probably also need changing with ``changed`` (:mod:`empathy.core.usecases.partners`).

        ``warn_only`` keeps the ones the index warns about (calibrated on this
        repository's replayed past); the surfaces raise warnings only for those.
        """
        if not changed:
            return []
        index = self.partner_index()
        got = index.suggest(changed, top=top)
        record = index.track_record()
        if record.precision is not None:  # the track record the warning rests on, quoted wherever it is shown
            for s in got:
                s.evidence.update(track_precision=round(record.precision, 3), track_n=record.replayed)
        return [s for s in got if s.warn] if warn_only else got

    def change_risk(
        self,
        change: ChangeSet,
        *,
        szz_budget: int | None = None,
        szz_seconds: float | None = None,
        progress: Callable[[str], None] | None = None,
        phase: Callable[[str], None] | None = None,
    ) -> ChangeAssessment:
        """Model score, history signals and findings for a change (:mod:`empathy.core.usecases.risk`)."""
        from empathy.core.usecases.risk import assess_change

        return assess_change(
            self, change, szz_budget=szz_budget, szz_seconds=szz_seconds, progress=progress, phase=phase
        )

    def backtest(
        self,
        horizon_days: int = 365,
        cutoffs: int = 6,
        changes: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> Backtest:
        """Our models beside the baselines, stored as the track record (:mod:`empathy.core.usecases.backtest`)."""
        from empathy.core.usecases.backtest import backtest

        return backtest(self, horizon_days=horizon_days, cutoffs=cutoffs, changes=changes, progress=progress)

    def register(self, plugin: object, name: str) -> None:
        """Add a plugin to this open workspace as if it were installed (tests, notebooks).

        Its ``settings_defaults`` are merged at once, exactly as for an
        installed plugin at open time.
        """
        self.host.register(plugin, name)
        for result in self.host.call_each("settings_defaults", timeout=10.0):
            if result.plugin == name and result.ok and isinstance(result.value, dict):
                self.settings.add_plugin_defaults(result.plugin, result.value)

    def label_commits(self, commits: list[CommitInfo]) -> CommitLabels:
        """Label commits by this repository's conventions, the fix-marker settings and the team's corrections."""
        patterns = FixPatterns(str(self.settings["fix_pattern"]), str(self.settings["fix_exclude_pattern"]))
        return label_history(commits, self.repo, patterns, load_corrections(self.repo.root))

    def forget_history(self) -> None:
        """Drop the loaded history (after a label correction), so the next question reloads it."""
        self._history = None

    def history(self) -> History:
        """The ingested history, loaded once and reused until the next ingest adds commits.

        A command asks for it several times (the model, the risk signals, the
        levels), and a long-lived process (the language server, the agents) for
        every request; it is read-only, so one copy serves them all.
        """
        if self._history is None:
            self._history = load_history(self.store, self.repo_id, self.label_commits, at=self.analysis_time())
        return self._history

    def analysis_time(self) -> int | None:
        """When the analysis happens, from the ``as_of`` setting: the clock (default), a day, or None.

        None (``as_of = "last-commit"``) measures from the newest commit, as a
        replay or a test does.  Read once per loaded history, so one command
        (or one editor load) sees one "now".
        """
        if self._pinned_at is not None:
            return self._pinned_at
        return resolve_as_of(str(self.settings["as_of"]))

    def _mined_as_of(self) -> int | None:
        """What a miner's run records as its analysis time: ``now``, or None as of the last commit."""
        history = self.history()
        return None if history.at is None else history.now

    def pin_analysis_time(self, at: int) -> None:
        """Analyse as of ``at`` unless the ``as_of`` setting names a time itself (the gate pins its head's time).

        A verdict that must be reproducible cannot depend on the day it is asked.
        """
        if str(self.settings["as_of"]).strip() not in ("", "now"):
            return
        if self._pinned_at != at:
            self._pinned_at = at
            self._history = None

    def quiet_notice(self, min_days: int = 60) -> str | None:
        """A sentence for a repository with no commit for ``min_days`` or more before the analysis time."""
        from empathy.core.helpers import date

        # one query, not a history load: commands that only ingest (a pre-commit hook) stay fast
        newest = self.store.newest_commit_time(self.repo_id)
        at = self.analysis_time()
        if newest is None or at is None:
            return None
        now = max(at, newest)
        idle = (now - newest) // 86_400
        if idle < min_days:
            return None
        span = f"{idle // 30} months" if idle >= 60 else f"{idle} days"
        return (
            f"no commit for {span} (the last on {date(newest)}): windows such as 'the last 365 days' "
            f"end on {date(now)}, so recent activity is low; `as_of = \"last-commit\"` measures from "
            "the last commit instead"
        )

    def call_plugins(
        self,
        hook: str,
        item_type: type,
        kwargs_for: Callable[[str], dict[str, Any]],
        only: list[str] | None = None,
        before: Callable[[str], None] | None = None,
    ) -> list[CallResult]:
        """Call each plugin's ``hook`` alone, check it returned a list of ``item_type``, record its run.

        The one place where plugin output is validated and each plugin's last run
        (time, count, error) is stored, for miners, levels and risk scorers alike.
        """
        timeout = float(self.settings["plugin_timeout"])
        commits = self.store.refresh_repository(self.repo_id).commit_count if hook == "mine_patterns" else None
        results: list[CallResult] = []
        for name in self.host.implementations(hook):
            if only is not None and name not in only:
                continue
            if before is not None:
                before(name)
            result = self.host.call_one(hook, name, timeout, **kwargs_for(name))
            value = result.value
            if result.ok and not (isinstance(value, list) and all(isinstance(v, item_type) for v in value)):
                result.error = f"TypeError: {hook} returned {type(value).__name__}, not a list of {item_type.__name__}"
                result.value = None
            self.store.record_plugin_run(
                self.repo_id,
                name,
                hook,
                result.seconds,
                len(result.value) if result.ok else 0,
                result.error,
                commits,
                # the analysis time the patterns describe (None: as of the last commit)
                as_of=self._mined_as_of() if hook == "mine_patterns" else None,
            )
            results.append(result)
        return results

    def mine(self, progress: Callable[[str], None] | None = None, only: list[str] | None = None) -> MineReport:
        """Run every miner in isolation and persist what the healthy ones found."""
        report = MineReport()
        context = MiningContext(
            repo=self.repo,
            repo_id=self.repo_id,
            history=self.history(),
            store=self.store,
            core_settings=self.settings,
            progress=progress or (lambda _m: None),
        )
        succeeded: list[str] = []
        known = {p.key for p in self.store.patterns(self.repo_id)}
        results = self.call_plugins(
            "mine_patterns",
            Pattern,
            lambda name: {"context": context.for_plugin(name)},
            only=only,
            before=(lambda name: progress(f"mining: {name}")) if progress else None,
        )
        for result in results:
            report.results.append(result)
            if result.ok:
                succeeded.append(result.plugin)
                for p in result.value:
                    if p.plugin != result.plugin:  # the entry-point name is the plugin id everywhere
                        p.plugin, p.key = result.plugin, fingerprint(result.plugin, p.kind, *p.subjects)
                report.patterns.extend(result.value)
        if self.repo.shallow:
            # Part of the history is invisible: say so on every pattern and halve the
            # confidence (ownership and age are the most misleading on a shallow clone).
            for p in report.patterns:
                p.evidence["shallow_clone"] = True
                p.confidence = round(p.confidence * 0.5, 4)
        # A plugin that failed keeps its earlier patterns: an error never erases knowledge.
        self.store.save_patterns(self.repo_id, report.patterns, plugins=succeeded)
        self.store.mark_mined(self.repo_id)
        self._announce_mining(report, known)
        return report

    def _announce_mining(self, report: MineReport, known: set[str]) -> None:
        """``pattern.discovered`` for each pattern never seen before (first 100), then ``analysis.completed``."""
        from empathy.core.events import ANALYSIS_COMPLETED, PATTERN_DISCOVERED, make_event

        new = [p for p in rank_patterns(report.patterns) if p.key not in known]
        for p in new[:MAX_DISCOVERY_EVENTS]:
            data = {"repo_id": self.repo_id, "key": p.key, "kind": p.kind, "plugin": p.plugin}
            data.update(subjects=list(p.subjects), score=p.score, confidence=p.confidence, summary=p.summary)
            self.emit(make_event(PATTERN_DISCOVERED, data))
        completed = {
            "repo_id": self.repo_id,
            "repository": self.repo.key,
            "head": self.repo.head,
            "patterns": len(report.patterns),
            "new_patterns": len(new),
            "errors": report.errors,
        }
        self.emit(make_event(ANALYSIS_COMPLETED, completed))

    def findings(
        self,
        change: ChangeSet | None = None,
        paths: list[str] | None = None,
        gated: bool = True,
        only: list[str] | None = None,
    ) -> FindingsReport:
        """Ask every level plugin (or ``only`` these); trust decides what surfaces unless ``gated`` is False."""
        from empathy.core.events import CYCLE_DETECTED, make_event, mark_announced, unannounced
        from empathy.core.findings import collect_findings

        gate = self.gate() if gated else None
        report = collect_findings(self, change=change, paths=paths, gate=gate, only=only)
        cycles = {f.fingerprint: f for f in report.findings + report.hidden if f.code == "fix-begets-fix"}
        for key in unannounced(self.store, self.repo_id, CYCLE_DETECTED, sorted(cycles)):
            f = cycles[key]
            data = {"repo_id": self.repo_id, "path": f.location.path, "reason": f.reason, "action": f.action}
            if self.emit(make_event(CYCLE_DETECTED, {**data, "evidence": f.evidence})):
                mark_announced(self.store, self.repo_id, CYCLE_DETECTED, key)
        return report

    def analysis_context(self, change: ChangeSet | None = None, paths: list[str] | None = None) -> AnalysisContext:
        """What the level, risk and code-action hooks receive for a question about ``change`` or ``paths``."""
        from empathy.core.context import AnalysisContext

        return AnalysisContext(
            repo=self.repo,
            repo_id=self.repo_id,
            store=self.store,
            core_settings=self.settings,
            history=self.history(),
            change=change,
            paths=paths,
            emit=self.emit,
            forecast_provider=functools.cache(lambda: self.forecast().run),
            partners_provider=self.partners,
        )

    def change_signals(self, change: ChangeSet) -> tuple[list[RiskFactor], dict[str, str]]:
        """Every ``score_change_risk`` plugin's factors for ``change``, and the plugins that failed."""
        context = self.analysis_context(change=change)
        factors: list[RiskFactor] = []
        errors: dict[str, str] = {}
        for result in self.call_plugins(
            "score_change_risk", RiskFactor, lambda name: {"context": context.for_plugin(name), "change": change}
        ):
            if result.error:
                errors[result.plugin] = result.error
                continue
            for factor in result.value:
                factor.source = result.plugin
            factors.extend(result.value)
        factors.sort(key=lambda f: (-f.score * f.weight, f.name))
        return factors, errors

    def agents(self) -> list[Agent]:
        """Every agent the plugins register (``register_agents``), with the plugin that gave it."""
        agents: list[Agent] = []
        for result in self.host.call_each("register_agents", timeout=10.0):
            if not result.ok or not isinstance(result.value, list):
                continue
            for agent in result.value:
                if isinstance(agent, Agent):
                    agent.plugin = result.plugin  # type: ignore[attr-defined]
                    agents.append(agent)
        return agents

    def orchestrate(self, request: Request, bus: EventBus | None = None) -> Answer:
        """Run every registered agent for ``request``; each agent's last run is recorded."""
        request.context.setdefault("workspace", self)
        request.context.setdefault(
            "settings", {"plugins": {name: self.settings.plugin(name) for name in self.settings.all_plugin_sections()}}
        )
        orchestrator = Orchestrator(self.agents(), bus=bus, budget=self._budget)
        answer = orchestrator.run(request)
        for name, outcome in answer.outcomes.items():
            self.store.record_plugin_run(
                self.repo_id,
                name,
                "agent",
                outcome.seconds,
                1 if outcome.status == "ok" else 0,
                None if outcome.status == "ok" else f"{outcome.status}: {outcome.error}",
            )
        return answer

    def trust(self) -> TrustLedger:
        """This repository's trust ledger; threshold crossings go to the event listeners."""
        from empathy.core.trust import TrustLedger

        return TrustLedger(self.store, self.repo_id, emit=self.emit)

    def _declared_codes(self) -> set[str]:
        """The finding codes plugins declare (the optional ``finding_codes`` hook)."""
        return {
            str(code)
            for r in self.host.call_each("finding_codes", timeout=10.0)
            if r.error is None and isinstance(r.value, list)
            for code in r.value
        }

    def selection_warnings(self) -> list[str]:
        """Codes named by ``select`` / ``ignore`` / ``per_file_ignores`` that no plugin declares.

        Asked only when those settings are used, and only of the plugins' declarations and the
        trust ledger (cheap), so every command can say it.
        """
        from empathy.core.selection import CodeSelection

        selection = CodeSelection.from_settings(self.settings)
        if selection.everything:
            return []
        return selection.unknown_codes(set(self.trust().thresholds()) | self._declared_codes())

    def known_rules(self) -> set[str]:
        """Finding codes feedback can be about: those with a record, those plugins declare, those given now.

        The codes come from the plugins (built-in and third-party: the
        ``finding_codes`` hook, and the findings they report now), not from a
        list kept by hand.
        """
        return self._known_rules(set(self.trust().thresholds()) | self._declared_codes())

    def _known_rules(self, recorded_or_declared: set[str]) -> set[str]:
        report = self.findings(gated=False)
        return recorded_or_declared | {f.code for f in report.findings} | {f.code for f in report.hidden}

    def check_rule(self, rule: str) -> None:
        """Raise ConfigError (exit 4) for a code that no plugin gives and no feedback ever named.

        The current findings are computed only when the ledger and the plugins' declarations
        do not know the code.
        """
        from empathy.core.errors import ConfigError

        cheap = set(self.trust().thresholds()) | self._declared_codes()
        if rule in cheap:
            return
        known = self._known_rules(cheap)
        if rule not in known:
            import difflib

            near = difflib.get_close_matches(rule, sorted(known), n=1)
            raise ConfigError(
                f"no finding has the code {rule!r} here" + (f"; did you mean {near[0]!r}?" if near else ""),
                "known codes: " + (", ".join(sorted(known)) or "none yet (run `empathy findings`)"),
            )

    def record_feedback(
        self, rule: str, useful: bool, detail: Mapping[str, Any] | None = None
    ) -> tuple[ThresholdChange, TrustEstimate, str | None, str | None]:
        """What every surface (CLI, editor, service) records when a user judges a warning.

        The rule's threshold moves, the repository's record counts it (and may
        switch a level, an event), and while the adaptation plugin runs an A/B
        experiment the feedback is attributed to the arm in effect for this
        user.  Returns the threshold change, the repository's estimate, the
        experiment's name and the arm (both None without an experiment).
        """
        from empathy.core.agents.adaptation import current_user, record_ab_feedback

        ledger = self.trust()
        experiment = self.experiment()
        if experiment is None:
            change, estimate = ledger.feedback(rule, useful, detail=detail)
            return change, estimate, None, None
        arm, change = record_ab_feedback(ledger, experiment, rule, useful, current_user(self.repo.git), detail=detail)
        return change, ledger.repo_estimate(), experiment.name, arm

    def undo_feedback(self, rule: str | None = None) -> UndoneFeedback | None:
        """Take back the newest feedback (on ``rule``, or on any), from whichever surface it came."""
        return self.trust().undo_feedback(rule)

    def experiment(self) -> Experiment | None:
        """The adaptation plugin's A/B experiment, when that plugin is loaded and enabled.

        Raises ConfigError when its settings do not describe a valid experiment.
        """
        from empathy.core.agents.adaptation import Experiment
        from empathy.core.errors import ConfigError

        if "adaptation" not in self.host.implementations("register_agents"):
            return None
        section = self.settings.plugin("adaptation")  # the plugin's defaults are already merged in
        if not section.get("enabled", True):
            return None
        try:
            return Experiment.from_settings(section)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[tool.empathy.plugins.adaptation]: {exc}") from exc

    def gate(self) -> Callable[[Finding], bool]:
        """Trust decides which findings surface (:class:`empathy.core.trust.TrustGate`, the one rule)."""
        return self.trust().gate()


def rank_patterns(patterns: list[Pattern]) -> list[Pattern]:
    """Order for the report: notable and well-supported first, stable on ties."""
    return sorted(patterns, key=lambda p: (-(p.score * p.confidence), p.kind, p.subjects))


def open_workspace(
    path: str | os.PathLike[str] = ".",
    overrides: Mapping[str, Any] | None = None,
    host: PluginHost | None = None,
) -> Workspace:
    """Open the repository at ``path`` with its effective settings and plugins."""
    repo = open_repository(path)
    settings = load_settings(repo.root, overrides)
    if settings["repo_key"]:
        repo = dataclasses.replace(repo, key=str(settings["repo_key"]))
    if host is None:
        host = default_host(load=settings["load_plugins"], disable=settings["disable_plugins"])
    for result in host.call_each("settings_defaults", timeout=10.0):
        if result.ok and isinstance(result.value, dict):
            settings.add_plugin_defaults(result.plugin, result.value)
    settings.check_plugin_types()  # before the store exists: a bad value changes nothing on disk
    store = open_store(str(settings["database_url"]), repo.git_dir)
    repo_row = store.repository(repo.key, str(repo.root))
    assert repo_row.id is not None
    apply_answers(settings, load_answers(store, repo_row.id))
    return Workspace(repo=repo, settings=settings, store=store, host=host, repo_id=repo_row.id)
