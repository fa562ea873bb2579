"""``empathy gate``: the trust-aware deployment gate, and ``empathy gate record``.

Registered on the main app in :mod:`empathy.cli.app`; the work is done by
:mod:`empathy.ci_action`, this module only maps options, files and exit
codes.
"""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from empathy.ci_action.github import (
    annotation_commands,
    sarif_report,
    write_outputs,
    write_step_summary,
    write_text,
)
from empathy.ci_action.report import build_markdown
from empathy.cli._common import DbOpt, JsonOpt, RepoOpt, err, handle_errors, open_ws, out
from empathy.core.errors import ConfigError
from empathy.core.workspace import Workspace
from empathy.gate.decide import severity_rank
from empathy.gate.errors import GATE_FAILED_EXIT
from empathy.gate.evaluate import GateResult, decide_gate, gate_settings, record_outcome, report_json
from empathy.gate.state import load_state, merge_state, save_state, store_outcomes

__all__ = ["gate_app"]

EXIT_CODES_HELP = (
    "Exit codes: 0 the decision is below --fail-on; 10 the decision reached --fail-on "
    "(block, or warn/inconclusive under --fail-on warn); 11 the --state-file is corrupted or unreadable; "
    "8 a revision is missing or not in the history (shallow clone: fetch-depth: 0); 3 the repository has "
    "no commits; 2 not a git repository; 4 bad option or setting; 5 store error; 70 internal error."
)

gate_app = typer.Typer(
    help=(
        "Trust-aware deployment gate: pass, warn, block or inconclusive for a change, with the reasons.\n\n"
        "`empathy gate --base REF --head REF` scores the deploy by its commits (expected bug-introducing "
        "commits) and compares it with the repository's past deploys (release-tag ranges): risk 0.90 means "
        "riskier than 90% of them. History signals are the reasons; the track record (recorded deploy "
        "outcomes, else what the release tags imply) moves the thresholds once it holds enough outcomes "
        "(an error budget). "
        "`empathy gate record` feeds the record.\n\n" + EXIT_CODES_HELP
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)


class FailOn(StrEnum):
    block = "block"
    warn = "warn"
    never = "never"


class Outcome(StrEnum):
    success = "success"
    failure = "failure"
    rollback = "rollback"


StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-file",
        envvar="EMPATHY_GATE_STATE_FILE",
        help="JSON file holding the deploy track record between CI runs (kept by actions/cache or a branch).",
    ),
]
ServiceOpt = Annotated[
    str | None,
    typer.Option(help="The service whose deploy record counts (default: the `service` setting, else the repository)."),
]


def _open(path: Path, database_url: str | None, state_file: Path | None) -> tuple[Workspace, list[dict[str, Any]]]:
    outcomes = load_state(state_file) if state_file is not None else []  # refuse a bad file before any work
    ws = open_ws(path, database_url)
    if outcomes:
        merge_state(ws.store, ws.repo_id, outcomes)
    return ws, outcomes


def _print_result(result: GateResult, fail_on: FailOn) -> None:
    report = result.report
    d = report["decision"]
    colour = {"pass": "green", "warn": "yellow", "block": "red", "inconclusive": "magenta"}[result.decision]
    mapped = f" (treated as {d['treated_as']})" if result.decision == "inconclusive" else ""
    risk = "no risk figure" if result.risk is None else f"risk {result.risk:.2f}"
    out.print(
        f"[bold {colour}]{result.decision.upper()}[/]{mapped}: {risk} "
        f"(warn at {d['thresholds']['warn']:.2f}, block at {d['thresholds']['block']:.2f}); fail-on {fail_on.value}",
        highlight=False,
    )
    subj = report["subject"]
    out.print(
        f"{subj['base'][:12]}..{subj['head'][:12]}: {subj['commits']} commits, {subj['files']} files, "
        f"+{subj['added']}/-{subj['deleted']}",
        highlight=False,
    )
    for reason in report["reasons"]:
        out.print(f"  - {escape(reason)}", highlight=False)
    track = report["track_record"]
    used = track["used"]
    out.print(
        "track record: "
        + (
            f"{track['source']}, N={used['n']}, success rate {used['success_rate']:.0%} "
            f"(lower bound {used['lower_bound']:.0%}, decayed n={used['effective_n']:.1f})"
            if used
            else "none yet (N=0)"
        ),
        highlight=False,
    )
    for note in report["data_quality"]["notes"]:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    for step in report["next_steps"]:
        out.print(f"-> {escape(step)}", highlight=False)


