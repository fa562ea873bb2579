"""The track record a gate decision rests on, always with its sample size.

Two sources, in order of preference:

* **recorded**: deploy outcomes fed by ``empathy gate record`` (or the
  webhook service) into the trust ledger, subject kind ``service``, subject
  the service name (the repository key by default), outcomes
  ``deploy_success``, ``deploy_failure`` and ``rollback`` (a rollback counts
  double, see :data:`empathy.core.trust.DEFAULT_OUTCOME_WEIGHTS`);
* **inferred** from the history when nothing is recorded: each release tag
  is a deploy, and it failed when within ``hotfix_days`` after it a commit
  reverted one of its commits, or a bug fix changed lines that one of its
  commits introduced (a B-SZZ link).  A release whose window has not
  elapsed yet is not counted.

Both fold into the same decayed Beta estimate as the ledger
(:class:`empathy.core.trust.TrustEstimate`), as of a reference time taken
from the inputs (the head commit, or the newest recorded outcome), never from
the wall clock: the same inputs give the same estimate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import git
from sqlalchemy import select as sa_select
from sqlmodel import col

from empathy.core.history.szz import SzzLink
from empathy.core.history.view import DAY, History
from empathy.core.repo import RepoInfo
from empathy.core.store.store import Store
from empathy.core.store.tables import OutcomeRow
from empathy.core.trust import TrustEstimate, fold_outcomes

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = [
    "DEPLOY_KIND",
    "DEPLOY_OUTCOMES",
    "InferredRelease",
    "TrackRecord",
    "fold",
    "infer_releases",
    "last_deployed",
    "newest_outcome_at",
    "recorded_outcomes",
    "release_tags",
]

#: Deploy outcomes live under this ledger subject kind.
DEPLOY_KIND = "service"
#: The CLI's words for outcomes -> the ledger's outcome names.
DEPLOY_OUTCOMES = {"success": "deploy_success", "failure": "deploy_failure", "rollback": "rollback"}

_REVERT = re.compile(r"This reverts commit ([0-9a-f]{7,40})")


@dataclass(frozen=True)
class InferredRelease:
    """One release tag judged from the history after it."""

    tag: str
    sha: str
    at: int
    commits: int
    failed: bool
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "sha": self.sha,
            "at": self.at,
            "commits": self.commits,
            "failed": self.failed,
            "why": self.why,
        }


@dataclass
class TrackRecord:
    """The estimate the gate uses, where it came from, and both sources' numbers."""

    source: str  # "recorded" | "inferred" | "none"
    estimate: TrustEstimate | None
    recorded: TrustEstimate
    inferred: TrustEstimate
    releases: list[InferredRelease] = field(default_factory=list)
    failures_recorded: int = 0
    last_failure_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        def est(e: TrustEstimate | None) -> dict[str, Any] | None:
            if e is None:
                return None
            return {
                "n": e.raw_n,
                "effective_n": round(e.effective_n, 4),
                "success_rate": round(e.mean, 4),
                "lower_bound": round(e.lower, 4),
                "failure_rate": round(1.0 - e.mean, 4),
                "last_at": e.last_at,
            }

        failed = [r for r in self.releases if r.failed]
        return {
            "source": self.source,
            "as_of": int(self.recorded.as_of),
            "used": est(self.estimate),
            "recorded": {
                **(est(self.recorded) or {}),
                "failures": self.failures_recorded,
                "last_failure_at": self.last_failure_at,
            },
            "inferred": {
                **(est(self.inferred) or {}),
                "unit": "release tag",
                "releases": len(self.releases),
                "failed": len(failed),
                "recent": [r.to_dict() for r in self.releases[-5:]],
            },
        }


def fold(
    kind: str, subject: str, rows: Iterable[tuple[bool, float, int]], as_of: float, half_life_days: float
) -> TrustEstimate:
    """The ledger's decayed Beta(1, 1) estimate of ``rows`` (success, weight, time) as of ``as_of``."""
    return fold_outcomes(kind, subject, rows, as_of, half_life_days)

def recorded_outcomes(store: Store, repo_id: int, service: str) -> list[tuple[bool, float, int]]:
    """Every deploy outcome recorded for ``service``: (success, weight, time), oldest first."""
    stmt = (
        sa_select(col(OutcomeRow.success), col(OutcomeRow.weight), col(OutcomeRow.at))
        .where(
            col(OutcomeRow.repo_id) == repo_id,
            col(OutcomeRow.subject_kind) == DEPLOY_KIND,
            col(OutcomeRow.subject) == service,
        )
        .order_by(col(OutcomeRow.at), col(OutcomeRow.id))
    )
    with store.engine.connect() as conn:
        return [(bool(ok), float(w), int(t)) for ok, w, t in conn.execute(stmt)]


