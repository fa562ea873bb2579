"""The gate's contract: ``evaluate_gate(repo, base, head) -> GateResult``.

The CLI (``empathy gate``), the GitHub Action and the webhook service (for
``deployment_protection_rule`` requests, and ``GET /v1/gate/{sha}`` from the
stored decisions) all call this.  One evaluation:

1. opens the repository, ingests new commits, links fixes to their causes
   (B-SZZ) for at most ``szz_seconds`` and mines patterns when they are
   missing or stale;
2. scores the change ``base..head`` with the change model
   (:func:`empathy.core.predict.risk.score_change`) and every
   ``score_change_risk`` plugin (the reasons);
3. reads the track record (:mod:`empathy.gate.track_record`) and lets
   it move the thresholds (:mod:`empathy.gate.decide`);
4. builds the JSON report (the source of truth: deterministic, sorted keys,
   no wall-clock time inside), saves the decision and emits
   ``deployment_gate.decided`` to the event listeners.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import git

from empathy import __version__
from empathy.core.changes import EMPTY_TREE, BadRevisionError, range_change
from empathy.core.config import CORE_SETTINGS
from empathy.core.errors import ConfigError
from empathy.core.model import ChangeSet, Event, Finding, RiskFactor
from empathy.core.store.tables import GateDecisionRow
from empathy.core.trust import TrustEstimate
from empathy.core.workspace import Workspace, open_workspace
from empathy.gate.decide import Budget, Decision, combine_risk, decide, error_budget, severity_rank
from empathy.gate.settings import GATE_PLUGIN, GateSettings
from empathy.gate.summary import build_summary, next_steps
from empathy.gate.track_record import (
    DEPLOY_KIND,
    DEPLOY_OUTCOMES,
    TrackRecord,
    fold,
    infer_releases,
    recorded_outcomes,
)

__all__ = [
    "EVENT_TYPE",
    "REPORT_SCHEMA",
    "GateResult",
    "decide_gate",
    "evaluate_gate",
    "record_outcome",
    "report_json",
]

#: The event every decision emits (Standard Webhooks style type name).
EVENT_TYPE = "deployment_gate.decided"
#: Version tag of the JSON report's shape.
REPORT_SCHEMA = "empathy.gate.report/1"

#: Keys of ``overrides`` that are not settings.
_RUN_KEYS = frozenset({"now", "environment"})


@dataclass
class GateResult:
    """A decision and its report; ``report`` is the source of truth, the rest is read from it."""

    decision: Decision
    risk: float | None  # 0..1; None when inconclusive (no number is shown then)
    trust: float | None
    report: dict[str, Any]  # the JSON report (source of truth)
    summary: str  # a short markdown paragraph: verdict and top reasons
    #: what happened in this run only (times, work done); deliberately not in the report
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def treated_as(self) -> str:
        """What the decision counts as for ``--fail-on`` (inconclusive is mapped)."""
        return str(self.report["decision"]["treated_as"])


def report_json(report: Mapping[str, Any]) -> str:
    """The report's canonical text: sorted keys, two-space indent, a final newline."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _split_overrides(overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(core settings, gate settings, run parameters) from one overrides mapping."""
    core: dict[str, Any] = {}
    gate: dict[str, Any] = {}
    run: dict[str, Any] = {}
    known_gate = set(GateSettings().to_dict())
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in CORE_SETTINGS:
            core[key] = value
        elif key in known_gate:
            gate[key] = value
        elif key in _RUN_KEYS:
            run[key] = value
        else:
            raise ConfigError(
                f"unknown gate override {key!r}",
                "use a core setting, a [tool.empathy.plugins.gate] key, 'now' or 'environment'",
            )
    return core, gate, run


def gate_settings(ws: Workspace, overrides: Mapping[str, Any] | None = None) -> GateSettings:
    """The effective gate settings: plugin section, environment, then ``overrides``."""
    values = dict(ws.settings.plugin(GATE_PLUGIN))
    values.update(overrides or {})
    return GateSettings.from_mapping(values)


