"""The insights agent: one ranked, de-duplicated list of findings and a short brief.

It reads the ``findings`` agent's output (a list of :class:`Finding` from every
level plugin) and the ``memory`` agent's output (what this user acts on), and
returns an :class:`Insight` that the CLI, the gate's report and a hover can
show as they are.

1. **Merge.** Findings that share a fingerprint, or a code and a path, say
   the same thing; one of them is kept: the more severe, then the more
   probable (its probability if it is a forecast, else its score).  The
   other plugins that reported it are named in the kept finding's evidence
   (``also_reported_by``).  The input findings are never modified.
2. **Rank** by the expected value of acting on a finding, for this user::

       value = weight(severity) x likelihood x (0.5 + preference)

   * ``weight``: info 1, warning 2, error 4 (:data:`SEVERITY_WEIGHT`);
   * ``likelihood``: the probability of a forecast; else the finding's score
     clipped to [0, 1], or 0.5 when the plugin gave none (score 0);
   * ``preference``: ``memory["preferences"][code]``, the share of times this
     user acted on (or found useful) that rule, in [0, 1]; 0.5 when unknown,
     so an unknown rule keeps its weight (factor 1), a rule always acted on
     counts 1.5x and a rule always dismissed 0.5x.

   Ties go to the code, then the path, then the line, the source and the
   fingerprint, so the same findings always come out in the same order.
3. **Brief.** With an OpenAI-compatible endpoint configured (``base_url`` and
   ``model``), the ranked findings go to it as compact JSON through the
   ``openai`` client and its answer is the brief.  Without one, or when it
   errs, times out or answers nothing, the brief is built from the findings
   (:func:`deterministic_brief`: same findings, same text) and
   ``fallback_reason`` says why.

What leaves the machine: codes, levels, severities, paths, reasons, actions,
probabilities, horizons and evidence numbers.  Never file contents: evidence
whose key looks like source or a secret (``source``, ``code``, ``token``,
``secret``, ``password`` ...) or whose value looks like one (several lines, a
known token prefix, very long) is dropped unless the plugin setting
``include_source`` is true.

Settings (``[tool.empathy.plugins.insights]`` passed to the constructor, then
``request.context["settings"]``, then the constructor's keyword arguments;
later wins):

* ``base_url``: the endpoint, for example ``http://127.0.0.1:8080/v1`` for a
  local server or ``https://api.openai.com/v1``; empty means no endpoint;
* ``model``: the model name the endpoint knows;
* ``api_key``: prefer the environment: ``EMPATHY_LLM_API_KEY``, or the
  variable named by ``api_key_env`` (set it to ``OPENAI_API_KEY`` to use that
  one; it is never read otherwise). A local server without keys needs none;
* ``timeout``: seconds the whole agent may take (default 8; also the
  orchestrator's time-out for it).  The request to the endpoint gets that
  minus a small reserve, so the deterministic brief still arrives in time;
* ``include_source``: send evidence that looks like source or secrets (default false);
* ``max_findings``: how many of the top findings the prompt carries (default 10).
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from empathy.plugin import Agent, Finding, Level, Severity, hookimpl

__all__ = [
    "DEFAULTS",
    "PLUGIN",
    "SEVERITY_WEIGHT",
    "Insight",
    "InsightsAgent",
    "deterministic_brief",
    "expected_value",
    "merge_findings",
    "prompt_messages",
    "rank_by_value",
    "register_agents",
    "settings_defaults",
    "top_actions",
]

PLUGIN = "insights"

#: How much a finding's severity weighs in its expected value.
SEVERITY_WEIGHT: dict[Severity, float] = {Severity.INFO: 1.0, Severity.WARNING: 2.0, Severity.ERROR: 4.0}

#: The plugin's settings and their defaults.
DEFAULTS: dict[str, Any] = {
    "base_url": "",
    "model": "",
    "api_key": "",
    "api_key_env": "",
    "timeout": 8.0,
    "include_source": False,
    "max_findings": 10,
}

#: Where the API key comes from when the settings do not hold one.
API_KEY_ENV = "EMPATHY_LLM_API_KEY"
#: Sent when no key is configured: the openai client insists on one, and
#: without it would fall back to OPENAI_API_KEY, which must be opted into.
NO_KEY = "no-key"

NEUTRAL_PREFERENCE = 0.5
UNKNOWN_LIKELIHOOD = 0.5
TOP_ACTIONS = 3
MAX_BRIEF_CHARS = 1500
MAX_REASON_CHARS = 300

#: Evidence keys (lower-cased substrings) that may hold source code or secrets.
SENSITIVE_KEY_PARTS = (
    "source",
    "code",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "api_key",
    "apikey",
    "private_key",
    "snippet",
    "content",
    "patch",
)
#: Evidence values that look like a secret: well-known token prefixes and PEM blocks.
_SECRET_VALUE = re.compile(
    r"(-----BEGIN [A-Z ]+-----|\bsk-[A-Za-z0-9_-]{8,}|\bgh[pousr]_[A-Za-z0-9]{8,}|\bgithub_pat_|"
    r"\bxox[abprs]-|\bAKIA[0-9A-Z]{16}\b|\beyJ[A-Za-z0-9_-]{10,}\.)"
)
_MAX_EVIDENCE_STR = 160

SYSTEM_PROMPT = (
    "You write the brief that a developer tool shows above its findings about a code repository. "
    "The findings come from the repository's history and are ranked by their expected value to this user. "
    "Write 2 to 4 plain sentences, under 90 words: what matters most, why (cite the evidence numbers given), "
    "and what to do first. Use only the findings and evidence given: do not invent files, numbers, causes "
    "or fixes beyond them, and keep each probability with its horizon. No markdown, no lists, no code, "
    "no preamble."
)


@dataclass
class Insight:
    """What the insights agent answers.

    ``findings`` are merged and ranked (most valuable first); ``values`` maps
    each finding's fingerprint to its expected value; ``actions`` are the top
    three distinct actions; ``source`` is ``"llm:<model>"`` or
    ``"deterministic"``; ``fallback_reason`` says why an endpoint that was
    configured did not write the brief (None when it did, or when there is none).
    """

    findings: list[Finding]
    brief: str
    actions: list[str]
    source: str
    fallback_reason: str | None = None
    values: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "brief": self.brief,
            "actions": list(self.actions),
            "source": self.source,
            "fallback_reason": self.fallback_reason,
            "findings": [{**f.to_dict(), "expected_value": self.values.get(f.fingerprint)} for f in self.findings],
        }


# -- merging and ranking ---------------------------------------------------


def _strength(f: Finding) -> float:
    """How likely the finding is to matter: its probability if a forecast, else its score."""
    return float(f.probability) if f.probability is not None else float(f.score)


def _keep_order(f: Finding) -> tuple[Any, ...]:
    """The smallest key is the finding kept from a group of duplicates."""
    return (-f.severity.rank, -_strength(f), f.source, f.fingerprint, f.reason)


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings with the same fingerprint, or the same code and path.

    Both relations are followed transitively (a group is a connected set), so
    the result does not depend on the input order.  The kept finding is the
    most severe, then the most probable; when others came from other plugins
    it is a copy whose evidence gains ``also_reported_by`` (their ids, sorted).
    """
    items = list(findings)
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, ...], int] = {}
    for i, f in enumerate(items):
        for key in (("fp", f.fingerprint), ("cp", f.code, f.location.path)):
            j = first.setdefault(key, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[Finding]] = {}
    for i, f in enumerate(items):
        groups.setdefault(root(i), []).append(f)
    merged: list[Finding] = []
    for group in groups.values():
        kept = min(group, key=_keep_order)
        others = sorted({f.source for f in group if f.source and f.source != kept.source})
        if others:
            evidence = dict(kept.evidence)
            previous = str(evidence.get("also_reported_by") or "")
            names = sorted({*others, *(n.strip() for n in previous.split(",") if n.strip())})
            evidence["also_reported_by"] = ", ".join(names)
            kept = replace(kept, evidence=evidence)
        merged.append(kept)
    return merged