def newest_outcome_at(store: Store, repo_id: int, service: str) -> int | None:
    rows = recorded_outcomes(store, repo_id, service)
    return max((t for _ok, _w, t in rows), default=None)


def last_deployed(ws: Workspace, environment: str, exclude: str = "") -> str | None:
    """The newest commit recorded as deployed successfully to ``environment`` that this checkout has.

    The webhook service starts a deployment's change from it (a protection
    rule names only the commit to deploy).  ``exclude`` (the commit being
    deployed) never counts as its own base.
    """
    o = OutcomeRow
    stmt = (
        sa_select(col(o.detail))
        .where(col(o.repo_id) == ws.repo_id, col(o.subject_kind) == DEPLOY_KIND, col(o.outcome) == "deploy_success")
        .order_by(col(o.at).desc(), col(o.id).desc())
        .limit(50)
    )
    with ws.store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    for (detail,) in rows:
        detail = detail or {}
        sha = str(detail.get("ref") or "")
        if detail.get("environment") != environment or sha == exclude:
            continue
        if re.fullmatch(r"[0-9a-fA-F]{7,64}", sha):
            try:
                ws.repo.git_repo.commit(sha)
            except (ValueError, git.BadName):
                continue
            return sha
    return None


def release_tags(repo: RepoInfo, pattern: str) -> list[tuple[str, str]]:
    """(tag, peeled commit sha) of every tag matching ``pattern``."""
    raw: str = repo.git.for_each_ref("refs/tags", "--format=%(refname:short)\t%(objectname)\t%(*objectname)")
    wanted = re.compile(pattern)
    out: list[tuple[str, str]] = []
    for line in raw.splitlines():
        name, obj, peeled = ([*line.split("\t"), "", "", ""])[:3]
        if wanted.search(name):
            out.append((name, peeled or obj))
    return out


def infer_releases(
    repo: RepoInfo,
    history: History,
    links: list[SzzLink],
    tag_pattern: str,
    hotfix_days: int,
    as_of: int,
) -> list[InferredRelease]:
    """Each release tag in the history whose hotfix window ended by ``as_of``, oldest first.

    A release's commits are the non-merge commits after the previous release
    tag up to it (by commit time, on the ingested history).  It failed when a
    commit within ``hotfix_days`` after the tag reverts one of them (the
    ``This reverts commit`` line git writes) or is a fix that B-SZZ links to
    one of them.
    """
    index = {c.sha: c for c in history.commits}
    tagged = sorted(
        (
            (index[sha].committed_at, index[sha].index, tag, sha)
            for tag, sha in release_tags(repo, tag_pattern)
            if sha in index
        ),
    )
    if not tagged:
        return []
    blamed_by: dict[str, set[str]] = {}
    for link in links:
        blamed_by.setdefault(link.fix_sha, set()).add(link.inducing_sha)
    commits = [c for c in history.commits if not c.is_merge]
    times = [c.committed_at for c in commits]
    import bisect

    window = hotfix_days * DAY
    out: list[InferredRelease] = []
    previous_at: int | None = None
    for at, _idx, tag, sha in tagged:
        start = previous_at
        previous_at = at
        if start is None or at == start:
            continue  # the first tag has no known start; two tags on one commit are one release
        if at + window > as_of:
            continue
        lo, hi = bisect.bisect_right(times, start), bisect.bisect_right(times, at)
        members = {c.sha for c in commits[lo:hi]}
        if not members:
            continue
        end = bisect.bisect_right(times, at + window)
        why = ""
        for later in commits[hi:end]:
            reverted = next((m for m in _REVERT.findall(later.message) if any(s.startswith(m) for s in members)), None)
            if reverted:
                why = f"{later.sha[:12]} reverts {reverted[:12]}"
                break
            if history.is_fix(later) and blamed_by.get(later.sha, set()) & members:
                why = f"fix {later.sha[:12]} repairs lines from this release"
                break
        out.append(InferredRelease(tag=tag, sha=sha, at=at, commits=len(members), failed=bool(why), why=why))
    return out
