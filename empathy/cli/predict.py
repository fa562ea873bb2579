"""Prediction commands: ``forecast`` (files), ``risk`` (a change) and ``eval`` (their track record)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from empathy.cli._common import (
    DbOpt,
    JsonOpt,
    PathArg,
    RepoOpt,
    day,
    emit_json,
    err,
    ingest,
    open_ws,
    out,
    parse_date,
    print_findings,
    print_plugin_errors,
    refresh,
    status,
)
from empathy.core.changes import change_under_review
from empathy.core.errors import ConfigError
from empathy.core.findings_formats import FAIL_ON_EXIT, reaching
from empathy.core.model import Severity
from empathy.core.usecases.risk import ChangeAssessment

__all__ = ["eval_", "forecast", "risk"]


def forecast(
    path: PathArg = Path("."),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Forecast as of this date (YYYY-MM-DD), from history up to it only.")
    ] = None,
    horizon: Annotated[int | None, typer.Option(help="Horizon in days (default: the horizon_days setting).")] = None,
    json_output: JsonOpt = False,
    top: Annotated[int | None, typer.Option(help="Rows to show (default: all).")] = None,
    database_url: DbOpt = None,
) -> None:
    """Every Python source file ranked by its probability of a bug fix within the horizon."""
    ws = open_ws(path, database_url)
    ingest(ws, json_output)
    at = parse_date(as_of)
    if horizon is not None and horizon <= 0:
        raise ConfigError("--horizon must be a positive number of days")
    if at is not None and at < min((c.committed_at for c in ws.history().commits), default=at):
        raise ConfigError(f"--as-of {as_of} is before the first commit; there is no history to learn from")
    result = ws.forecast(as_of=at, horizon_days=horizon)
    run, record = result.run, result.record
    days = run.horizon_days
    if json_output:
        emit_json(result.to_dict(top))
        return
    out.print(
        f"P(bug-fix commit within {run.horizon_days} days) as of {day(run.as_of)}: {run.files} files, "
        f"trained on {run.train_rows} file-periods (base rate {run.base_rate:.2f})",
        highlight=False,
    )
    if run.fallback:
        err.print(f"[yellow]note:[/] {escape(run.fallback)}")
    if run.uncalibrated:
        err.print(f"[yellow]no probabilities:[/] {escape(run.uncalibrated)}; the rank and the track record stand")
    table = Table("#", "file", "p", "above the typical file on", header_style="bold")
    for f in run.forecasts[:top] if top else run.forecasts:
        p = "-" if f.probability is None else f"{f.probability:.2f}"
        table.add_row(str(f.rank), escape(f.path), p, escape(", ".join(f.drivers)))
    out.print(table)
    if record:
        out.print(
            f"track record here ({record.get('cutoffs')} cutoffs, {days}-day horizon): top 20% of files held "
            f"{record.get('touch@20%', float('nan')):.0%} of later fixes; "
            f"best baseline {record.get('best_baseline')}; ECE {record.get('ece')}",
            highlight=False,
        )
    else:
        err.print(f"no track record for a {days}-day horizon yet: run `empathy eval --horizon {days}`")


def _metrics_table(label: str, names: list[str], metrics: tuple[str, ...], mean: Callable[[str, str], float]) -> Table:
    """One row per model or ranking, one column per metric (means over the cutoffs)."""
    table = Table(label, *metrics, header_style="bold")
    for name in names:
        table.add_row(escape(name), *(f"{mean(name, m):.3f}" for m in metrics))
    return table


def eval_(
    path: PathArg = Path("."),
    horizon: Annotated[
        int | None,
        typer.Option(help="Horizon in days; default: the forecast's (`horizon_days`, 90), whose record it keeps."),
    ] = None,
    cutoffs: Annotated[int, typer.Option(help="Rolling cutoffs, one horizon apart, newest first.")] = 6,
    changes: Annotated[
        bool, typer.Option("--changes/--no-changes", help="Also backtest the change-level (JIT) model.")
    ] = True,
    partners: Annotated[
        bool,
        typer.Option(
            "--partners", help="Instead: replay the last two years of commits against the co-change suggestions."
        ),
    ] = False,
    json_output: JsonOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Time-split backtest: our models side by side with the baselines on the same cutoffs.

    File level: which files get bug fixes after each cutoff. Change level: which changes
    later fixes blame (B-SZZ); the first run blames every fix (minutes on a large
    repository; the links persist). With --partners: each commit of the last two years
    touching 2-30 files, one file hidden, asked from the history before it: how often the
    hidden file is the first (recall@1) or among the first three suggestions, and how often
    a warning was right; stored as the track record the editor and the gate quote.
    """
    from empathy.core.predict.backtest import METRICS
    from empathy.core.predict.jit import METRICS as CHANGE_METRICS

    ws = open_ws(path, database_url)
    horizon = int(ws.settings["horizon_days"]) if horizon is None else horizon
    if horizon <= 0 or cutoffs <= 0:
        raise ConfigError("--horizon and --cutoffs must be positive")
    ingest(ws, json_output)
    if partners:
        from empathy.core.usecases.partners import evaluate_partners

        with status(json_output, "replaying the last two years against the co-change suggestions"):
            summary_p = evaluate_partners(ws)
        if json_output:
            emit_json({"partners": summary_p})
            return
        if not summary_p["queries"]:
            out.print("no commit of the last two years touched 2 to 30 files: nothing to replay")
            return
        warned = (
            f"warned on {summary_p['warn_share']:.0%} of them, right {summary_p['warn_precision']:.0%} of the time"
            if summary_p["warn_precision"] is not None
            else "no warning was raised"
        )
        out.print(
            f"partners, replaying {summary_p['queries']} commits of the last {summary_p['years']:g} years with one "
            f"file hidden: the hidden file was the first suggestion {summary_p['recall@1']:.0%} of the time, among "
            f"the first three {summary_p['recall@3']:.0%}; {warned} ({summary_p['seconds']:.0f} s)",
            highlight=False,
        )
        return
    with status(json_output, "backtest") as spinner:
        result = ws.backtest(
            horizon_days=horizon, cutoffs=cutoffs, changes=changes, progress=lambda m: spinner.update(escape(m))
        )
    if json_output:
        emit_json(result.to_dict())
        return
    bt, summary = result.files, result.summary
    out.print(_verdict(bt, summary, horizon), highlight=False)
    out.print(
        f"file level, {len(bt.cutoffs)} cutoffs, {horizon}-day horizon, truth = bug-fix commits after each cutoff",
        highlight=False,
    )
    out.print(_metrics_table("ranking", bt.rankings(), METRICS, bt.mean))
    out.print(
        f"calibration of our probabilities: ECE {summary['ece']}, Brier skill {summary['brier_skill']} "
        f"(mean over cutoffs); ECE over all cutoffs pooled {summary['ece_pooled']}",
        highlight=False,
    )
    cbt, change_summary = result.changes, result.change_summary
    if cbt is not None and change_summary is not None:
        out.print(
            f"change level, {len(cbt.cutoffs)} cutoffs, truth = B-SZZ links from {cbt.links} blamed lines of "
            f"{cbt.fixes} fixes" + (f" (skipped: {'; '.join(cbt.skipped)})" if cbt.skipped else ""),
            highlight=False,
        )
        out.print(_change_verdict(cbt, change_summary), highlight=False)
        out.print(_metrics_table("model", cbt.models(), CHANGE_METRICS, cbt.mean))
        out.print(
            f"calibration of the change model: ECE {change_summary['ece']}, "
            f"Brier skill {change_summary['brier_skill']}",
            highlight=False,
        )