def _preference(preferences: Mapping[str, Any], code: str) -> float:
    raw = preferences.get(code, NEUTRAL_PREFERENCE)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return NEUTRAL_PREFERENCE
    if math.isnan(value):
        return NEUTRAL_PREFERENCE
    return min(max(value, 0.0), 1.0)


def expected_value(finding: Finding, preferences: Mapping[str, Any] | None = None) -> float:
    """``weight(severity) x likelihood x (0.5 + preference)``; see the module docstring."""
    weight = SEVERITY_WEIGHT[finding.severity]
    if finding.probability is not None:
        likelihood = float(finding.probability)
    elif finding.score > 0:
        likelihood = min(float(finding.score), 1.0)
    else:
        likelihood = UNKNOWN_LIKELIHOOD
    preference = _preference(preferences or {}, finding.code)
    # Rounded so that equal products computed in a different order tie exactly.
    return round(weight * likelihood * (0.5 + preference), 9)


def rank_by_value(
    findings: Iterable[Finding], preferences: Mapping[str, Any] | None = None
) -> tuple[list[Finding], dict[str, float]]:
    """Findings by expected value, highest first, with a deterministic tie-break.

    Returns the ranked list and each finding's value by fingerprint.
    """
    prefs = preferences or {}
    scored = [(expected_value(f, prefs), f) for f in findings]
    scored.sort(
        key=lambda vf: (
            -vf[0],
            vf[1].code,
            vf[1].location.path,
            vf[1].location.start_line or 0,
            vf[1].source,
            vf[1].fingerprint,
        )
    )
    return [f for _v, f in scored], {f.fingerprint: v for v, f in scored}


