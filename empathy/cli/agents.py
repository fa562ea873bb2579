"""Agents and trust commands: ``brief``, ``agents``, ``feedback``, ``ab``, ``trust``, ``stats``, ``answer``.

What users tell empathy (feedback, answers) and what it has learned from them
(trust, the A/B test), plus the agents that merge everything into one brief.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from empathy.cli._common import (
    JsonOpt,
    PathArg,
    RepoOpt,
    emit_json,
    err,
    open_ws,
    out,
    print_findings,
    progress_enabled,
    refresh,
)
from empathy.core.changes import change_under_review
from empathy.core.errors import ConfigError
from empathy.core.model import Event
from empathy.core.workspace import Workspace

__all__ = ["ab", "agents", "answer", "brief", "feedback", "stats", "trust"]


def answer(
    question: Annotated[str, typer.Argument(help="The question id from a level-2 finding (e.g. fix-pattern).")],
    value: Annotated[str, typer.Argument(help="Your answer (yes/no, or a regular expression for fix-pattern).")],
    path: RepoOpt = Path("."),
) -> None:
    """Answer a level-2 question; the answer is stored and used from the next run on."""
    from empathy.core.guided import save_answer

    ws = open_ws(path)
    stored = save_answer(ws.store, ws.repo_id, question, value)
    out.print(f"{question} = {stored!r} stored; it applies from the next run (`empathy config show` lists it)")


def feedback(
    rule: Annotated[
        str | None,
        typer.Argument(help="The finding's code (e.g. hotspot, missing-partner, fix-forecast)."),
    ] = None,
    useful: Annotated[
        bool | None,
        typer.Option("--useful/--not-useful", help="Was the warning worth showing? (required: one or the other)"),
    ] = None,
    path: PathArg = Path("."),
    undo: Annotated[
        bool,
        typer.Option(
            "--undo",
            help="Take back the newest feedback (on RULE if given), from the CLI or the editor; repeat to go further.",
        ),
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Tell empathy whether a kind of warning helped: it moves that rule's threshold and the repo's trust."""
    if undo:
        if useful is not None:
            raise ConfigError("--undo takes feedback back; it cannot be given with --useful or --not-useful")
        if rule is not None and path == Path(".") and Path(rule).is_dir():
            # `feedback --undo PATH`: a directory is never a finding code
            path, rule = Path(rule), None
        _undo_feedback(open_ws(path), rule, json_output)
        return
    if rule is None or not rule.strip():
        raise ConfigError(
            "give the code of the finding the feedback is about", "e.g. `empathy feedback hotspot --useful`"
        )
    if useful is None:
        raise ConfigError(
            "say whether the warning helped: --useful or --not-useful", f"e.g. `empathy feedback {rule} --not-useful`"
        )
    ws = open_ws(path)
    ws.check_rule(rule)  # a typo must not move a threshold nobody will ever read
    change, estimate, experiment, arm = ws.record_feedback(rule, useful, detail={"surface": "cli"})
    if json_output:
        emit_json(
            {
                "rule": rule,
                "threshold_old": change.old,
                "threshold_new": change.new,
                "crossed": list(change.crossed),
                "repo_trust": estimate.to_dict(),
                "experiment": experiment,
                "arm": arm,
            },
        )
        return
    out.print(
        f"{rule}: threshold {change.old:.2f} -> {change.new:.2f}"
        + (f" (crossed {', '.join(f'{m:.2f}' for m in change.crossed)})" if change.crossed else "")
        + f"; repository trust {estimate.mean:.2f} (lower bound {estimate.lower:.2f}, n={estimate.effective_n:.1f})",
        highlight=False,
    )


