"""Backtest the deployment gate: replay a repository's history as if each merge to main were a deploy.

Usage:
    python bench/eval_gate.py REPO [--database-url URL] [--max-deploys 150] [--years 2] [--gap-years 1]

Protocol:

* **Deploys**: the merge commits on HEAD's first-parent line (one merged pull
  request each); a deploy's change is what the merge brings in (``M^1..M``:
  the commits reachable from its other parents and not from the line before).
* **Window**: deploys in the ``--years`` before ``newest commit - gap-years``,
  so every deploy had at least a year for its bugs to be found and fixed.
  Up to ``--max-deploys`` are scored, evenly spaced (each costs a model fit).
* **Truth** ("later needed a fix"): a commit of the deploy is named by a B-SZZ
  link from any later fix, on source files: the labels the change model is
  trained on (``empathy.core.predict.jit.labels``).  Every fix is linked first
  (persisted; minutes on the first run).
* **The gate at each deploy** sees only what was known then: the history up to
  the merge (``History.as_of``), labels from fixes committed by then, and a
  track record of the earlier deploys in the replay whose outcome was known by
  then (failed when a fix within ``hotfix_days`` blamed one of their commits,
  held otherwise).  Its risk is the policy of ``empathy.gate.deploys``: the
  deploy's commits scored by one change model trained on the commits before it
  (``score_history`` on the history as of the merge), summed to the expected
  number of bug-introducing commits, and its percentile among the previous
  ``MAX_PAST`` deploys of the replay scored by the same model (the replay's
  deploys are merges, so its past deploys are the earlier merges; the product
  compares with release ranges where a repository tags them).  The history
  signals are left out (reasons only at the default ``signal_weight`` 0; their
  patterns are mined from the whole history and would leak the future).
  Thresholds and the error budget are the defaults of
  ``[tool.empathy.plugins.gate]``.
* **Baseline**: a gate that blocks (and warns on) the largest changes (lines
  added + deleted) at the same block (and warn-or-worse) rate.

Prints a Markdown table: rates, and the share of blocked / warned deploys that
later needed a fix, against the baseline and the base rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from empathy.core.context import is_source_path
from empathy.core.history.szz import szz_links
from empathy.core.history.view import DAY
from empathy.core.predict.jit import ensure_szz, labels
from empathy.core.predict.risk import score_history
from empathy.core.workspace import open_workspace
from empathy.gate.decide import combine_risk, decide, error_budget
from empathy.gate.deploys import MAX_PAST, MIN_PAST, percentile_among
from empathy.gate.settings import GateSettings
from empathy.gate.track_record import fold

YEAR = 365 * DAY


@dataclass
class Deploy:
    sha: str
    parent: str
    at: int
    members: list[str]
    size: int = 0
    needed_fix: bool = False
    failed_at: int | None = None  # when a fix within hotfix_days blamed it (known from then on)
    decision: str = ""
    risk: float = 0.0
    expected: float = 0.0
    warn: float = 0.0
    block: float = 0.0


def _merges(repo_git: object) -> list[Deploy]:
    """First-parent merges with the commits each brings in (one `git log`, one walk)."""
    raw: str = repo_git.log("--format=%H %ct %P", "HEAD")  # type: ignore[attr-defined]
    parents: dict[str, list[str]] = {}
    when: dict[str, int] = {}
    for line in raw.splitlines():
        sha, ct, *ps = line.split()
        parents[sha], when[sha] = ps, int(ct)
    chain: list[str] = repo_git.rev_list("--first-parent", "--reverse", "HEAD").split()  # type: ignore[attr-defined]
    assigned: set[str] = set()
    deploys: list[Deploy] = []
    for c in chain:
        stack, members = [c], []
        while stack:
            x = stack.pop()
            if x in assigned or x not in parents:
                continue
            assigned.add(x)
            members.append(x)
            stack.extend(parents[x])
        if len(parents[c]) > 1:
            deploys.append(Deploy(sha=c, parent=parents[c][0], at=when[c], members=[m for m in members if m != c]))
    return deploys


def _share(flags: list[bool]) -> str:
    return "-" if not flags else f"{sum(flags) / len(flags):.3f} ({sum(flags)}/{len(flags)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--max-deploys", type=int, default=150)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--gap-years", type=float, default=1.0)
    args = parser.parse_args()
    started = time.perf_counter()
    ws = open_workspace(args.repo, {"database_url": args.database_url} if args.database_url else None)
    ws.ingest()
    history = ws.history()
    settings = GateSettings()

    @cache
    def is_py(path: str) -> bool:
        return path.endswith(".py") and is_source_path(ws.settings, path)

    left = ensure_szz(ws.repo, ws.store, ws.repo_id, history, ws.is_source, 10**9,
                      progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    links = szz_links(ws.store, ws.repo_id)
    commit_time = {c.sha: c.committed_at for c in history.commits}
    truth = labels(links, commit_time, known_by=history.now, is_source=is_py)
    by_sha = {c.sha: c for c in history.commits}
    deploys = _merges(ws.repo.git)
    for d in deploys:
        d.size = sum(t.churn for m in d.members if m in by_sha for t in by_sha[m].touches)
        d.needed_fix = any(m in truth for m in d.members)
    # When each deploy's failure became known: the first fix within hotfix_days that blames it.
    member_of = {m: d for d in deploys for m in d.members}
    window_s = settings.hotfix_days * DAY
    for link in links:
        if not is_py(link.path):
            continue
        d = member_of.get(link.inducing_sha)
        fixed_at = commit_time.get(link.fix_sha)
        if d is None or fixed_at is None or not (d.at <= fixed_at <= d.at + window_s):
            continue
        d.failed_at = fixed_at if d.failed_at is None else min(d.failed_at, fixed_at)

    end = history.now - int(args.gap_years * YEAR)
    start = end - int(args.years * YEAR)
    window = [d for d in deploys if start <= d.at <= end]
    step = max(1, len(window) // args.max_deploys)
    scored = window[::step][: args.max_deploys]
    print(f"{args.repo}: {len(deploys)} merges on the first-parent line, {len(window)} in the window, "
          f"scoring {len(scored)}; {len(truth)} commits later blamed by a fix ({left} fixes unlinked)",
          file=sys.stderr)
    for i, d in enumerate(scored, 1):
        past = history.as_of(d.at)
        model = score_history(ws.store, ws.repo_id, past, is_py, train_before=d.at)
        mine = [m for m in d.members if m in model.probability]
        expected = sum(model.probability[m] for m in mine)
        earlier = [e for e in deploys if e.at < d.at][-MAX_PAST:]
        past_scores = [sum(model.probability.get(m, 0.0) for m in e.members) for e in earlier]
        scorable = not model.fallback and len(earlier) >= MIN_PAST
        percentile = percentile_among(expected, past_scores) if scorable else None
        d.expected = expected
        risk, _ = combine_risk(percentile, [], settings.signal_weight)
        # Earlier deploys whose outcome was known at this one: failed once a fix blamed them
        # within the window, held once the window passed without one.
        record: list[tuple[bool, float, int]] = []
        for e in deploys:
            if e.failed_at is not None and e.failed_at <= d.at:
                record.append((False, 1.0, e.failed_at))
            elif e.failed_at is None and e.at + window_s <= d.at:
                record.append((True, 1.0, e.at + window_s))
        est = fold("service", "replay", record, d.at, settings.half_life_days)
        # the observed failure rate (decayed failures over decayed n, no prior), as the gate uses it
        observed = max(0.0, est.beta - 1.0) / est.effective_n if est.raw_n and est.effective_n > 0 else None
        budget = error_budget(observed, est.effective_n, settings)
        d.decision, d.risk, d.warn, d.block = decide(risk, budget, scorable), risk, budget.warn, budget.block
        if i % 10 == 0:
            print(f"  {i}/{len(scored)} scored", file=sys.stderr, flush=True)

    n = len(scored)
    base_rate = sum(d.needed_fix for d in scored) / max(n, 1)
    blocked = [d for d in scored if d.decision == "block"]
    warned = [d for d in scored if d.decision in ("warn", "block")]
    inconclusive = [d for d in scored if d.decision == "inconclusive"]
    by_size = sorted(scored, key=lambda d: (-d.size, d.sha))
    size_block = by_size[: len(blocked)]
    size_warn = by_size[: len(warned)]
    print()
    print(f"**{Path(args.repo).name}**: {n} deploys (merges) from "
          f"{time.strftime('%Y-%m-%d', time.gmtime(start))} to {time.strftime('%Y-%m-%d', time.gmtime(end))}; "
          f"{base_rate:.3f} of them later needed a fix (B-SZZ)")
    print()
    print("| gate | block rate | needed a fix, of blocked | warn-or-block rate | needed a fix, of warned or blocked |")
    print("|---|---:|---:|---:|---:|")
    print(f"| empathy gate (expected buggy commits vs past deploys) | {len(blocked) / max(n, 1):.3f} | "
          f"{_share([d.needed_fix for d in blocked])} | {len(warned) / max(n, 1):.3f} | "
          f"{_share([d.needed_fix for d in warned])} |")
    print(f"| largest changes, same rates | {len(size_block) / max(n, 1):.3f} | "
          f"{_share([d.needed_fix for d in size_block])} | {len(size_warn) / max(n, 1):.3f} | "
          f"{_share([d.needed_fix for d in size_warn])} |")
    print(f"| any deploy (base rate) | | {base_rate:.3f} | | {base_rate:.3f} |")
    print()
    print(f"inconclusive: {len(inconclusive)}; passed: {sum(d.decision == 'pass' for d in scored)}; "
          f"recall of deploys that needed a fix: blocked {sum(d.needed_fix for d in blocked)}, warned or blocked "
          f"{sum(d.needed_fix for d in warned)} of {sum(d.needed_fix for d in scored)}")
    if scored:
        print(f"thresholds used: warn median {statistics.median(d.warn for d in scored):.3f} "
              f"(range {min(d.warn for d in scored):.3f}-{max(d.warn for d in scored):.3f}), block median "
              f"{statistics.median(d.block for d in scored):.3f}; replayed deploys failing within "
              f"{settings.hotfix_days} days: {sum(d.failed_at is not None for d in deploys)} of {len(deploys)}")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