def _clean(text: str) -> str:
    """One line, no trailing full stop (sentences are assembled around it)."""
    return " ".join(text.split()).rstrip(" .")


def top_actions(findings: Sequence[Finding], limit: int = TOP_ACTIONS) -> list[str]:
    """The first ``limit`` distinct actions of the ranked findings."""
    seen: set[str] = set()
    out: list[str] = []
    for f in findings:
        action = _clean(f.action)
        if action and action.lower() not in seen:
            seen.add(action.lower())
            out.append(action)
            if len(out) == limit:
                break
    return out


# -- the deterministic brief ------------------------------------------------


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def _probability(p: float) -> str:
    return f"p={p:.2f}"


def deterministic_brief(findings: Sequence[Finding], actions: Sequence[str] | None = None) -> str:
    """Two to four plain sentences from the ranked findings; the same findings give the same text.

    1. how many findings, by severity and by level;
    2. the top finding: where, which rule (with its probability and horizon if
       it is a forecast), and its reason;
    3. the highest-ranked forecast, when it is not the top finding;
    4. the top actions.
    """
    if not findings:
        return "No findings: nothing in the history stands out here. There is nothing to act on right now."
    actions = list(actions) if actions is not None else top_actions(findings)
    by_severity = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    severities = ", ".join(
        _count(by_severity[s], s.value) for s in sorted(Severity, key=lambda s: -s.rank) if by_severity[s]
    )
    by_level = {lv: sum(1 for f in findings if f.level == lv) for lv in Level}
    levels = ", ".join(f"{by_level[lv]} {lv.name.lower()}" for lv in Level if by_level[lv])
    sentences = [f"{_count(len(findings), 'finding')} ({severities}), by level: {levels}."]
    top = findings[0]
    where = top.location.path
    if top.location.start_line:
        where += f":{top.location.start_line}"
    reason = _clean(top.reason)
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 3].rstrip() + "..."
    forecast = next((f for f in findings if f.probability is not None), None)
    tag = top.code
    if top.probability is not None:
        tag += f", {_probability(top.probability)} within {top.horizon_days} days"
    sentences.append(f"Most worth your attention: {where} ({tag}): {reason}.")
    if forecast is not None and forecast is not top and forecast.probability is not None:
        sentences.append(
            f"The top forecast is {forecast.location.path} ({forecast.code}): "
            f"{_probability(forecast.probability)} within {forecast.horizon_days} days."
        )
    if actions:
        numbered = "; ".join(f"{i}) {a}" for i, a in enumerate(actions, 1))
        sentences.append(f"Next: {numbered}.")
    return " ".join(sentences)


# -- the prompt -------------------------------------------------------------


def _sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SENSITIVE_KEY_PARTS)


def _safe_value(value: Any, include_source: bool, depth: int = 0) -> tuple[bool, Any]:
    """(keep?, value): numbers, booleans and short one-line strings pass; nested values are filtered."""
    if value is None or isinstance(value, bool | int):
        return True, value
    if isinstance(value, float):
        return (True, round(value, 4)) if math.isfinite(value) else (True, None)
    if isinstance(value, str):
        if include_source:
            return True, value
        looks_like_source = "\n" in value or len(value) > _MAX_EVIDENCE_STR or _SECRET_VALUE.search(value)
        return (False, None) if looks_like_source else (True, value)
    if depth >= 3:
        return False, None
    if isinstance(value, Mapping):
        return True, _safe_evidence(value, include_source, depth + 1)
    if isinstance(value, list | tuple):
        kept = []
        for item in list(value)[:10]:
            ok, clean = _safe_value(item, include_source, depth + 1)
            if ok:
                kept.append(clean)
        return True, kept
    return (True, str(value)) if include_source else (False, None)


