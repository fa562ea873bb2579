"""Inbound GitHub: verified and de-duplicated; push ingests, deployment_status records, protection rules answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select
from sqlmodel import col
from standardwebhooks import Webhook

from empathy.core.store.tables import GithubDeliveryRow, OutcomeRow
from empathy.core.workspace import open_workspace
from empathy.webhooks.catalog import CATALOG
from empathy.webhooks.github import parse_callback
from tests.gitrepo import RepoBuilder
from tests.webhooks.conftest import Running
from tests.webhooks.receiver import Receiver

SECRET = "It's a Secret to Everybody"


def _post(running: Running, event: str, payload: dict[str, Any], delivery: str | None = None) -> Any:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return running.client.post(
        "/github",
        content=body,
        headers={
            "x-hub-signature-256": signature,
            "x-github-event": event,
            "x-github-delivery": delivery or str(uuid.uuid4()),
            "content-type": "application/json",
        },
    )


def _wait_done(running: Running, count: int, timeout: float = 30.0) -> list[GithubDeliveryRow]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with running.service.store.session() as s:
            rows = list(s.exec(select(GithubDeliveryRow).order_by(col(GithubDeliveryRow.id))).scalars())
        if len([r for r in rows if r.status in ("done", "error")]) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"{count} deliveries not processed: {[(r.event, r.status) for r in rows]}")


def _history(repo: RepoBuilder) -> None:
    repo.commit("add app", {"app.py": "x = 1\n", "util.py": "y = 1\n"})
    for i in range(6):
        repo.commit(f"fix bug {i} in app", {"app.py": f"x = {i + 2}\n", "util.py": f"y = {i}\n"})


def test_deliveries_are_deduplicated(make_service: Callable[..., Running]) -> None:
    running = make_service(github_secret=SECRET)
    delivery = str(uuid.uuid4())
    first = _post(running, "ping", {"zen": "Keep it logically awesome."}, delivery)
    second = _post(running, "ping", {"zen": "Keep it logically awesome."}, delivery)
    assert first.status_code == 202 and first.json() == {"queued": True, "duplicate": False}
    assert second.status_code == 202 and second.json() == {"queued": False, "duplicate": True}
    (row,) = _wait_done(running, 1)
    assert row.result == {"pong": True}


def test_push_ingests_incrementally_and_emits(
    make_service: Callable[..., Running], receiver: Receiver, repo: RepoBuilder, tmp_path: Path
) -> None:
    _history(repo)
    running = make_service(github_secret=SECRET, repositories={"octo/app": str(repo.path)})
    endpoint = running.subscribe(receiver.url, event_types=["analysis.completed", "pattern.discovered"])
    assert _post(running, "push", {"repository": {"full_name": "octo/app"}, "after": repo.head()}).status_code == 202
    rows = _wait_done(running, 1)
    assert rows[0].status == "done", rows[0].error
    assert rows[0].result["commits_added"] == 7
    deadline = time.time() + 20
    completed: list[dict[str, Any]] = []
    while not completed and time.time() < deadline:  # patterns arrive in any order around the summary
        payloads = [Webhook(endpoint["secret"]).verify(r.body, r.headers) for r in list(receiver.received)]
        completed = [p for p in payloads if p["type"] == "analysis.completed"]
        time.sleep(0.05)
    assert completed and completed[0]["data"]["head"] == repo.head()
    assert any(p["type"] == "pattern.discovered" for p in payloads)
    for p in payloads:  # what we send matches the catalog's schema
        jsonschema.validate(p["data"], CATALOG[p["type"]].schema)
    # The next push only adds the new commit.
    repo.commit("more work", {"app.py": "x = 99\n"})
    _post(running, "push", {"repository": {"full_name": "octo/app"}})
    rows = _wait_done(running, 2)
    assert rows[1].result["commits_added"] == 1
    ws = open_workspace(repo.path, overrides={"database_url": running.service.config.database_url})
    assert ws.store.commit_count(ws.repo_id) == 8


def test_unmapped_repository_is_an_error_not_a_crash(make_service: Callable[..., Running]) -> None:
    running = make_service(github_secret=SECRET)
    _post(running, "push", {"repository": {"full_name": "someone/else"}})
    (row,) = _wait_done(running, 1)
    assert row.status == "error" and "no checkout is mapped" in (row.error or "")


def test_deployment_status_records_an_outcome(make_service: Callable[..., Running], repo: RepoBuilder) -> None:
    _history(repo)
    running = make_service(github_secret=SECRET, repositories={"*": str(repo.path)})
    for state in ("success", "in_progress", "failure"):
        _post(
            running,
            "deployment_status",
            {
                "deployment_status": {"state": state, "environment": "production"},
                "deployment": {"sha": repo.head(), "id": 7, "environment": "production"},
                "repository": {"full_name": "octo/app"},
            },
        )
    rows = _wait_done(running, 3)
    assert [r.status for r in rows] == ["done"] * 3
    with running.service.store.session() as s:
        outcomes = list(s.exec(select(OutcomeRow).order_by(col(OutcomeRow.id))).scalars())
    # The gate's track record (subject kind "service", the repository by default) counts them.
    key = open_workspace(repo.path, overrides={"database_url": running.service.config.database_url}).repo.key
    assert [(o.subject_kind, o.subject, o.outcome) for o in outcomes] == [
        ("service", key, "deploy_success"),
        ("service", key, "deploy_failure"),
    ]
    assert outcomes[0].detail["ref"] == repo.head() and outcomes[0].detail["environment"] == "production"


def test_a_replayed_deployment_status_counts_once(make_service: Callable[..., Running], repo: RepoBuilder) -> None:
    """The same signed status posted under five delivery ids (unsigned) is one outcome, not five failures."""
    _history(repo)
    running = make_service(github_secret=SECRET, repositories={"*": str(repo.path)})
    payload = {
        "deployment_status": {"id": 4242, "state": "failure", "environment": "production"},
        "deployment": {"sha": repo.head(), "id": 7, "environment": "production"},
        "repository": {"full_name": "octo/app"},
    }
    for _ in range(5):
        _post(running, "deployment_status", payload)  # a new delivery id each time
    rows = _wait_done(running, 5)
    assert [r.status for r in rows] == ["done"] * 5
    assert sum(bool(r.result.get("repeat")) for r in rows) == 4
    with running.service.store.session() as s:
        outcomes = list(s.exec(select(OutcomeRow)).scalars())
    assert [(o.outcome, o.detail["deployment_status_id"]) for o in outcomes] == [("deploy_failure", 4242)]


@dataclass
class FakeGateResult:
    decision: str
    risk: float
    trust: float | None
    report: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass
class RecordingGate:
    """A gate runner that records its calls and returns a scripted decision."""

    decision: str = "block"
    calls: list[tuple[Path, str, str]] = field(default_factory=list)

    def __call__(self, repo_path: Path, base: str, head: str, overrides: dict[str, Any] | None) -> FakeGateResult:
        self.calls.append((repo_path, base, head))
        return FakeGateResult(
            self.decision, 0.81, 0.6, {"factors": [{"name": "churn"}]}, f"**{self.decision}**: app.py is hot"
        )


def _protection_payload(api: str, sha: str, run_id: int = 4242) -> dict[str, Any]:
    return {
        "action": "requested",
        "environment": "production",
        "event": "push",
        "deployment_callback_url": f"{api}/repos/octo/app/actions/runs/{run_id}/deployment_protection_rule",
        "deployment": {"sha": sha, "ref": "main", "id": 1},
        "repository": {"full_name": "octo/app"},
        "installation": {"id": 1},
    }


@pytest.mark.parametrize(("decision", "state"), [("block", "rejected"), ("pass", "approved")])
def test_protection_rule_runs_the_gate_and_answers_once(
    make_service: Callable[..., Running],
    receiver: Receiver,
    repo: RepoBuilder,
    decision: str,
    state: str,
) -> None:
    _history(repo)
    gate = RecordingGate(decision)
    receiver.responder = lambda _r: (204, {}, b"", 0.0)
    running = make_service(
        github_secret=SECRET,
        github_token="ghs_test",
        github_api_url=receiver.url,
        repositories={"octo/app": str(repo.path)},
        gate_runner=gate,
    )
    watcher = running.subscribe(receiver.url + "/events", event_types=["deployment_gate.decided"])
    head = repo.head()
    _post(running, "deployment_protection_rule", _protection_payload(receiver.url, head))
    _wait_done(running, 1)
    callback = receiver.wait_for(1, path="/repos/octo/app/actions/runs/4242/deployment_protection_rule")[0]
    answer = json.loads(callback.body)
    assert answer["environment_name"] == "production" and answer["state"] == state
    assert "app.py is hot" in answer["comment"] and len(answer["comment"]) <= 1024
    assert callback.headers["authorization"] == "Bearer ghs_test"
    assert gate.calls == [(repo.path, f"{head}^", head)]
    # Canary tools read the same verdict.
    verdict = running.client.get(f"/v1/gate/{head}").json()
    assert verdict["decision"] == decision and verdict["approved"] is (state == "approved")
    assert running.client.get(f"/v1/gate/{head[:10]}?strict=true").status_code == (200 if decision == "pass" else 409)
    assert running.client.get("/v1/gate/" + "0" * 40).status_code == 404
    (event,) = receiver.wait_for(1, path="/events")
    decided = Webhook(watcher["secret"]).verify(event.body, event.headers)["data"]
    assert decided["decision"] == decision
    jsonschema.validate(decided, CATALOG["deployment_gate.decided"].schema)
    # GitHub may send the request again (a new delivery id): the gate does not run twice.
    _post(running, "deployment_protection_rule", _protection_payload(receiver.url, head))
    rows = _wait_done(running, 2)
    assert rows[1].result["repeat"] is True and len(gate.calls) == 1


def test_gate_failure_answers_fail_closed(
    make_service: Callable[..., Running], receiver: Receiver, repo: RepoBuilder
) -> None:
    _history(repo)

    def broken(*_args: Any) -> Any:
        raise RuntimeError("model missing")

    receiver.responder = lambda _r: (204, {}, b"", 0.0)
    running = make_service(
        github_secret=SECRET, github_api_url=receiver.url, repositories={"*": str(repo.path)}, gate_runner=broken
    )
    _post(running, "deployment_protection_rule", _protection_payload(receiver.url, repo.head()))
    _wait_done(running, 1)
    (callback,) = receiver.wait_for(1)
    answer = json.loads(callback.body)
    assert answer["state"] == "rejected" and "model missing" in answer["comment"] and "fail-closed" in answer["comment"]
    # the canary endpoint says what GitHub was told (it said "inconclusive", approved, before)
    verdict = running.client.get(f"/v1/gate/{repo.head()}")
    assert verdict.json()["decision"] == "inconclusive" and verdict.json()["approved"] is False
    assert running.client.get(f"/v1/gate/{repo.head()}?strict=true").status_code == 409


def test_callback_must_be_on_the_pinned_host(
    make_service: Callable[..., Running], receiver: Receiver, repo: RepoBuilder
) -> None:
    _history(repo)
    gate = RecordingGate("pass")
    running = make_service(
        github_secret=SECRET,
        github_api_url="https://api.github.com",
        repositories={"*": str(repo.path)},
        gate_runner=gate,
    )
    _post(running, "deployment_protection_rule", _protection_payload(receiver.url, repo.head()))
    (row,) = _wait_done(running, 1)
    assert row.status == "error" and "is not on https://api.github.com" in (row.error or "")
    assert gate.calls == [] and receiver.received == []


def test_parse_callback() -> None:
    api = "https://api.github.com"
    assert parse_callback(f"{api}/repos/o/r/actions/runs/17/deployment_protection_rule", api) == 17
    for bad in (
        "https://api.github.com.evil.example/repos/o/r/actions/runs/17/deployment_protection_rule",
        "http://api.github.com/repos/o/r/actions/runs/17/deployment_protection_rule",
        f"{api}/repos/o/r/actions/runs/17/deployment_protection_rule?x=1",
        f"{api}/repos/o/r/actions/runs/x/deployment_protection_rule",
        f"{api}/repos/o/r/../../admin",
    ):
        with pytest.raises(ValueError):
            parse_callback(bad, api)


def test_a_delivery_left_processing_is_queued_again_at_start(
    make_service: Callable[..., Running], tmp_path: Path
) -> None:
    """An API process killed mid-delivery leaves the row 'processing'; the next start picks it up."""
    from sqlalchemy import insert

    from empathy.core.store.store import open_store

    url = f"sqlite:///{tmp_path / 'crash.db'}"
    store = open_store(url, None)
    with store.engine.begin() as conn:
        conn.execute(
            insert(GithubDeliveryRow).values(
                delivery="d-1", event="ping", status="processing", body="{}", received_at=time.time() - 3600, result={}
            )
        )
    running = make_service(url, github_secret=SECRET)
    (row,) = _wait_done(running, 1)
    assert row.status == "done" and row.result == {"pong": True}


def test_protection_rule_with_the_real_gate(
    make_service: Callable[..., Running], receiver: Receiver, repo: RepoBuilder
) -> None:
    """End to end: GitHub asks, `evaluate_gate` decides, the callback and the canary endpoint agree."""
    _history(repo)
    receiver.responder = lambda _r: (204, {}, b"", 0.0)
    running = make_service(github_secret=SECRET, github_api_url=receiver.url, repositories={"octo/app": str(repo.path)})
    watcher = running.subscribe(receiver.url + "/events", event_types=["deployment_gate.decided"])
    head = repo.head()
    _post(running, "deployment_protection_rule", _protection_payload(receiver.url, head, run_id=77))
    (row,) = _wait_done(running, 1, timeout=120)
    assert row.status == "done", row.error
    (callback,) = receiver.wait_for(1, path="/repos/octo/app/actions/runs/77/deployment_protection_rule")
    answer = json.loads(callback.body)
    verdict = running.client.get(f"/v1/gate/{head}").json()
    assert verdict["decision"] in ("pass", "warn", "block", "inconclusive")
    assert answer["state"] == ("approved" if verdict["approved"] else "rejected")
    assert answer["comment"].startswith(f"empathy gate: {verdict['decision']}")
    (event,) = receiver.wait_for(1, path="/events", timeout=20)
    decided = Webhook(watcher["secret"]).verify(event.body, event.headers)["data"]
    jsonschema.validate(decided, CATALOG["deployment_gate.decided"].schema)
    assert decided["head"] == head and decided["decision"] == verdict["decision"]
    # a figure only with a comparison behind it: none for an inconclusive verdict, in the event and the API alike
    assert (decided["risk"] is None) == (verdict["risk"] is None) == (verdict["decision"] == "inconclusive")
    assert decided["environment"] == "production"
    time.sleep(0.5)
    assert len(receiver.received) == 2  # one answer, one event: the gate's own, not a second copy
