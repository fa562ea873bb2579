"""Inbound GitHub: verified, de-duplicated deliveries worked off a durable queue.

``POST /github`` checks ``X-Hub-Signature-256`` on the raw body, stores the
delivery under its ``X-GitHub-Delivery`` id (a redelivery of the same id is
acknowledged and dropped) and answers at once; :class:`GithubProcessor`
works the queue in the background:

- ``push``: incremental ingest of the mapped local checkout (and mining), then
  ``analysis.completed`` and one ``pattern.discovered`` per new pattern;
- ``deployment_status``: ``success`` -> ``deploy_success``, ``failure`` /
  ``error`` -> ``deploy_failure`` in the trust ledger (subject kind
  ``deploy``, subject the environment);
- ``deployment_protection_rule``: run the gate on the deployment's sha and
  answer the callback URL (pinned to ``github_api_url``) with approved or
  rejected and the report's summary; once per (run id, environment).

A repository is mapped to a checkout by ``repositories = ["owner/name=/path"]``
(``*`` for any).  The service does not fetch: keep the checkout current
(``git fetch`` in a cron or the deploy job) and the ingest reads its refs.
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from empathy.core.model import Event
from empathy.core.store.store import Store
from empathy.core.store.tables import GateDecisionRow, GithubDeliveryRow, GithubGateAnswerRow
from empathy.webhooks.config import ServiceConfig

__all__ = ["GateOutcome", "GateRunner", "GithubProcessor", "default_gate_runner", "parse_callback"]

log = logging.getLogger("empathy.webhooks.github")

#: GitHub limits a protection-rule comment to this many characters.
COMMENT_LIMIT = 1024
_CALLBACK_PATH = re.compile(r"^/repos/[^/]+/[^/]+/actions/runs/(\d+)/deployment_protection_rule$")


class GateOutcome(Protocol):
    """What the gate returns (:class:`empathy.gate.GateResult`); read-only, so tests may pass their own."""

    @property
    def decision(self) -> str: ...
    @property
    def risk(self) -> float | None: ...
    @property
    def trust(self) -> float | None: ...
    @property
    def report(self) -> dict[str, Any]: ...
    @property
    def summary(self) -> str: ...


#: ``(repo_path, base, head, overrides) -> GateOutcome``; injectable so tests pass their own.
GateRunner = Callable[[Path, str, str, dict[str, Any] | None], GateOutcome]


def default_gate_runner(repo_path: Path, base: str, head: str, overrides: dict[str, Any] | None) -> GateOutcome:
    """The deployment gate's use-case (:func:`empathy.gate.evaluate_gate`) on the mapped checkout."""
    from empathy.gate import evaluate_gate

    result: GateOutcome = evaluate_gate(repo_path, base, head, overrides=overrides)
    return result


