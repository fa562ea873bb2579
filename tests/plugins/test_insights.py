"""The insights agent: merging, ranking, the deterministic brief, and the real ``openai``
client against a local OpenAI-compatible HTTP server (and every way that server can fail)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from empathy.core.agents.orchestrator import Orchestrator, Request
from empathy.core.config import Settings
from empathy.core.host import PluginHost
from empathy.core.model import Finding, Level, Location, Severity
from empathy.plugins.agents import insights
from empathy.plugins.agents.insights import (
    Insight,
    InsightsAgent,
    deterministic_brief,
    expected_value,
    merge_findings,
    rank_by_value,
)

MODEL = "test-model"
LLM_TEXT = "client.py is likely to need a bug fix soon (p=0.90 within 90 days). Add a regression test first."
SECRET = "tok-PLANTED-9f8e7d"
GITHUB_TOKEN = "ghp_PLANTED0123456789abcdefghijklmnopqrstu"
SOURCE = "def charge(card):\n    return gateway.pay(card)  # PLANTED-SOURCE"


def finding(
    code: str,
    path: str,
    severity: Severity = Severity.WARNING,
    *,
    level: Level = Level.PROACTIVE,
    score: float = 0.0,
    probability: float | None = None,
    source: str = "proactive",
    reason: str | None = None,
    action: str | None = None,
    evidence: dict[str, Any] | None = None,
    fp: str = "",
) -> Finding:
    return Finding(
        code=code,
        level=level,
        severity=severity,
        location=Location(path),
        reason=reason or f"{code} in {path}",
        action=action or f"Look at {path} for {code}",
        source=source,
        evidence=evidence or {},
        probability=probability,
        horizon_days=90 if probability is not None else None,
        score=score,
        fingerprint=fp,
    )


def sample() -> list[Finding]:
    """A forecast, two proactive warnings, an info finding and a duplicate of the forecast."""
    return [
        finding("hotspot", "core.py", score=0.6, action="Plan a refactoring of core.py"),
        finding(
            "bug-fix-risk",
            "client.py",
            level=Level.ANTICIPATORY,
            probability=0.9,
            score=0.9,
            source="anticipatory",
            reason="p=0.90 of a bug fix in client.py within 90 days: 7 of its last 10 changes were fixes",
            action="Add a regression test with the next change to client.py",
            evidence={"fixes": 7, "changes": 10, "source_snippet": SOURCE, "api_token": SECRET, "note": GITHUB_TOKEN},
        ),
        finding(
            "bug-fix-risk",
            "client.py",
            Severity.INFO,
            level=Level.ANTICIPATORY,
            probability=0.4,
            source="third-party-model",
        ),
        finding("knowledge-island", "billing.py", score=0.5, action="Pair someone with alice on billing.py"),
        finding("code-age", "old.py", Severity.INFO, level=Level.REACTIVE, action="Plan a refactoring of core.py."),
    ]


# -- merging and ranking ---------------------------------------------------


def test_duplicates_by_code_and_path_keep_the_more_severe_and_name_the_other_source() -> None:
    a = finding("fix-prone", "a.py", Severity.INFO, score=0.9, source="proactive")
    b = finding("fix-prone", "a.py", Severity.WARNING, score=0.2, source="systemic", level=Level.SYSTEMIC)
    merged = merge_findings([a, b])
    assert len(merged) == 1
    kept = merged[0]
    assert kept.severity == Severity.WARNING and kept.source == "systemic"
    assert kept.evidence["also_reported_by"] == "proactive"
    assert "also_reported_by" not in b.evidence  # the inputs are not modified
    assert merge_findings([b, a])[0].to_dict() == kept.to_dict()  # order does not matter


def test_duplicates_by_fingerprint_keep_the_more_probable() -> None:
    low = finding("bug-fix-risk", "x.py", level=Level.ANTICIPATORY, probability=0.3, source="a", fp="same")
    high = finding("risk", "x.py", level=Level.ANTICIPATORY, probability=0.8, source="b", fp="same")
    other = finding("bug-fix-risk", "y.py", level=Level.ANTICIPATORY, probability=0.3, source="a")
    merged = merge_findings([low, other, high])
    assert sorted((f.code, f.probability) for f in merged) == [("bug-fix-risk", 0.3), ("risk", 0.8)]
    assert next(f for f in merged if f.code == "risk").evidence["also_reported_by"] == "a"
    assert next(f for f in merged if f.location.path == "y.py") is other  # nothing to merge: untouched


def test_a_preference_of_one_lifts_a_rule_above_an_otherwise_equal_one() -> None:
    a = finding("a-rule", "same.py", score=0.5)
    b = finding("b-rule", "same.py", score=0.5)
    ranked, values = rank_by_value([b, a])
    assert [f.code for f in ranked] == ["a-rule", "b-rule"]  # a tie: the code decides
    assert values[a.fingerprint] == values[b.fingerprint] == pytest.approx(1.0)
    ranked, values = rank_by_value([a, b], {"b-rule": 1.0})
    assert [f.code for f in ranked] == ["b-rule", "a-rule"]
    assert values[b.fingerprint] == pytest.approx(2 * 0.5 * 1.5)
    ranked, _ = rank_by_value([a, b], {"a-rule": 0.0, "b-rule": "junk"})  # dismissed vs unknown
    assert [f.code for f in ranked] == ["b-rule", "a-rule"]


def test_a_forecast_with_p_0_9_beats_an_info_finding() -> None:
    info = finding("hotspot", "a.py", Severity.INFO, score=0.95)
    forecast = finding("bug-fix-risk", "b.py", level=Level.ANTICIPATORY, probability=0.9)
    assert expected_value(forecast) == pytest.approx(2 * 0.9 * 1.0)
    assert expected_value(info) == pytest.approx(1 * 0.95 * 1.0)
    assert [f.code for f in rank_by_value([info, forecast])[0]] == ["bug-fix-risk", "hotspot"]
    # a score of 0 means "unknown": 0.5; a score above 1 counts as 1
    assert expected_value(finding("x", "c.py", Severity.ERROR)) == pytest.approx(4 * 0.5)
    assert expected_value(finding("x", "c.py", Severity.ERROR, score=7.0)) == pytest.approx(4 * 1.0)


def test_the_agent_ranks_merges_and_briefs_deterministically() -> None:
    agent = InsightsAgent(environ={})
    prefs = {"knowledge-island": 1.0}
    first = agent.run(Request("analyze"), {"findings": sample(), "memory": {"preferences": prefs}})
    second = InsightsAgent(environ={}).run(Request("analyze"), {"findings": sample(), "memory": {"preferences": prefs}})
    assert isinstance(first, Insight)
    # 2*0.9*1 = 1.8 | knowledge-island 2*0.5*1.5 = 1.5 | hotspot 2*0.6*1 = 1.2 | code-age 1*0.5*1 = 0.5
    assert [(f.code, f.location.path) for f in first.findings] == [
        ("bug-fix-risk", "client.py"),
        ("knowledge-island", "billing.py"),
        ("hotspot", "core.py"),
        ("code-age", "old.py"),
    ]
    assert first.findings[0].evidence["also_reported_by"] == "third-party-model"
    assert first.values[first.findings[0].fingerprint] == pytest.approx(1.8)
    assert first.actions == [
        "Add a regression test with the next change to client.py",
        "Pair someone with alice on billing.py",
        "Plan a refactoring of core.py",  # code-age repeats it: actions are distinct
    ]
    assert first.source == "deterministic" and first.fallback_reason is None
    assert first.brief == second.brief
    brief = first.brief
    assert "p=0.90 of a bug fix in client.py within 90 days: 7 of its last 10 changes were fixes" in brief
    for action in first.actions:
        assert action in brief
    assert "4 findings (3 warnings, 1 info)" in brief
    assert "1 reactive, 2 proactive, 1 anticipatory" in brief
    assert "client.py (bug-fix-risk, p=0.90 within 90 days)" in brief
    assert 2 <= brief.count(". ") + 1 <= 4
    assert json.dumps(first.to_dict())  # JSON-friendly for the gate's report


def test_a_forecast_below_the_top_still_gets_its_sentence() -> None:
    prefs = {"knowledge-island": 1.0, "bug-fix-risk": 0.0}  # this user ignores the forecasts
    result = InsightsAgent(environ={}).run(Request("analyze"), {"findings": sample(), "memory": {"preferences": prefs}})
    assert [f.code for f in result.findings] == ["knowledge-island", "hotspot", "bug-fix-risk", "code-age"]
    assert result.brief.startswith(
        "4 findings (3 warnings, 1 info), by level: 1 reactive, 2 proactive, 1 anticipatory."
    )
    assert "Most worth your attention: billing.py (knowledge-island): knowledge-island in billing.py." in result.brief
    assert "The top forecast is client.py (bug-fix-risk): p=0.90 within 90 days." in result.brief
    assert result.brief.endswith(
        "Next: 1) Pair someone with alice on billing.py; 2) Plan a refactoring of core.py; "
        "3) Add a regression test with the next change to client.py."
    )


def test_no_findings_gives_a_short_brief_and_no_actions() -> None:
    result = InsightsAgent(environ={}).run(Request("analyze"), {"findings": [], "memory": {}})
    assert result.findings == [] and result.actions == []
    assert result.brief == deterministic_brief([])
    assert result.brief.startswith("No findings")


# -- a local OpenAI-compatible server --------------------------------------


@dataclass
class FakeLLM:
    """What the local server does and what it received."""

    mode: str = "ok"  # ok | error | sleep | empty | garbage
    delay: float = 0.0
    content: str = LLM_TEXT
    requests: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.requests.append(
            {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": json.loads(raw or b"{}"),
            }
        )
        try:
            if self.path != "/v1/chat/completions":
                self._send(404, b'{"error": {"message": "not found"}}')
            elif fake.mode == "error":
                error = {"message": f"the model crashed: {fake.content}", "type": "server_error"}
                self._send(500, json.dumps({"error": error}).encode())
            elif fake.mode == "garbage":
                self._send(200, b"<html>not json</html>", "text/html")
            else:
                if fake.mode == "sleep":
                    fake.stop.wait(fake.delay)
                content = "" if fake.mode == "empty" else fake.content
                body = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": MODEL,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                self._send(200, json.dumps(body).encode())
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the time-out tests)
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeLLM


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeLLM()
    host, port = server.server_address[:2]
    server.fake.base_url = f"http://{host!s}:{port}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.fake.stop.set()
        server.shutdown()
        server.server_close()


def _request(settings: Mapping[str, Any]) -> Request:
    """How a surface passes the effective settings: the whole tree, this plugin's section inside."""
    return Request("analyze", context={"settings": {"plugins": {"insights": dict(settings)}}})


