"""Complexity trend: files whose nesting keeps growing.

Indentation complexity (Hindle et al. 2008) is computed at each of a file's
recent revisions, read in bulk through one ``git cat-file --batch`` process,
so a trend costs a blob read per revision instead of a parse per commit.
Each revision is read as the file stood on HEAD's first-parent line at that
time, not at the touching commit itself: in a repository with maintenance
branches (click's 8.1.x beside main) the commit before the window may be a
release on another branch, and comparing its copy of the file with main's
reported "grew 0 -> 125" for a file that had not changed shape.
A file is reported when its complexity grew by at least ``min_growth``
(relative) and ``min_increase`` (absolute) over the window.  For Python files
radon's cyclomatic complexity at HEAD names the functions that carry it, with
their line ranges (the editor shows them on those lines).
"""

from __future__ import annotations

from typing import Any

from empathy.plugin import (
    DAY,
    BlobReader,
    Mainline,
    MiningContext,
    Pattern,
    date,
    hookimpl,
    indentation_complexity,
    saturate,
    source_files,
)

PLUGIN = "complexity"


@hookimpl
def settings_defaults() -> dict[str, Any]:
    return {"max_files": 60, "max_revisions": 25, "min_growth": 0.2, "min_increase": 20}


def _slope_per_year(points: list[tuple[int, int]]) -> float:
    if len(points) < 2:
        return 0.0
    xs = [t / (365 * DAY) for t, _ in points]
    ys = [float(v) for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def _hot_functions(text: str) -> list[dict[str, Any]]:
    try:
        from radon.complexity import cc_visit

        blocks = cc_visit(text)
    except Exception:  # noqa: BLE001 - unparsable Python (syntax of another version)
        return []
    ranked = sorted(blocks, key=lambda b: b.complexity, reverse=True)[:3]
    return [
        {"name": b.fullname, "start_line": b.lineno, "end_line": b.endline, "cyclomatic": b.complexity} for b in ranked
    ]


@hookimpl
def mine_patterns(context: MiningContext) -> list[Pattern]:
    history = context.history
    cfg = context.settings
    since = history.now - int(context.core_settings["window_days"]) * DAY
    by_file = history.deliberate_touches_by_file
    files = source_files(context)
    recent_counts = {f.id: sum(1 for c, _t in by_file.get(f.id, []) if c.committed_at > since) for f in files}
    candidates = sorted((f for f in files if recent_counts[f.id] > 0), key=lambda f: -recent_counts[f.id])
    candidates = candidates[: int(cfg.get("max_files", 60))]
    reader = BlobReader(context.repo.git_repo)
    mainline = Mainline(context.repo)
    max_revs = int(cfg.get("max_revisions", 25))
    min_growth = float(cfg.get("min_growth", 0.2))
    min_increase = int(cfg.get("min_increase", 20))
    patterns = []
    for f in candidates:
        touches = by_file.get(f.id, [])
        before = [(c, t) for c, t in touches if c.committed_at <= since]
        window = [(c, t) for c, t in touches if c.committed_at > since][-max_revs:]
        revisions = ([before[-1]] if before else []) + window
        points: list[tuple[int, int]] = []
        measured: set[str] = set()
        for c, t in revisions:
            rev = mainline.at(c.committed_at)
            if rev is None or rev in measured:
                continue  # a side-branch commit older than the main line, or the same main-line state again
            measured.add(rev)
            text = reader.read(rev, t.path) or reader.read(rev, f.path)
            if text is not None:
                points.append((c.committed_at, indentation_complexity(text)))
        head_text = reader.read(context.repo.head, f.path)
        if points and head_text is not None and context.repo.head not in measured:
            # Side-branch touches in the window map to main-line states before their
            # merge; HEAD is the state after it.  An unchanged HEAD adds no point, so a
            # linear history measures exactly its touching revisions.
            now = indentation_complexity(head_text)
            if now != points[-1][1]:
                points.append((history.now, now))
        if len(points) < 2:
            continue
        start, end = points[0][1], points[-1][1]
        growth = (end - start) / max(start, 1)
        if growth < min_growth or end - start < min_increase:
            continue
        evidence: dict[str, Any] = {
            "complexity_start": start,
            "complexity_now": end,
            "growth": round(growth, 3),
            "slope_per_year": round(_slope_per_year(points), 1),
            "revisions_measured": len(points),
            "since": date(points[0][0]),
        }
        if f.path.endswith(".py") and head_text is not None:
            evidence["functions"] = _hot_functions(head_text)
        patterns.append(
            Pattern(
                kind="complexity_trend",
                plugin=context.plugin or PLUGIN,
                subjects=[f.path],
                score=round(min(growth, 1.0), 4),
                confidence=round(saturate(len(points), 6), 4),
                evidence=evidence,
                summary=(
                    f"indentation complexity grew {growth:.0%} ({start} -> {end}) "
                    f"over {len(points)} revisions since {evidence['since']}"
                ),
            )
        )
    return patterns
