"""The gate's state file: the deploy track record, kept by the workflow between runs.

CI runners are ephemeral.  Without a team server (``EMPATHY_DATABASE_URL``),
the track record survives in a small JSON file the workflow restores and
saves (``actions/cache``, or a commit on a state branch; see docs/gate.md).
The history itself needs no state: the gate re-ingests it (or a cached
store speeds that up).

Format (sorted keys, one outcome per entry, oldest first)::

    {"format": "empathy-gate-state", "version": 1,
     "outcomes": [{"id": ..., "subject_kind": "service", "subject": ..., "outcome": "deploy_success",
                   "at": 1700000000, "weight": 1.0, "detail": {"ref": ...}}]}

Before a decision the file's outcomes are merged into the store (by ``id``,
so merging twice adds nothing); after ``gate record`` the store's outcomes
are written back atomically.  A file that is not valid JSON, is not a state
file, or holds a malformed outcome is refused whole (exit code 11), never
half-read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from empathy.core.store.store import Store
from empathy.core.store.tables import OutcomeRow
from empathy.core.trust import FAILURE_OUTCOMES, SUCCESS_OUTCOMES
from empathy.gate.errors import GateStateError
from empathy.gate.track_record import DEPLOY_KIND

__all__ = ["STATE_FORMAT", "STATE_VERSION", "load_state", "merge_state", "outcome_id", "save_state", "store_outcomes"]

STATE_FORMAT = "empathy-gate-state"
STATE_VERSION = 1


def outcome_id(subject_kind: str, subject: str, outcome: str, at: int, ref: str) -> str:
    """A stable id for one outcome, so the file and the store can be merged without duplicates."""
    raw = json.dumps([subject_kind, subject, outcome, int(at), ref], separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def _bad(path: Path, why: str) -> GateStateError:
    return GateStateError(
        f"gate state file {path} is unreadable: {why}",
        "restore a good copy, or delete the file to start a new track record (the history is not affected)",
    )


def _check_outcome(path: Path, i: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _bad(path, f"outcome #{i} is not an object")
    try:
        kind, subject, outcome = str(item["subject_kind"]), str(item["subject"]), str(item["outcome"])
        at, weight = item["at"], item["weight"]
        detail = item.get("detail") or {}
    except KeyError as exc:
        raise _bad(path, f"outcome #{i} has no {exc.args[0]!r}") from None
    if kind != DEPLOY_KIND or not subject:
        raise _bad(path, f"outcome #{i} is not a deploy outcome")
    if outcome not in SUCCESS_OUTCOMES | FAILURE_OUTCOMES:
        raise _bad(path, f"outcome #{i} has an unknown outcome {outcome!r}")
    if isinstance(at, bool) or not isinstance(at, int):
        raise _bad(path, f"outcome #{i} has a bad time {at!r}")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight <= 0:
        raise _bad(path, f"outcome #{i} has a bad weight {weight!r}")
    if not isinstance(detail, dict):
        raise _bad(path, f"outcome #{i} has a bad detail")
    ref = str(detail.get("ref", ""))
    return {
        "id": str(item.get("id") or outcome_id(kind, subject, outcome, at, ref)),
        "subject_kind": kind,
        "subject": subject,
        "outcome": outcome,
        "at": at,
        "weight": float(weight),
        "detail": detail,
    }


def load_state(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The outcomes in the state file; an absent or empty file is a new, empty record."""
    target = Path(path)
    if target.is_dir():
        raise _bad(target, "it is a directory")
    if not target.exists():
        return []
    try:
        raw = target.read_bytes()
    except OSError as exc:
        raise _bad(target, exc.strerror or str(exc)) from None
    if not raw.strip():
        return []
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(target, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise _bad(target, f"not an {STATE_FORMAT} file")
    if data.get("version") != STATE_VERSION:
        raise _bad(target, f"version {data.get('version')!r}, this empathy reads version {STATE_VERSION}")
    outcomes = data.get("outcomes")
    if not isinstance(outcomes, list):
        raise _bad(target, "'outcomes' is not a list")
    return [_check_outcome(target, i, item) for i, item in enumerate(outcomes)]


def _row_id(row: OutcomeRow) -> str:
    detail = row.detail or {}
    return str(
        detail.get("state_id")
        or outcome_id(row.subject_kind, row.subject, row.outcome, row.at, str(detail.get("ref", "")))
    )


def store_outcomes(store: Store, repo_id: int) -> list[dict[str, Any]]:
    """Every deploy outcome in the store for the repository, as state entries, oldest first."""
    with store.session() as s:
        rows = s.exec(
            select(OutcomeRow)
            .where(OutcomeRow.repo_id == repo_id, OutcomeRow.subject_kind == DEPLOY_KIND)
            .order_by(col(OutcomeRow.at), col(OutcomeRow.id))
        ).all()
    return [
        {
            "id": _row_id(r),
            "subject_kind": r.subject_kind,
            "subject": r.subject,
            "outcome": r.outcome,
            "at": int(r.at),
            "weight": float(r.weight),
            "detail": {k: v for k, v in (r.detail or {}).items() if k != "state_id"},
        }
        for r in rows
    ]


def merge_state(store: Store, repo_id: int, outcomes: list[dict[str, Any]]) -> int:
    """Add the file's outcomes the store does not have yet; returns how many were added."""
    known = {o["id"] for o in store_outcomes(store, repo_id)}
    added = 0
    with store.session() as s:
        for o in outcomes:
            if o["id"] in known:
                continue
            known.add(o["id"])
            s.add(
                OutcomeRow(
                    repo_id=repo_id,
                    subject_kind=o["subject_kind"],
                    subject=o["subject"],
                    outcome=o["outcome"],
                    success=o["outcome"] in SUCCESS_OUTCOMES,
                    weight=o["weight"],  # already multiplied when first recorded
                    at=o["at"],
                    detail={**o["detail"], "state_id": o["id"]},
                )
            )
            added += 1
        s.commit()
    return added


def save_state(path: str | os.PathLike[str], outcomes: list[dict[str, Any]]) -> None:
    """Write the state file atomically (a crash leaves the old file, never half a new one)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {"format": STATE_FORMAT, "version": STATE_VERSION, "outcomes": outcomes}, indent=2, sort_keys=True
    )
    fd, tmp = tempfile.mkstemp(prefix=".empathy-state-", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