def _safe_evidence(evidence: Mapping[str, Any], include_source: bool, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        name = str(key)
        if not include_source and _sensitive_key(name):
            continue
        ok, clean = _safe_value(value, include_source, depth)
        if ok:
            out[name] = clean
    return out


def _prompt_item(f: Finding, value: float, include_source: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": f.code,
        "level": f.level.name.lower(),
        "severity": f.severity.value,
        "path": f.location.path,
        "reason": f.reason,
        "evidence": _safe_evidence(f.evidence, include_source),
        "action": f.action,
        "expected_value": round(value, 4),
    }
    if f.location.start_line:
        item["lines"] = [f.location.start_line, f.location.end_line or f.location.start_line]
    if f.probability is not None:
        item["probability"] = round(f.probability, 4)
        item["horizon_days"] = f.horizon_days
    return item


def prompt_messages(
    findings: Sequence[Finding],
    values: Mapping[str, float],
    actions: Sequence[str],
    include_source: bool = False,
    max_findings: int = int(DEFAULTS["max_findings"]),
) -> list[dict[str, str]]:
    """The chat messages sent to the endpoint: instructions, then the ranked findings as JSON."""
    shown = list(findings)[: max(max_findings, 1)]
    payload = {
        "total_findings": len(findings),
        "findings": [_prompt_item(f, values.get(f.fingerprint, 0.0), include_source) for f in shown],
        "top_actions": list(actions),
    }
    data = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Findings, most valuable first (JSON):\n{data}"},
    ]


# -- settings -----------------------------------------------------------------


def _section(settings: Any) -> dict[str, Any]:
    """This plugin's section out of what a caller has.

    Accepts a :class:`~empathy.core.config.Settings` (anything with a
    ``plugin(name)`` method), a mapping holding ``plugins.insights`` or
    ``insights``, or the section itself.  Only known keys are kept.
    """
    if settings is None:
        return {}
    plugin_of = getattr(settings, "plugin", None)
    if callable(plugin_of) and not isinstance(settings, Mapping):
        settings = plugin_of(PLUGIN)
    if not isinstance(settings, Mapping):
        return {}
    plugins = settings.get("plugins")
    if isinstance(plugins, Mapping) and isinstance(plugins.get(PLUGIN), Mapping):
        settings = plugins[PLUGIN]
    elif isinstance(settings.get(PLUGIN), Mapping):
        settings = settings[PLUGIN]
    return {k: v for k, v in settings.items() if k in DEFAULTS and v is not None}


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _as_float(value: Any, default: float) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) and result > 0 else default


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _reserve(budget: float) -> float:
    """Time kept back from the endpoint for building the deterministic brief.

    A quarter of a short budget (at most half a second): on a loaded machine the
    thread switch back and the brief itself took more than a tenth of one second.
    """
    return min(0.5, budget * 0.25)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return reason if len(reason) <= 300 else reason[:297] + "..."