def _undo_feedback(ws: Workspace, rule: str | None, json_output: bool) -> None:
    """``feedback --undo``: say what was taken back and what it moved, or that there was nothing."""
    undone = ws.undo_feedback(rule)
    if undone is None:
        raise ConfigError(
            "there is no feedback to take back" + (f" on {rule!r}" if rule else ""),
            "`empathy trust` shows the thresholds and the feedback behind them",
        )
    assert undone.change is not None and undone.estimate is not None
    given = datetime.fromtimestamp(undone.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if json_output:
        emit_json(
            {
                "undone": {
                    "rule": undone.rule,
                    "useful": undone.useful,
                    "given_at": undone.at,
                    "surface": undone.surface or None,
                },
                "threshold_old": undone.change.old,
                "threshold_new": undone.change.new,
                "crossed": list(undone.change.crossed),
                "repo_trust": undone.estimate.to_dict(),
            }
        )
        return
    flag = "--useful" if undone.useful else "--not-useful"
    surface = {"cli": "command line", "lsp": "editor"}.get(undone.surface, undone.surface)
    where = f" from the {surface}" if surface else ""
    out.print(
        f"took back `{undone.rule} {flag}` given {given}{where}: threshold {undone.change.old:.2f} -> "
        f"{undone.change.new:.2f}; repository trust {undone.estimate.mean:.2f} "
        f"(lower bound {undone.estimate.lower:.2f}, n={undone.estimate.effective_n:.1f})",
        highlight=False,
    )


def _ab_experiment(ws: Workspace) -> Any:
    """The adaptation plugin's experiment, with its arms checked against the known strategies."""
    experiment = ws.experiment()
    if experiment is not None:
        from empathy.core.agents.adaptation import check_strategies

        try:
            check_strategies(experiment)
        except ValueError as exc:
            raise ConfigError(f"[tool.empathy.plugins.adaptation]: {exc}") from exc
    return experiment


def ab(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """The A/B test of two ranking strategies: useful feedback per arm, n, and which arm wins (if any yet)."""
    from empathy.core.agents.adaptation import ABReport

    ws = open_ws(path)
    experiment = _ab_experiment(ws)
    if experiment is None:
        raise ConfigError(
            "no experiment is running: the adaptation plugin is disabled",
            "enable it with `enabled = true` under [tool.empathy.plugins.adaptation]",
        )
    report = ABReport.from_ledger(ws.trust(), experiment)
    if json_output:
        emit_json(report.to_dict())
        return
    table = Table("arm", "n", "useful", "rate", header_style="bold", title=f"experiment {experiment.name}")
    for arm in report.arms:
        table.add_row(arm.arm, str(arm.n), str(arm.useful), "" if arm.rate is None else f"{arm.rate:.2f}")
    out.print(table)
    verdict = f"winner: {report.winner}" if report.winner else "no winner yet"
    out.print(f"{verdict} ({escape(report.reason)})", highlight=False)


def trust(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """The track record: trust per subject (decayed Beta, with sample size) and each rule's threshold."""
    ws = open_ws(path)
    ledger = ws.trust()
    estimates = ledger.estimates()
    thresholds = ledger.thresholds()
    levels = {level: ledger.level_allowed(level) for level in range(1, 6)}
    if json_output:
        emit_json(
            {
                "estimates": [e.to_dict() for e in estimates],
                "thresholds": thresholds,
                "default_threshold": ledger.default_threshold,
                "levels_allowed": levels,
            },
        )
        return
    table = Table("kind", "subject", "mean", "lower (5%)", "n (decayed)", "n (raw)", header_style="bold")
    for e in estimates:
        table.add_row(
            e.subject_kind, escape(e.subject), f"{e.mean:.2f}", f"{e.lower:.2f}", f"{e.effective_n:.1f}", str(e.raw_n)
        )
    out.print(table if estimates else "no outcomes recorded yet: `empathy feedback RULE --useful/--not-useful`")
    out.print(
        f"rule thresholds (default {ledger.default_threshold:.2f}): "
        + (", ".join(f"{r}={t:.2f}" for r, t in sorted(thresholds.items())) or "none moved yet"),
        highlight=False,
    )
    out.print("levels shown: " + ", ".join(f"{lv} {'yes' if ok else 'no'}" for lv, ok in levels.items()))


def stats(
    path: PathArg = Path("."),
    json_output: JsonOpt = False,
    weeks: Annotated[int, typer.Option(help="Weeks of trust trend to show.")] = 8,
) -> None:
    """Usage and outcomes: patterns shown per kind, success rate per rule, the trust trend."""
    ws = open_ws(path)
    ledger = ws.trust()
    usage: dict[str, int] = {}
    for p in ws.store.patterns(ws.repo_id, include_inactive=True):
        usage[p.kind] = usage.get(p.kind, 0) + p.usage_count
    rules = [
        {
            "rule": e.subject,
            "success_rate": round(e.mean, 3),
            "lower": round(e.lower, 3),
            "n": e.raw_n,
            "threshold": ledger.threshold(e.subject),
        }
        for e in ledger.estimates("rule")
    ]
    trend = [
        {"as_of": int(e.as_of), "mean": round(e.mean, 3), "n": round(e.effective_n, 2)}
        for e in ledger.history("repo", ledger.repo_subject, weeks, period="week")
    ]
    if json_output:
        emit_json({"pattern_usage": usage, "rules": rules, "trust_trend": trend})
        return
    out.print("patterns shown, by kind: " + (", ".join(f"{k}={v}" for k, v in sorted(usage.items())) or "none"))
    table = Table("rule", "success rate", "lower", "n", "threshold", header_style="bold")
    for r in rules:
        table.add_row(
            escape(str(r["rule"])),
            f"{r['success_rate']:.2f}",
            f"{r['lower']:.2f}",
            str(r["n"]),
            f"{r['threshold']:.2f}",
        )
    out.print(table if rules else "no feedback on rules yet")
    out.print("repository trust, weekly: " + " ".join(f"{t['mean']:.2f}" for t in trend))


def agents(path: PathArg = Path("."), json_output: JsonOpt = False) -> None:
    """The agents the plugins register, what they need, and their last run (time and error)."""
    ws = open_ws(path)
    runs = {r.plugin: r for r in ws.store.plugin_runs() if r.hook == "agent"}
    rows: list[dict[str, Any]] = []
    for agent in ws.agents():
        run = runs.get(agent.name)
        rows.append(
            {
                "name": agent.name,
                "plugin": getattr(agent, "plugin", ""),
                "requires": list(agent.requires),
                "timeout": getattr(agent, "timeout", None),
                "last_run": run.ran_at if run else None,
                "seconds": round(run.seconds, 4) if run else None,
                "error": run.error if run else None,
            }
        )
    if json_output:
        emit_json(rows)
        return
    table = Table("agent", "plugin", "requires", "timeout", "last run", "seconds", "error", header_style="bold")
    for row in rows:
        when = datetime.fromtimestamp(row["last_run"], tz=UTC).strftime("%Y-%m-%d %H:%M") if row["last_run"] else ""
        table.add_row(
            row["name"],
            row["plugin"],
            ", ".join(row["requires"]),
            str(row["timeout"] or ""),
            when,
            "" if row["seconds"] is None else f"{row['seconds']:.3f}",
            escape(row["error"] or ""),
        )
    out.print(table)


def brief(
    files: Annotated[
        list[str] | None, typer.Argument(help="Files to ask about (default: the whole repository).")
    ] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Ask about the working-tree change.")] = False,
    range_: Annotated[
        str | None, typer.Option("--range", help="Ask about a commit range (A..B) or one commit.")
    ] = None,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
) -> None:
    """Run the agents for a question and print their answer: a short brief and the top actions."""
    from empathy.core.agents.orchestrator import Request
    from empathy.core.explain import resolve_repo_path

    ws = open_ws(path)
    show = progress_enabled(json_output)
    refresh(ws, json_output)
    change = change_under_review(ws.repo, range_, diff)
    paths = [resolve_repo_path(ws.repo.root, f) for f in files or []]
    request = Request(kind="change" if change else ("file" if paths else "repo"), paths=paths, change=change)
    if show:
        from empathy.core.agents.orchestrator import EventBus

        bus = EventBus()
        with err.status("asking the agents") as status:

            def on_step(event: Event) -> None:
                data = event.data
                verb = "running" if event.type == "agent.started" else str(data.get("status", "done"))
                status.update(escape(f"agents {data.get('done')}/{data.get('total')}: {data.get('agent')} {verb}"))

            bus.subscribe(on_step)
            answer = ws.orchestrate(request, bus=bus)
    else:
        answer = ws.orchestrate(request)
    insight = answer.value("insights")
    adaptation = answer.value("adaptation")
    findings_ = answer.value("findings") or []
    ranked = getattr(adaptation, "findings", None) or getattr(insight, "findings", None) or findings_
    if json_output:
        payload: dict[str, Any] = {
            "partial": answer.partial,
            "failed": answer.failed,
            "skipped": answer.skipped,
            "seconds": round(answer.seconds, 4),
            "agents": {
                n: {"status": o.status, "seconds": round(o.seconds, 4), "error": o.error}
                for n, o in answer.outcomes.items()
            },
            "brief": getattr(insight, "brief", None),
            "actions": getattr(insight, "actions", None),
            "experiment": getattr(adaptation, "experiment", None),
            "arm": getattr(adaptation, "arm", None),
            "findings": [f.to_dict() for f in ranked],
        }
        emit_json(payload)
        return
    if insight is not None:
        out.print(escape(insight.brief), highlight=False)
        if not str(insight.source).startswith("deterministic"):  # the deterministic brief lists them already
            for action in insight.actions:
                out.print(f"-> {escape(action)}", highlight=False)
    else:
        print_findings(findings_[: int(ws.settings["top"])], 0)
    if answer.partial:
        err.print(
            "[yellow]partial answer:[/] "
            + ", ".join(f"{n} {o.status}" for n, o in answer.outcomes.items() if o.status != "ok"),
            highlight=False,
        )
