"""Level 1 in the editor: the history behind a file and the track record of its forecast.

Shown when the cursor rests on a line that carries an empathy diagnostic, so
the hover answers "why does it say that?" with the numbers behind the claim
and never crowds out the language's own hovers elsewhere.
"""

from __future__ import annotations

from typing import Any

from empathy.core.explain import UnknownFileError, explain_file
from empathy.core.model import Finding
from empathy.lsp_server.repository import RepoState

__all__ = ["hover_markdown"]


def _evidence(evidence: dict[str, Any], limit: int = 6) -> str:
    items = [
        f"{k}={v}"
        for k, v in evidence.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool) and k not in {"pattern"}
    ]
    return ", ".join(items[:limit])


def _track_record(state: RepoState, horizon: int) -> str:
    from empathy.core.predict.records import latest_record

    assert state.ws is not None
    record = latest_record(state.ws.store, state.ws.repo_id, "file", horizon) or {}
    if "touch@20%" not in record:
        return f"no track record yet on this repository (`empathy eval --horizon {horizon}` measures it)"
    return (
        f"track record here: the top 20% of files held {record['touch@20%']:.0%} of later bug fixes over "
        f"{record.get('cutoffs', '?')} past cutoffs (calibration error {record.get('ece', '?')})"
    )


def hover_markdown(state: RepoState, path: str, findings: list[Finding]) -> str:
    """Markdown for a hover on ``path`` over the lines of ``findings`` (runs on a worker thread)."""
    ws = state.ws
    assert ws is not None
    parts = [f"**empathy** · `{path}`"]
    try:
        info = explain_file(ws.store, ws.repo_id, ws.history(), path)
    except UnknownFileError:
        info = None
    if info is not None:
        authors = ", ".join(f"{a['name']} {a['share']:.0%}" for a in info["authors"][:3])
        parts.append(
            f"{info['commits']} commits from {info['first_change']} to {info['last_change']}, "
            f"{info['fixes']} of them bug fixes; authors: {authors or 'unknown'}"
        )
        if info["recent_fixes"]:
            fixes = "\n".join(
                f"- {c['date']} `{c['sha'][:8]}` {c['subject']} (counted because: {c['why']})"
                for c in info["recent_fixes"]
            )
            parts.append(f"recent fixes (a wrong one: `empathy label SHA --not-fix`):\n{fixes}")
        together = info["changes_with"]
        named = [f"`{f['path']}` ({f['commits']})" for f in together["files"]]
        if together["test"]:
            named.append(f"tests: `{together['test']['path']}` ({together['test']['commits']})")
        if named:
            parts.append(f"changes with, in its last {together['of_commits']} commits: " + ", ".join(named))
    else:
        parts.append("no commit in the ingested history touches this file yet")
    forecast = state.index.forecasts.get(path) if state.index is not None else None
    horizon = int(ws.settings["horizon_days"])
    if forecast is not None:
        drivers = ", ".join(str(d) for d in forecast["drivers"]) or "nothing above the typical file"  # type: ignore[attr-defined]
        chance = (
            f"p={forecast['probability']} of a bug-fix commit within {forecast['horizon_days']} days, "
            if forecast["probability"] is not None
            else "no calibrated probability here, "
        )
        parts.append(f"forecast: {chance}#{forecast['rank']} of {forecast['files']} files, driven by {drivers}")
    parts.append(_track_record(state, horizon))
    for f in findings:
        line = f"- `{f.code}` ({f.source}, level {int(f.level)}): {f.reason}"
        ev = _evidence(f.evidence)
        if ev:
            line += f"  \n  evidence: {ev}"
        parts.append(line)
    return "\n\n".join(parts)