def _resolve(ws: Workspace, ref: str, what: str) -> str:
    ref = (ref or "").strip()
    if not ref:
        raise BadRevisionError(
            f"no {what} revision given", f"pass --{what} REF (a commit, branch or tag in {ws.repo.root})"
        )
    if set(ref) == {"0"}:
        raise BadRevisionError(
            f"{what} {ref[:12]}... is git's null commit (a new branch's first push has no previous commit)",
            f"pass --{what} with the default branch (e.g. origin/main)",
        )
    try:
        return str(ws.repo.git.rev_parse("--verify", "-q", f"{ref}^{{commit}}")).strip()
    except git.GitCommandError:
        hint = "fetch it, or check the spelling"
        if ws.repo.shallow:
            hint = "this is a shallow clone: fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0`)"
        raise BadRevisionError(f"{what} {ref!r} is not a commit in {ws.repo.root}", hint) from None


def _merge_base(ws: Workspace, base: str, head: str) -> str:
    """``base`` itself when it is an ancestor of ``head``, else their merge base."""
    try:
        return str(ws.repo.git.merge_base(base, head)).strip().split()[0]
    except (git.GitCommandError, IndexError):
        hint = "the two commits share no history"
        if ws.repo.shallow:
            hint = "this is a shallow clone: fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0`)"
        raise BadRevisionError(f"{base[:12]} and {head[:12]} have no common ancestor in {ws.repo.root}", hint) from None


def _signal_dict(f: RiskFactor, contribution: float) -> dict[str, Any]:
    return {
        "name": f.name,
        "score": round(float(f.score), 4),
        "weight": round(float(f.weight), 4),
        "contribution": contribution,
        "reason": f.reason,
        "source": f.source,
        "evidence": {k: v for k, v in sorted(f.evidence.items()) if not isinstance(v, list | dict)},
        "paths": sorted(f.paths),
    }


def _annotations(
    decision_rank: int, signals: list[RiskFactor], findings: list[Finding], change: ChangeSet, limit: int
) -> list[dict[str, Any]]:
    """Workflow-command annotations: files and lines the decision is about, capped per level.

    A blocked change marks its signals' files as errors; a warned one as
    warnings; a passing one as notices.  Findings on changed files follow as
    warnings (notices on a pass).  GitHub keeps 10 per level per step, so the
    most important come first and at most ``limit`` of each level are kept.
    """
    changed = set(change.paths)
    signal_level = {2: "error", 1: "warning"}.get(decision_rank, "notice")
    finding_level = "warning" if decision_rank else "notice"
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, int | None, str]] = set()
    for f in signals:
        for path in sorted(f.paths) or []:
            key: tuple[str, int | None, str] = (path, None, f.name)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                {
                    "level": signal_level,
                    "file": path,
                    "line": None,
                    "title": f"empathy gate: {f.name}",
                    # a signal over several files names its strongest one: say how this file is concerned
                    "message": f.reason if path in f.reason else f"{f.reason}; {path} is concerned too ({f.name})",
                }
            )
    for finding in findings:
        path = finding.location.path
        if path not in changed:
            continue
        key = (path, finding.location.start_line, finding.code)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "level": finding_level,
                "file": path,
                "line": finding.location.start_line,
                "title": f"empathy: {finding.code}",
                "message": f"{finding.reason} -> {finding.action}",
            }
        )
    kept: list[dict[str, Any]] = []
    per_level: dict[str, int] = {}
    for a in out:
        if per_level.get(a["level"], 0) < limit:
            per_level[a["level"]] = per_level.get(a["level"], 0) + 1
            kept.append(a)
    return kept