def _inputs() -> dict[str, Any]:
    return {"findings": sample(), "memory": {"preferences": {}}}


def test_the_brief_comes_from_the_endpoint_through_the_openai_client(
    llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMPATHY_LLM_API_KEY", "local-key-123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent-unless-asked-0000")
    agent = InsightsAgent()
    result = agent.run(_request({"base_url": llm.base_url, "model": MODEL, "timeout": 5.0}), _inputs())
    assert result.brief == LLM_TEXT
    assert result.source == f"llm:{MODEL}"
    assert result.fallback_reason is None
    assert result.actions[0] == "Add a regression test with the next change to client.py"

    assert len(llm.requests) == 1
    sent = llm.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer local-key-123"
    assert sent["body"]["model"] == MODEL
    roles = [m["role"] for m in sent["body"]["messages"]]
    assert roles == ["system", "user"]
    prompt = json.dumps(sent["body"])
    for f in result.findings:
        assert json.dumps(f.reason)[1:-1] in prompt
    assert '\\"fixes\\":7' in prompt  # evidence numbers travel
    assert SECRET not in prompt and "api_token" not in prompt  # a secret by its key ...
    assert GITHUB_TOKEN not in prompt  # ... or by its shape
    assert "PLANTED-SOURCE" not in prompt and "gateway.pay" not in prompt  # ... and source never does
    assert "source_snippet" not in prompt


def test_source_and_secrets_are_sent_only_when_the_user_opts_in(llm: FakeLLM) -> None:
    settings = {"base_url": llm.base_url, "model": MODEL, "timeout": 5.0, "include_source": True}
    result = InsightsAgent(environ={}).run(_request(settings), _inputs())
    assert result.source == f"llm:{MODEL}"
    prompt = json.dumps(llm.requests[0]["body"])
    assert SECRET in prompt and GITHUB_TOKEN in prompt and "PLANTED-SOURCE" in prompt


def test_openai_api_key_is_read_only_when_api_key_env_names_it(llm: FakeLLM) -> None:
    environ = {"OPENAI_API_KEY": "sk-from-openai-env-1234"}
    settings = {"base_url": llm.base_url, "model": MODEL, "timeout": 5.0}
    InsightsAgent(environ=environ).run(_request(settings), _inputs())
    InsightsAgent(environ=environ, api_key_env="OPENAI_API_KEY").run(_request(settings), _inputs())
    InsightsAgent(environ=environ, api_key="explicit").run(_request(settings), _inputs())
    keys = [r["headers"]["authorization"] for r in llm.requests]
    assert keys == ["Bearer no-key", "Bearer sk-from-openai-env-1234", "Bearer explicit"]


def test_a_server_error_falls_back_to_the_deterministic_brief(llm: FakeLLM) -> None:
    llm.mode = "error"
    llm.content = "bad key sk-local-secret-42"  # the error body echoes the key back
    agent = InsightsAgent(base_url=llm.base_url, model=MODEL, timeout=5.0, api_key="sk-local-secret-42", environ={})
    result = agent.run(Request("analyze"), _inputs())
    assert result.source == "deterministic"
    assert result.fallback_reason is not None and "500" in result.fallback_reason
    assert "the model crashed: bad key ***" in result.fallback_reason
    assert result.brief == deterministic_brief(result.findings, result.actions)
    assert len(llm.requests) == 1  # no retries: the brief must not wait


@pytest.mark.parametrize("mode", ["empty", "garbage"])
def test_an_empty_or_unreadable_answer_falls_back(llm: FakeLLM, mode: str) -> None:
    llm.mode = mode
    result = InsightsAgent(base_url=llm.base_url, model=MODEL, timeout=5.0, environ={}).run(
        Request("analyze"), _inputs()
    )
    assert result.source == "deterministic" and result.fallback_reason
    assert result.brief == deterministic_brief(result.findings, result.actions)


def test_a_slow_server_falls_back_within_the_time_out(llm: FakeLLM) -> None:
    llm.mode, llm.delay = "sleep", 10.0
    agent = InsightsAgent(base_url=llm.base_url, model=MODEL, timeout=1.0, environ={})
    started = time.perf_counter()
    result = agent.run(Request("analyze"), _inputs())
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0 + 0.3, elapsed
    assert result.source == "deterministic"
    assert result.fallback_reason is not None and "time" in result.fallback_reason.lower()
    assert result.brief == deterministic_brief(result.findings, result.actions)


def test_an_unreachable_endpoint_falls_back(llm: FakeLLM) -> None:
    closed = InsightsAgent(base_url="http://127.0.0.1:9/v1", model=MODEL, timeout=2.0, environ={})
    result = closed.run(Request("analyze"), _inputs())
    assert result.source == "deterministic"
    assert result.fallback_reason and "Connection" in result.fallback_reason


def test_no_endpoint_configured_is_deterministic_without_a_fallback_reason() -> None:
    result = InsightsAgent(environ={"OPENAI_API_KEY": "sk-x"}).run(Request("analyze"), _inputs())
    assert result.source == "deterministic" and result.fallback_reason is None
    half = InsightsAgent(base_url="http://127.0.0.1:9/v1", environ={}).run(Request("analyze"), _inputs())
    assert half.source == "deterministic" and half.fallback_reason == "no model configured"


# -- in the orchestrator, and as a plugin ------------------------------------


@dataclass
class _Fixed:
    name: str
    value: Any
    requires: tuple[str, ...] = ()

    def run(self, request: Request, inputs: Mapping[str, Any]) -> Any:
        return self.value


def test_in_the_orchestrator_a_hung_endpoint_still_yields_a_brief(llm: FakeLLM) -> None:
    llm.mode, llm.delay = "sleep", 10.0
    agents: list[Any] = [
        _Fixed("findings", sample()),
        _Fixed("memory", {"preferences": {}}),
        InsightsAgent(base_url=llm.base_url, model=MODEL, timeout=2.0, environ={}),
    ]
    answer = Orchestrator(agents).run(Request("analyze"))
    assert answer.outcomes["insights"].status == "ok", answer.outcomes["insights"]
    insight = answer.value("insights")
    assert insight.source == "deterministic" and insight.fallback_reason
    assert answer.seconds < 2.0 * 1.1


def test_the_plugin_registers_an_agent_and_its_settings() -> None:
    host = PluginHost(load=None, disable=())
    assert host.register(insights, "insights")
    assert set(host.implementations("register_agents")) == {"insights"}
    (agents,) = host.pm.hook.register_agents()
    (agent,) = agents
    assert isinstance(agent, InsightsAgent)
    assert (agent.name, agent.requires, agent.timeout) == ("insights", ("findings", "memory"), 8.0)
    (defaults,) = host.pm.hook.settings_defaults()
    assert defaults["include_source"] is False and defaults["timeout"] == 8.0 and defaults["base_url"] == ""

    settings = Settings(environ={"EMPATHY_PLUGIN_INSIGHTS_MODEL": "local-llama"})
    settings.add_plugin_defaults("insights", defaults)
    settings.apply_layer({"plugins": {"insights": {"timeout": 3.0, "base_url": "http://127.0.0.1:9/v1"}}}, "test")
    configured = InsightsAgent(settings)
    assert configured.timeout == 3.0
    cfg = configured.config()
    assert (cfg["base_url"], cfg["model"]) == ("http://127.0.0.1:9/v1", "local-llama")
    # a request may shorten the time-out, never lengthen it past what the orchestrator allows
    assert configured.config(_request({"timeout": 60.0}))["timeout"] == 3.0
    assert configured.config(_request({"timeout": 0.5}))["timeout"] == 0.5