def _call_with_deadline(fn: Callable[[], str], seconds: float) -> str:
    """Run ``fn`` in a daemon thread; give up after ``seconds`` (the thread is abandoned, never joined)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="insights-llm", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no answer from the endpoint within {seconds:.2f} s")
    if "error" in box:
        raise box["error"]
    value: str = box["value"]
    return value


# -- the agent ------------------------------------------------------------------


class InsightsAgent:
    """Merges, ranks and briefs the findings; see the module docstring.

    Settings in effect for a request, later wins: :data:`DEFAULTS`, then
    ``settings`` (this plugin's section, or a whole ``Settings``), then
    ``request.context["settings"]``, then the keyword arguments.  The
    time-out is the exception: the orchestrator reads ``timeout`` from the
    agent when it is built, so a request can shorten the endpoint's time but
    not lengthen it.
    ``environ`` (default ``os.environ``) is where API keys are looked up.
    """

    name = PLUGIN
    requires: tuple[str, ...] = ("findings", "memory")

    def __init__(
        self,
        settings: Any = None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout: float | None = None,
        include_source: bool | None = None,
        max_findings: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        overrides = {
            "base_url": base_url,
            "model": model,
            "api_key": api_key,
            "api_key_env": api_key_env,
            "timeout": timeout,
            "include_source": include_source,
            "max_findings": max_findings,
        }
        self._settings = _section(settings)
        self._overrides: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        self._environ = environ
        configured = {**self._settings, **self._overrides}
        self.timeout: float = _as_float(configured.get("timeout"), float(DEFAULTS["timeout"]))

    # The settings in effect for one request.
    def config(self, request: Any = None) -> dict[str, Any]:
        context = getattr(request, "context", None) or {}
        merged = {**DEFAULTS, **self._settings, **_section(context.get("settings")), **self._overrides}
        merged["timeout"] = min(_as_float(merged.get("timeout"), self.timeout), self.timeout)
        merged["include_source"] = _as_bool(merged.get("include_source"))
        merged["max_findings"] = _as_int(merged.get("max_findings"), int(DEFAULTS["max_findings"]))
        for key in ("base_url", "model", "api_key", "api_key_env"):
            merged[key] = str(merged.get(key) or "").strip()
        return merged

    def _api_key(self, cfg: Mapping[str, Any]) -> str:
        if cfg["api_key"]:
            return str(cfg["api_key"])
        environ = os.environ if self._environ is None else self._environ
        for name in (cfg["api_key_env"], API_KEY_ENV):
            if name and environ.get(name):
                return environ[name]
        return NO_KEY

    def run(self, request: Any, inputs: Mapping[str, Any]) -> Insight:
        raw = inputs.get("findings")
        if raw is not None and not isinstance(raw, list | tuple):
            raw = getattr(raw, "findings", raw)  # a FindingsReport works too
        findings = [f for f in (raw or []) if isinstance(f, Finding)]
        memory = inputs.get("memory") or {}
        prefs = memory.get("preferences") if isinstance(memory, Mapping) else getattr(memory, "preferences", None)
        preferences: Mapping[str, Any] = prefs if isinstance(prefs, Mapping) else {}
        return self.summarize(findings, preferences, request)

    def summarize(
        self, findings: Iterable[Finding], preferences: Mapping[str, Any] | None = None, request: Any = None
    ) -> Insight:
        """Merge, rank and brief ``findings`` (``run`` without the orchestrator's plumbing)."""
        ranked, values = rank_by_value(merge_findings(findings), preferences)
        actions = top_actions(ranked)
        cfg = self.config(request)
        fallback: str | None = None
        if cfg["base_url"] and cfg["model"]:
            try:
                brief = self._llm_brief(cfg, ranked, values, actions)
                return Insight(ranked, brief, actions, f"llm:{cfg['model']}", None, values)
            except Exception as exc:  # noqa: BLE001 - any failure of the endpoint falls back
                fallback = _short(exc)
                key = self._api_key(cfg)
                if key != NO_KEY and len(key) >= 4:
                    fallback = fallback.replace(key, "***")  # an endpoint may echo the key back
        elif cfg["base_url"] or cfg["model"]:
            fallback = "no model configured" if cfg["base_url"] else "no base_url configured"
        return Insight(ranked, deterministic_brief(ranked, actions), actions, "deterministic", fallback, values)

    def _llm_brief(
        self, cfg: Mapping[str, Any], ranked: Sequence[Finding], values: Mapping[str, float], actions: Sequence[str]
    ) -> str:
        messages = prompt_messages(ranked, values, actions, cfg["include_source"], cfg["max_findings"])
        budget = float(cfg["timeout"])
        deadline = max(budget - _reserve(budget), 0.05)
        base_url, model, api_key = cfg["base_url"], cfg["model"], self._api_key(cfg)

        def ask() -> str:
            import openai  # only paid for when an endpoint is configured

            # Typed through Any: the request and response shapes are the
            # OpenAI wire format, which OpenAI-compatible servers only approximate.
            client: Any = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=deadline * 0.9, max_retries=0)
            try:
                response: Any = client.chat.completions.create(model=model, messages=messages)
            finally:
                client.close()
            content = response.choices[0].message.content
            if not isinstance(content, str) or not content.strip():
                raise ValueError("the endpoint answered with no content")
            return content.strip()

        brief = _call_with_deadline(ask, deadline)
        if len(brief) > MAX_BRIEF_CHARS:
            brief = brief[: MAX_BRIEF_CHARS - 3].rsplit(" ", 1)[0] + "..."
        return brief


# -- hooks ----------------------------------------------------------------------


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return dict(DEFAULTS)


@hookimpl
def register_agents() -> list[Agent]:
    return [InsightsAgent()]