def decide_gate(
    ws: Workspace,
    base: str,
    head: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    save: bool = True,
) -> GateResult:
    """:func:`evaluate_gate` on an opened workspace (the CLI and the service keep one open)."""
    started = time.monotonic()
    phases: dict[str, float] = {}
    clock = [started]

    def phase(name: str) -> None:
        now = time.monotonic()
        phases[name] = round(phases.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now
    _core, gate_over, run = _split_overrides(overrides)
    settings = gate_settings(ws, gate_over)
    # Revisions first: a misspelt ref fails in a moment, before any ingest.
    base_sha = _resolve(ws, base, "base")
    head_sha = _resolve(ws, head, "head")
    merge_base = _merge_base(ws, base_sha, head_sha)
    change = range_change(ws.repo, f"{merge_base}..{head_sha}")
    # The same inputs give the same verdict on any day: unless `as_of` is set, the analysis is as of the head.
    ws.pin_analysis_time(head_time_of(ws, head_sha))
    refreshed = ws.refresh(remine_commits=settings.remine_commits)
    ingest = refreshed.ingest
    mined = refreshed.mined is not None
    history = ws.history()
    phase("refresh")
    # Mining links the newest fixes itself (the fixes miner's szz_budget); a run that had
    # to mine spends that time out of the linking budget, so a cold run stays bounded.
    assessment = ws.change_risk(change, szz_seconds=max(0.0, settings.szz_seconds - phases["refresh"]), phase=phase)
    linked_now, fixes_left = assessment.fixes_linked_now, assessment.fixes_left
    model = assessment.model
    signals, signal_errors = assessment.signals, assessment.signal_errors
    findings_report = assessment.findings
    range_shas = set(change.commits)

    from empathy.core.history.szz import szz_links
    from empathy.gate.deploys import range_risk

    base_time = head_time_of(ws, merge_base) if merge_base != EMPTY_TREE else 0
    ranged = range_risk(
        ws, change, base_time, settings.release_tag_pattern, None if model is None else model.probability
    )
    phase("deploys")

    # -- the track record, as of a time taken from the inputs ---------------------
    service = settings.service or ws.repo.key
    recorded_rows = recorded_outcomes(ws.store, ws.repo_id, service)
    head_time = int(str(ws.repo.git.log("-1", "--format=%ct", head_sha)).strip())
    if "now" in run:
        try:
            as_of = int(run["now"])
        except (TypeError, ValueError):
            raise ConfigError(f"now = {run['now']!r} is not a unix time") from None
    else:
        as_of = max([head_time, *(t for _ok, _w, t in recorded_rows)])
    recorded = fold(DEPLOY_KIND, service, recorded_rows, as_of, settings.half_life_days)
    links = szz_links(ws.store, ws.repo_id)
    releases = infer_releases(ws.repo, history, links, settings.release_tag_pattern, settings.hotfix_days, as_of)
    inferred = fold(
        "inferred",
        service,
        [(not r.failed, 1.0, r.at) for r in releases],
        as_of,
        settings.half_life_days,
    )
    if recorded.raw_n:
        used: TrustEstimate | None = recorded
        source = "recorded"
    elif inferred.raw_n:
        used, source = inferred, "inferred"
    else:
        used, source = None, "none"
    failures = [t for ok, _w, t in recorded_rows if not ok and t <= as_of]
    track = TrackRecord(
        source=source,
        estimate=used,
        recorded=recorded,
        inferred=inferred,
        releases=releases,
        failures_recorded=len(failures),
        last_failure_at=max(failures, default=None),
    )

    phase("track_record")

    # -- risk and decision ----------------------------------------------------
    # The risk is the range's percentile among the repository's past deploys; the history
    # signals are reasons and move it only by ``signal_weight`` (0 by default, so the
    # "would have blocked N of M past deploys" count describes exactly this policy).
    scorable = ranged.percentile is not None and not ranged.fallback
    risk, shares = combine_risk(
        ranged.percentile, [(f.name, f.score, f.weight) for f in signals], settings.signal_weight
    )
    failure_rate: float | None = None
    if used is not None and used.effective_n > 0:
        failure_rate = max(0.0, used.beta - 1.0) / used.effective_n  # observed, decayed: no prior in it
    budget: Budget = error_budget(failure_rate, 0.0 if used is None else used.effective_n, settings)
    decision = decide(risk, budget, scorable)
    treated_as = settings.inconclusive_as if decision == "inconclusive" else decision
    rank = severity_rank(decision, settings.inconclusive_as)
    trust = None if used is None else round(used.mean, 4)
    shown_risk: float | None = None if decision == "inconclusive" else risk

    status = "scored"
    if not ranged.scored_commits:
        status = "no source file changed"
    elif ranged.percentile is None:
        status = "too few past deploys"
    elif ranged.fallback:
        status = "fallback"
    model_part: dict[str, Any] = {
        "status": status,
        **ranged.to_dict(),
        "would_warn": ranged.would(budget.warn),
        "would_block": ranged.would(budget.block),
        "change_model": None
        if model is None
        else {
            # shown only where the change model is calibrated on this repository (`empathy eval`)
            "probability": None if assessment.probability is None else round(assessment.probability, 4),
            "calibration": assessment.calibration,
            "factors": [{"factor": n, "value": v, "contribution": c} for n, v, c in model.factors],
            "features": _features(model.features),
        },
    }
    signal_dicts = [_signal_dict(f, s.contribution) for f, s in zip(signals, shares, strict=True)]
    notes: list[str] = []
    if ws.repo.shallow:
        notes.append("shallow clone: part of the history is missing, so the model and the record see less")
    if fixes_left:
        notes.append(
            f"{fixes_left} bug fixes are not linked to their causes yet: labels are incomplete and the "
            "model may understate risk (each run links more; `empathy eval` links them all)"
        )
    if ranged.fallback:
        notes.append(f"change model: {ranged.fallback}, so deploys cannot be compared")
    if ranged.percentile is None:
        notes.append(
            f"only {len(ranged.past)} past deploys to compare with (at least 5 are needed): the gate cannot say "
            "how unusual this one is"
        )
    if used is None:
        notes.append("no track record: no deploy outcomes recorded and no release tags to infer them from")
    for plugin, error in sorted(signal_errors.items()):
        notes.append(f"risk plugin {plugin} failed: {error}")
    for plugin, error in sorted(findings_report.errors.items()):
        notes.append(f"level plugin {plugin} failed: {error}")

    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "empathy", "version": __version__},
        "decision": {
            "decision": decision,
            "treated_as": treated_as,
            "risk": shown_risk,
            "trust": trust,
            "thresholds": {"warn": budget.warn, "block": budget.block},
            "settings_digest": settings.digest(),
        },
        "subject": {
            "repository": ws.repo.key,
            "service": service,
            "environment": str(run.get("environment") or "") or None,
            "base": base_sha,
            "merge_base": merge_base if merge_base != EMPTY_TREE else None,
            "head": head_sha,
            "commits": len(range_shas),
            "files": len(change.paths),
            "added": change.added,
            "deleted": change.deleted,
        },
        "risk": {
            "score": shown_risk,
            "method": (
                "percentile of the expected bug-introducing commits among past deploys; "
                "1 - (1 - percentile) * prod(1 - signal_weight * weight * score)"
            ),
            "model": model_part,
            "signals": signal_dicts,
        },
        "track_record": track.to_dict(),
        "error_budget": {
            "target_failure_rate": settings.target_failure_rate,
            "failure_rate": budget.failure_rate,
            "effective_n": budget.effective_n,
            "budget_left": budget.budget_left,
            "threshold_shift": budget.shift,
            "exhausted": budget.exhausted,
            "base_thresholds": {"warn": settings.warn_threshold, "block": settings.block_threshold},
        },
        "data_quality": {
            "history_commits": len(history.commits),
            "shallow": ws.repo.shallow,
            "fixes_not_linked": fixes_left,
            "model_scored": scorable and not ranged.fallback,
            "plugin_errors": {**signal_errors, **findings_report.errors},
            "on_error": "fails closed: an error exits non-zero and fails the step (continue-on-error opens it)",
            "notes": notes,
        },
        "findings": [
            {
                "code": f.code,
                "level": int(f.level),
                "severity": f.severity.value,
                "path": f.location.path,
                "line": f.location.start_line,
                "reason": f.reason,
                "action": f.action,
                "probability": None if f.probability is None else round(f.probability, 4),
                "horizon_days": f.horizon_days,
            }
            for f in findings_report.findings
        ],
        "settings": settings.to_dict(),
    }
    report["annotations"] = _annotations(rank, signals, findings_report.findings, change, settings.max_annotations)
    report["reasons"] = _reasons(report)
    report["next_steps"] = next_steps(report)
    # A round trip through JSON makes the report exactly what is stored and printed.
    report = json.loads(report_json(report))
    summary = build_summary(report)
    phase("report")
    result = GateResult(
        decision=decision,
        risk=shown_risk,
        trust=trust,
        report=report,
        summary=summary,
        run={
            "seconds": round(time.monotonic() - started, 3),
            "new_commits": ingest.new_commits,
            "fixes_linked_now": linked_now,
            "mined": mined,
            "phases": phases,
        },
    )
    if save:
        ws.store.save_gate_decision(
            GateDecisionRow(
                repo_id=ws.repo_id,
                base=base_sha,
                head=head_sha,
                decision=decision,
                risk=risk,
                trust=trust,
                created_at=int(time.time()),
                report=report,
            )
        )
    event = Event(
        type=EVENT_TYPE,
        data={
            "decision": decision,
            "treated_as": treated_as,
            "risk": shown_risk,
            "trust": trust,
            "base": base_sha,
            "head": head_sha,
            "repository": ws.repo.key,
            "service": service,
            "environment": report["subject"]["environment"],
            "thresholds": report["decision"]["thresholds"],
            "summary": summary,
        },
        timestamp=float(as_of),
    )
    ws.host.call_each("handle_event", timeout=10.0, event=event)
    return result