def _verdict(bt: Any, summary: Mapping[str, Any], horizon: int) -> str:
    """One sentence a user can check: how much of the later fixes our top fifth held, beside size and the best rule."""
    from empathy.core.predict.backtest import OURS

    ours = bt.mean(OURS, "touch@20%")
    size = bt.mean("LOC", "touch@20%")
    rules = {n: bt.mean(n, "touch@20%") for n in bt.rankings() if n not in (OURS, "random") and "ours" not in n}
    rules = {n: v for n, v in rules.items() if "oracle" not in n and not math.isnan(v)}
    best = max(rules, key=lambda n: rules[n]) if rules else None
    if math.isnan(ours):
        return f"no cutoff had a bug fix within {horizon} days to rank: no verdict on this repository yet"
    rule = f"; the best simple rule ({best}): {rules[best]:.0%}" if best is not None else ""
    pooled = summary.get("ece_pooled")
    shown = (
        f"our probabilities were off by {pooled:.1%} on average (ECE), so they are shown"
        if isinstance(pooled, float) and pooled <= 0.05
        else "our probabilities are not calibrated here, so forecasts show the rank instead"
    )
    return (
        f"Verdict: over {len(bt.cutoffs)} past cutoffs, the 20% of files we ranked riskiest held {ours:.0%} of the "
        f"next {horizon} days' bug-fix touches; size alone: {size:.0%}{rule}. {shown[0].upper()}{shown[1:]}."
    )


def _change_verdict(cbt: Any, summary: Mapping[str, Any]) -> str:
    """The change model in one sentence: does it order changes better than their size, and is p shown?"""
    from empathy.core.predict.jit import OURS as CHANGE_OURS

    ours, size = cbt.mean(CHANGE_OURS, "AUC"), cbt.mean("LR on LA only", "AUC")
    if math.isnan(ours):
        return "Change risk: no usable cutoff, no verdict yet."
    ece = summary.get("ece")
    shown = (
        "its probabilities are calibrated here (ECE at most 0.05) and shown"
        if isinstance(ece, float) and ece <= 0.05 and float(summary.get("brier_skill") or 0) > 0
        else "its probabilities are not calibrated here, so `empathy risk` shows the percentile instead"
    )
    return (
        f"Change risk: ordering past changes, ours separated later-blamed changes from the rest with AUC {ours:.2f} "
        f"(lines added alone: {size:.2f}); {shown}."
    )