@gate_app.callback()
@handle_errors
def gate(
    ctx: typer.Context,
    base: Annotated[
        str | None, typer.Option(help="The deployed (or target-branch) commit the change starts from.")
    ] = None,
    head: Annotated[str, typer.Option(help="The commit to deploy.")] = "HEAD",
    path: RepoOpt = Path("."),
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", envvar="EMPATHY_GATE_FAIL_ON", help="Exit 10 at this decision or worse.")
    ] = FailOn.block,
    json_output: JsonOpt = False,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report (the source of truth) here.")] = None,
    sarif: Annotated[Path | None, typer.Option(help="Write a SARIF 2.1.0 file for code scanning here.")] = None,
    github: Annotated[
        bool | None,
        typer.Option(
            "--github/--no-github",
            help="Annotations, step summary and outputs for GitHub Actions (default: when GITHUB_ACTIONS=true).",
        ),
    ] = None,
    state_file: StateOpt = None,
    service: ServiceOpt = None,
    environment: Annotated[str | None, typer.Option(help="The target environment, kept in the report.")] = None,
    now: Annotated[
        int | None,
        typer.Option(
            help="Reference time (unix seconds) of the track record; default: the head commit or the "
            "newest outcome, so reruns give the same report."
        ),
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Decide pass, warn, block or inconclusive for the change BASE..HEAD, with the reasons."""
    if ctx.invoked_subcommand is not None:
        return
    if base is None:
        raise ConfigError("give --base, the commit the change starts from", "e.g. `empathy gate --base origin/main`")
    ws, _outcomes = _open(path, database_url, state_file)
    overrides: dict[str, Any] = {"service": service, "environment": environment, "now": now}
    result = decide_gate(ws, base, head, overrides)
    on_github = github if github is not None else os.environ.get("GITHUB_ACTIONS") == "true"
    text = report_json(result.report)
    if report is not None:
        write_text(report, text)
    if sarif is not None:
        write_text(sarif, json.dumps(sarif_report(result.report), indent=2, sort_keys=True) + "\n")
    if json_output:
        print(text, end="")
    else:
        _print_result(result, fail_on)
    if on_github:
        if not json_output:
            for line in annotation_commands(result.report["annotations"]):
                print(line)
        write_step_summary(build_markdown(result.report, str(report) if report else None))
        write_outputs(
            {
                "decision": result.decision,
                "treated-as": result.treated_as,
                "risk": "" if result.risk is None else f"{result.risk:.4f}",
                "trust": "" if result.trust is None else f"{result.trust:.4f}",
                "report-path": str(report.resolve()) if report else "",
                "sarif-path": str(sarif.resolve()) if sarif else "",
                "summary": result.summary,
            }
        )
    err.print(
        f"decided in {result.run['seconds']:.1f} s ({result.run['new_commits']} new commits, "
        f"{result.run['fixes_linked_now']} fixes linked now{', patterns re-mined' if result.run['mined'] else ''}; "
        + ", ".join(f"{name} {sec:.1f} s" for name, sec in result.run["phases"].items())
        + ")",
        highlight=False,
    )
    if fail_on is not FailOn.never:
        threshold = {"warn": 1, "block": 2}[fail_on.value]
        inconclusive_as = result.report["settings"]["inconclusive_as"]
        if severity_rank(result.decision, inconclusive_as) >= threshold:
            raise typer.Exit(GATE_FAILED_EXIT)


@gate_app.command("record")
@handle_errors
def gate_record(
    outcome: Annotated[Outcome, typer.Option(help="What happened to the deploy.")],
    ref: Annotated[str, typer.Option(help="The deployed commit.")],
    path: RepoOpt = Path("."),
    service: ServiceOpt = None,
    at: Annotated[int | None, typer.Option(help="When it happened (unix seconds; default: now).")] = None,
    state_file: StateOpt = None,
    json_output: JsonOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Record a deploy outcome (success, failure or rollback) in the track record the gate reads.

    With --state-file the file is read first and written back with the new outcome, so the
    record survives ephemeral CI runners; with a team server's --database-url it is stored there.
    Exit codes: 0 recorded; 11 the state file is corrupted or unreadable; 8 unknown --ref.
    """
    ws, _outcomes = _open(path, database_url, state_file)
    when = int(time.time()) if at is None else at
    settings = gate_settings(ws)
    subject = service or settings.service or ws.repo.key
    estimate = record_outcome(ws, outcome.value, ref, service=subject, at=when)
    if state_file is not None:
        save_state(state_file, store_outcomes(ws.store, ws.repo_id))
    payload = {
        "service": subject,
        "outcome": outcome.value,
        "at": when,
        "track_record": {
            "n": estimate.raw_n,
            "effective_n": round(estimate.effective_n, 4),
            "success_rate": round(estimate.mean, 4),
            "lower_bound": round(estimate.lower, 4),
        },
        "state_file": str(state_file) if state_file else None,
    }
    if json_output:
        print(json.dumps(payload, indent=2, sort_keys=True))
        return
    out.print(
        f"recorded {outcome.value} for {escape(subject)}: track record N={estimate.raw_n}, success rate "
        f"{estimate.mean:.0%} (lower bound {estimate.lower:.0%}, decayed n={estimate.effective_n:.1f})"
        + (f"; saved to {escape(str(state_file))}" if state_file else ""),
        highlight=False,
    )