def head_time_of(ws: Workspace, sha: str) -> int:
    """A commit's committer time (unix seconds)."""
    return int(str(ws.repo.git.log("-1", "--format=%ct", sha)).strip())


def _features(features: Any) -> dict[str, Any]:
    from dataclasses import fields as dc_fields

    out: dict[str, Any] = {}
    for f in dc_fields(features):
        if f.name in ("sha", "index", "time", "author"):
            continue
        v = getattr(features, f.name)
        out[f.name] = round(v, 4) if isinstance(v, float) else v
    return out


def _reasons(report: Mapping[str, Any]) -> list[str]:
    """The top reasons, in words: how this deploy compares with the past ones, then the signals."""
    reasons: list[str] = []
    model = report["risk"]["model"]
    d = report["decision"]
    if model["status"] == "fallback" and d["decision"] == "inconclusive":
        # the model could not score against this repository: no figure to compare, say why instead
        why = model.get("fallback") or "too little history"
        reasons.append(f"the change model cannot score deploys here yet: {why}")
    elif model["status"] in ("scored", "fallback"):
        reasons.append(
            f"its {model['commits']} commits carry an expected {model['expected_buggy_commits']:.1f} bug-introducing "
            f"commits, more than {model['percentile']:.0%} of the last {model['past_deploys']} deploys "
            f"({model['compared_with']}); this policy would have warned on {model['would_warn']} and blocked "
            f"{model['would_block']} of them"
        )
    elif model["status"] == "too few past deploys":
        reasons.append(
            f"only {model['past_deploys']} past deploys to compare with: not enough to say how unusual this one is"
        )
    else:
        reasons.append("no source file changed, so the change model does not apply")
    if d["decision"] != "inconclusive":
        for s in report["risk"]["signals"][:4]:
            extra = f" (+{s['contribution']:.2f})" if s["contribution"] else ""
            reasons.append(f"{s['reason']}{extra}")
    return reasons