def risk(
    rev: Annotated[str | None, typer.Argument(help="A commit or a range (A..B); omit with --diff or --staged.")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Score the working-tree change against HEAD.")] = False,
    staged: Annotated[
        bool, typer.Option("--staged", help="Score the staged change (git's index) against HEAD: the pre-commit hook.")
    ] = False,
    fail_on: Annotated[
        Severity | None,
        typer.Option(
            "--fail-on",
            help="Exit 13 when a finding for the change is at this severity or above (error, warning, info). "
            "Default: never fail (advisory).",
        ),
    ] = None,
    fail_above: Annotated[
        float | None,
        typer.Option(
            "--fail-above",
            min=0.0,
            max=1.0,
            help="Exit 13 when the change is riskier than this share of past changes (a percentile, e.g. 0.9).",
        ),
    ] = None,
    path: RepoOpt = Path("."),
    json_output: JsonOpt = False,
    szz_budget: Annotated[
        int, typer.Option(help="Most fixes to blame now for labels (blames persist; later runs continue).")
    ] = 5000,
) -> None:
    """Change risk: P(the change introduces a bug), its contributing factors, and what the levels say.

    Advisory by default (exit 0). `--fail-on SEVERITY` and `--fail-above PERCENTILE` make a risky change
    exit 13, so a pre-commit hook or a pipeline can stop it.
    """
    if sum((rev is not None, diff, staged)) != 1:
        raise ConfigError("give one of a revision or range, --diff or --staged", "e.g. `empathy risk HEAD~3..HEAD`")
    ws = open_ws(path)
    refresh(ws, json_output)
    change = change_under_review(ws.repo, rev, diff, staged)
    assert change is not None
    with status(json_output, "linking fixes to the changes that caused them (SZZ)") as spinner:
        assessment = ws.change_risk(change, szz_budget=szz_budget, progress=lambda m: spinner.update(escape(m)))
    _print_risk(assessment, json_output)
    reasons: list[str] = []
    if fail_on is not None:
        failing = reaching(assessment.findings.findings, fail_on)
        if failing:
            reasons.append(f"{len(failing)} finding(s) at {fail_on.value} or above (--fail-on {fail_on.value})")
    model = assessment.model
    if fail_above is not None and model is not None and not math.isnan(model.percentile):
        if model.percentile > fail_above:
            reasons.append(f"riskier than {model.percentile:.0%} of past changes (--fail-above {fail_above:g})")
    if reasons:
        err.print(f"{'; '.join(reasons)}: exit {FAIL_ON_EXIT}", highlight=False)
        raise typer.Exit(FAIL_ON_EXIT)


def _print_risk(assessment: ChangeAssessment, json_output: bool) -> None:
    """The change's risk as JSON or as text: the score, its factors, the history signals and the findings."""
    if json_output:
        emit_json(assessment.to_dict())
        return
    result = assessment.model
    if result is None:
        out.print("the change touches no Python source file: no change-risk score")
    else:
        pct = "" if math.isnan(result.percentile) else f"riskier than {result.percentile:.0%} of past changes; "
        cal = assessment.calibration
        shown = assessment.probability
        if shown is not None and cal is not None:
            out.print(
                f"[bold]risk p={shown:.2f}[/] that this change introduces a bug a later fix repairs "
                f"({pct}base rate {result.base_rate:.2f}; trained on {result.train_rows} changes; "
                f"calibrated here: ECE {cal['ece']:.3f} over {cal['cutoffs']} cutoffs)",
                highlight=False,
            )
        else:
            why = (
                "run `empathy eval` to measure it"
                if cal is None
                else f"measured ECE {cal['ece']} over {cal['cutoffs']} cutoffs, above {cal['max_ece']}"
            )
            out.print(
                f"[bold]change risk:[/] {pct}{result.base_rate:.0%} of past changes later needed a fix "
                f"(trained on {result.train_rows} changes; no probability: the model is not calibrated "
                f"on this repository, {why})",
                highlight=False,
            )
        if result.fallback:
            err.print(f"[yellow]note:[/] {escape(result.fallback)}")
        for name, value, contribution in result.factors:
            arrow = "raises" if contribution > 0 else "lowers"
            out.print(
                f"  {name} = {value} {arrow} the risk vs. an average change ({contribution:+.2f})", highlight=False
            )
    if assessment.signals:
        out.print("history signals:")
        for factor in assessment.signals:
            out.print(f"  {factor.name} ({factor.score:.2f}): {escape(factor.reason)}", highlight=False)
    print_plugin_errors(assessment.signal_errors)
    if assessment.fixes_left:
        err.print(
            f"{assessment.fixes_left} fixes are not linked yet (rerun to continue); labels are incomplete until then"
        )
    print_findings(assessment.findings.findings, len(assessment.findings.hidden))