def parse_callback(url: str, api_url: str) -> int:
    """The run id of a protection-rule callback URL, or ValueError unless it is on ``api_url``."""
    parts, base = urlsplit(url), urlsplit(api_url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or parts.query or parts.fragment:
        raise ValueError(f"callback URL {url!r} is not on {api_url}")
    path = parts.path
    prefix = base.path.rstrip("/")
    if prefix:
        if not path.startswith(prefix + "/"):
            raise ValueError(f"callback URL {url!r} is not on {api_url}")
        path = path[len(prefix) :]
    match = _CALLBACK_PATH.match(path)
    if match is None:
        raise ValueError(f"callback URL {url!r} is not a deployment protection rule callback")
    return int(match.group(1))


class GithubProcessor:
    """Stores deliveries and works them off; see the module docstring."""

    def __init__(
        self,
        config: ServiceConfig,
        store: Store,
        emit: Callable[[Event], object],
        gate_runner: GateRunner | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.emit = emit
        self.gate_runner = gate_runner or default_gate_runner
        self.transport = transport

    # -- the queue ------------------------------------------------------------
    def receive(self, delivery: str, event: str, body: bytes) -> bool:
        """Queue a verified delivery; False when this delivery id was seen before."""
        try:
            with self.store.engine.begin() as conn:
                conn.execute(
                    insert(GithubDeliveryRow).values(
                        delivery=delivery,
                        event=event,
                        status="queued",
                        body=body.decode("utf-8", errors="replace"),
                        received_at=time.time(),
                        result={},
                    )
                )
        except IntegrityError:
            return False
        return True

    def requeue_stale(self, older_than: float = 600.0) -> int:
        """Put back deliveries left ``processing`` by a process that died (run at start-up)."""
        g = GithubDeliveryRow
        with self.store.engine.begin() as conn:
            return int(
                conn.execute(
                    update(g)
                    .where(col(g.status) == "processing", col(g.received_at) < time.time() - older_than)
                    .values(status="queued")
                ).rowcount
            )

    def process_pending(self, limit: int = 10) -> int:
        """Claim queued deliveries (``SKIP LOCKED`` on PostgreSQL) and handle each; return how many."""
        g = GithubDeliveryRow
        due = (
            sa_select(col(g.id))
            .where(col(g.status) == "queued")
            .order_by(col(g.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.store.engine.begin() as conn:
            rows = conn.execute(
                update(g)
                .where(col(g.id).in_(due.scalar_subquery()))
                .values(status="processing")
                .returning(col(g.id), col(g.event), col(g.body))
            ).all()
        for row_id, event, body in sorted(rows):
            status, result, error = "done", {}, None
            try:
                result = self.handle(str(event), json.loads(body))
            except Exception as exc:  # noqa: BLE001 - one bad delivery must not stop the queue
                status, error = "error", f"{type(exc).__name__}: {exc}"
                log.warning("GitHub %s delivery failed: %s\n%s", event, error, traceback.format_exc())
            with self.store.engine.begin() as conn:
                conn.execute(
                    update(g)
                    .where(col(g.id) == row_id)
                    .values(status=status, result=result, error=error, finished_at=time.time())
                )
        return len(rows)

    def handle(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        if event == "ping":
            return {"pong": True}
        if event == "push":
            return self._push(payload)
        if event == "deployment_status":
            return self._deployment_status(payload)
        if event == "deployment_protection_rule":
            return self._protection_rule(payload)
        return {"ignored": f"event {event!r} is not handled"}

    # -- helpers --------------------------------------------------------------
    def _workspace(self, payload: dict[str, Any]) -> Any:
        from empathy.core.workspace import open_workspace

        full_name = str((payload.get("repository") or {}).get("full_name") or "")
        path = self.config.checkout_for(full_name)
        if path is None:
            raise LookupError(f"no checkout is mapped for repository {full_name!r}; set repositories = [NAME=PATH]")
        return open_workspace(path, overrides={"database_url": self.config.database_url})

    # -- push -----------------------------------------------------------------
    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Ingest what is new; mining then announces ``pattern.discovered`` and ``analysis.completed``."""
        ws = self._workspace(payload)
        report = ws.ingest()
        result: dict[str, Any] = {"repo": ws.repo.key, "head": report.head, "commits_added": report.new_commits}
        if report.up_to_date or not self.config.mine_on_push:
            return result
        mined = ws.mine()
        result["patterns"] = len(mined.patterns)
        return result

    # -- deployment_status ------------------------------------------------------
    def _deployment_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A finished deployment becomes an outcome in the gate's track record (``record_outcome``)."""
        from empathy.gate.evaluate import record_outcome

        status = payload.get("deployment_status") or {}
        deployment = payload.get("deployment") or {}
        state = str(status.get("state") or "")
        outcome = {"success": "success", "failure": "failure", "error": "failure"}.get(state)
        if outcome is None:
            return {"ignored": f"state {state!r} is not an outcome"}
        environment = str(status.get("environment") or deployment.get("environment") or "default")
        sha = str(deployment.get("sha") or "")
        ws = self._workspace(payload)
        # GitHub's delivery id is not signed: the same signed status re-posted under new delivery ids
        # must not count again (it would spend the gate's error budget), so the status id decides.
        status_id = status.get("id")
        if status_id is not None and _status_recorded(self.store, ws.repo_id, status_id):
            return {"repeat": True, "deployment_status_id": status_id}
        estimate = record_outcome(
            ws,
            outcome,
            sha,
            detail={
                "environment": environment,
                "deployment_id": deployment.get("id"),
                "deployment_status_id": status_id,
                "state": state,
            },
        )
        return {"environment": environment, "outcome": outcome, "trust": estimate.mean, "n": estimate.effective_n}

    # -- deployment_protection_rule ---------------------------------------------
    def _base_for(self, ws: Any, environment: str, head: str) -> str:
        """The last sha deployed successfully to ``environment`` (known locally), else ``head``'s parent."""
        from empathy.gate.track_record import last_deployed

        return last_deployed(ws, environment, exclude=head) or f"{head}^"

    def _protection_rule(self, payload: dict[str, Any]) -> dict[str, Any]:
        callback = str(payload.get("deployment_callback_url") or "")
        run_id = parse_callback(callback, self.config.github_api_url)
        environment = str(payload.get("environment") or "")
        head = str((payload.get("deployment") or {}).get("sha") or "")
        if not environment or not re.fullmatch(r"[0-9a-fA-F]{7,64}", head):
            raise ValueError("the payload has no environment or no deployment sha")
        with self.store.engine.connect() as conn:
            answered = conn.execute(
                sa_select(GithubGateAnswerRow).where(
                    col(GithubGateAnswerRow.run_id) == run_id, col(GithubGateAnswerRow.environment) == environment
                )
            ).first()
        if answered is not None and answered.callback_status in (200, 204):
            return {"run_id": run_id, "state": answered.state, "repeat": True}
        if answered is not None:  # decided before, but GitHub never got the answer: send the same one again
            status = self._answer(callback, environment, answered.state, answered.comment)
            self._save_answer(run_id, environment, head, answered.state, answered.comment, status)
            return {"run_id": run_id, "state": answered.state, "callback_status": status, "repeat": True}

        ws = self._workspace(payload)
        started = time.time()
        decision, risk, trust, summary, report = "inconclusive", 0.0, None, "", {}
        base = ""
        try:
            base = self._base_for(ws, environment, head)
            overrides = {"database_url": self.config.database_url, "environment": environment}
            outcome = self.gate_runner(Path(ws.repo.root), base, head, overrides)
            decision, risk, trust = outcome.decision, float(outcome.risk or 0.0), outcome.trust
            summary, report = outcome.summary, dict(outcome.report)
            state = "approved" if decision in self.config.approve_decisions else "rejected"
        except Exception as exc:  # noqa: BLE001 - a gate failure must still answer GitHub
            state = "approved" if self.config.gate_fail_open else "rejected"
            how = "fail-open" if self.config.gate_fail_open else "fail-closed"
            summary = f"empathy gate could not decide ({type(exc).__name__}: {exc}); {how}: {state}."
            # kept with the verdict, so GET /v1/gate/{sha} says what GitHub was told, not "inconclusive: approved"
            report = {"gate_failed": True, "state": state, "summary": summary}
        figure = "" if decision == "inconclusive" else f", risk {risk:.2f}"
        comment = f"empathy gate: {decision}{figure}. {summary}".strip()[:COMMENT_LIMIT]
        status = self._answer(callback, environment, state, comment)
        self._save_answer(run_id, environment, head, state, comment, status)
        if self._save_decision(ws, base, head, decision, risk, trust, report, started):
            # The gate stores and announces its decisions; this one it did not (it failed,
            # or an injected runner decided), so the service does both.
            self.emit(
                Event(
                    "deployment_gate.decided",
                    {
                        "repo_id": ws.repo_id,
                        "repository": ws.repo.key,
                        "base": base,
                        "head": head,
                        "environment": environment,
                        "decision": decision,
                        "risk": None if decision == "inconclusive" else risk,
                        "trust": trust,
                        "state": state,
                        "summary": summary[:COMMENT_LIMIT],
                    },
                    time.time(),
                )
            )
        return {"run_id": run_id, "state": state, "decision": decision, "callback_status": status}

    def _answer(self, callback: str, environment: str, state: str, comment: str) -> int | None:
        """POST the answer; transient errors (connection, 5xx) are retried three times."""
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.config.github_token:
            headers["Authorization"] = f"Bearer {self.config.github_token}"
        body = {"environment_name": environment, "state": state, "comment": comment}
        status: int | None = None
        with httpx.Client(timeout=10.0, follow_redirects=False, trust_env=False, transport=self.transport) as client:
            for delay in (0.5, 1.0, 2.0, None):
                try:
                    status = client.post(callback, json=body, headers=headers).status_code
                except httpx.HTTPError as exc:
                    log.warning("answering %s failed: %s", callback, exc)
                    status = None
                if status is not None and status < 500:
                    break
                if delay is not None:
                    time.sleep(delay)
        return status

    def _save_answer(
        self, run_id: int, environment: str, sha: str, state: str, comment: str, status: int | None
    ) -> None:
        a = GithubGateAnswerRow
        with self.store.engine.begin() as conn:
            done = conn.execute(
                update(a)
                .where(col(a.run_id) == run_id, col(a.environment) == environment)
                .values(state=state, comment=comment, callback_status=status, answered_at=time.time())
            ).rowcount
            if not done:
                conn.execute(
                    insert(a).values(
                        run_id=run_id,
                        environment=environment,
                        sha=sha,
                        state=state,
                        comment=comment,
                        answered_at=time.time(),
                        callback_status=status,
                    )
                )

    def _save_decision(
        self,
        ws: Any,
        base: str,
        head: str,
        decision: str,
        risk: float,
        trust: float | None,
        report: dict[str, Any],
        since: float,
    ) -> bool:
        """Keep the verdict for ``GET /v1/gate/{sha}`` unless the gate stored one itself; True if stored here."""
        row = GateDecisionRow(
            repo_id=ws.repo_id,
            base=base[:64],
            head=head,
            decision=decision,
            risk=risk,
            trust=trust,
            created_at=int(time.time()),
            report=report,
        )
        return bool(self.store.save_gate_decision_unless_decided(row, since=int(since)))


def _status_recorded(store: Store, repo_id: int, status_id: Any) -> bool:
    """Whether a deployment status with this id is already an outcome of the repository's record."""
    from empathy.core.store.tables import OutcomeRow

    with store.engine.connect() as conn:
        details = conn.execute(
            sa_select(col(OutcomeRow.detail)).where(
                col(OutcomeRow.repo_id) == repo_id, col(OutcomeRow.subject_kind) == "service"
            )
        ).scalars()
        return any(isinstance(d, dict) and d.get("deployment_status_id") == status_id for d in details)