def evaluate_gate(
    repo_path: str | os.PathLike[str],
    base: str,
    head: str,
    overrides: Mapping[str, Any] | None = None,
) -> GateResult:
    """Decide on the change ``base..head`` of the repository at ``repo_path``.

    ``overrides`` may hold core settings (``database_url`` ...), gate settings
    (``warn_threshold``, ``service`` ...; see :class:`GateSettings`), ``now``
    (unix seconds: the track record's reference time; default: the head
    commit's time or the newest recorded outcome, whichever is later) and
    ``environment`` (a label kept in the report).  Raises
    :class:`~empathy.core.errors.EmpathyError` subclasses for misuse (bad
    revision: exit code 8; no history: 3).
    """
    core, _gate, _run = _split_overrides(overrides)
    ws = open_workspace(repo_path, core)
    try:
        return decide_gate(ws, base, head, overrides)
    finally:
        ws.store.engine.dispose()


def record_outcome(
    ws: Workspace,
    outcome: str,
    ref: str,
    *,
    service: str = "",
    at: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> TrustEstimate:
    """Record a deploy outcome (success, failure or rollback) of commit ``ref`` in the track record.

    The gate's latest decision for that commit, if any, is kept with the
    outcome, so a later look can compare verdicts with what happened.
    """
    if outcome not in DEPLOY_OUTCOMES:
        raise ConfigError(f"unknown outcome {outcome!r}", "use success, failure or rollback")
    sha = _resolve(ws, ref, "ref")
    settings = gate_settings(ws)
    subject = service or settings.service or ws.repo.key
    info: dict[str, Any] = {"ref": sha, **dict(detail or {})}
    decided = ws.store.latest_gate_decision(sha, ws.repo_id)
    if decided is not None:
        info.update(decision=decided.decision, risk=decided.risk)
        if decided.decision != "pass":
            # The rules that warned about this change: a failure later proves them right
            # (the adaptation agent lowers their thresholds; empathy.core.agents.adaptation).
            findings = decided.report.get("findings") or []
            rules = {str(f.get("code")) for f in findings if isinstance(f, dict) and f.get("code")}
            if rules:
                info["rules"] = sorted(rules)
    ledger = ws.trust()
    return ledger.record(DEPLOY_KIND, subject, DEPLOY_OUTCOMES[outcome], at=at, detail=info)
