"""File-level model variants of issue 3's fourth round, scored on the backtest's cutoffs.

Usage:
    python bench/file_variants.py REPO [REPO ...] [--cache DIR]

Takes snapshots every quarter (not only every year) with their 12-month labels
(fix touches and all commit touches) and the code structure of each file (``ast``
counts), caches them per repository (a few minutes the first time), then trains
each variant at each yearly cutoff on the snapshots whose labels were complete by
then, exactly as ``run_file_backtest`` does, and prints macro touch@20% and P@10
next to the rank-average prior on the same cutoffs.  The row "shipped, yearly"
reproduces ``bench/eval_files.py``'s "ours (model)".  docs/evaluation.md, section
"Issue 3, fourth round", has the results.
"""

from __future__ import annotations

import argparse
import ast
import math
import pickle
import statistics
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from empathy.core.context import MiningContext
from empathy.core.history.blobs import BlobReader
from empathy.core.history.view import DAY
from empathy.core.predict.filemodel import _ranks, rank_average, train_file_model
from empathy.core.predict.jit import one_thread
from empathy.core.predict.metrics import precision_at, touch_at
from empathy.core.predict.snapshot import FileSnapshot, fix_touches_between, take_snapshot
from empathy.core.workspace import open_workspace

H = 365 * DAY
STEP = H // 4
AST_KEYS = ("defs", "classes", "branches", "imports", "calls", "excepts", "returns", "boolops")
_KINDS: dict[str, tuple[type, ...]] = {
    "defs": (ast.FunctionDef, ast.AsyncFunctionDef),
    "classes": (ast.ClassDef,),
    "branches": (
        ast.If,
        ast.For,
        ast.While,
        ast.With,
        ast.Try,
        ast.IfExp,
        ast.AsyncFor,
        ast.AsyncWith,
        ast.comprehension,
    ),
    "imports": (ast.Import, ast.ImportFrom),
    "calls": (ast.Call,),
    "excepts": (ast.ExceptHandler,),
    "returns": (ast.Return,),
    "boolops": (ast.BoolOp,),
}
#: (time, files, fix-touch labels, all-commit-touch labels, ast counts per file id)
Period = tuple[int, list[FileSnapshot], list[int], list[int], dict[int, list[float]]]
Trainer = Callable[[list[Period]], Callable[[list[FileSnapshot], dict[int, list[float]]], np.ndarray]]


def _ast_counts(text: str | None) -> list[float]:
    counts = dict.fromkeys(AST_KEYS, 0)
    try:
        tree = ast.parse(text or "")
    except (SyntaxError, ValueError):
        return [0.0] * len(AST_KEYS)
    for node in ast.walk(tree):
        for key, kinds in _KINDS.items():
            if isinstance(node, kinds):
                counts[key] += 1
    return [math.log1p(counts[k]) for k in AST_KEYS]


def _cache(path: str, cache_dir: Path) -> dict[str, Any]:
    target = cache_dir / (Path(path).resolve().name + ".pkl")
    if target.exists():
        return dict(pickle.loads(target.read_bytes()))
    ws = open_workspace(path)
    ws.ingest()
    history = ws.history()
    ctx = MiningContext(ws.repo, ws.repo_id, history, ws.store, ws.settings)

    def is_source(p: str) -> bool:
        return p.endswith(".py") and ctx.is_source(p)

    first = min(c.committed_at for c in history.commits)
    last = history.now
    touches = [(c.committed_at, {t.file_id for t in c.touches}) for c in history.commits]
    reader = BlobReader(ws.repo.git_repo)
    snaps: dict[int, tuple[list[FileSnapshot], dict[int, int], dict[int, int], dict[int, list[float]]]] = {}
    at = last - H
    while at - first >= H:
        snap = take_snapshot(ws.repo, history, at, is_source)
        if snap is not None and snap.files:
            commits: dict[int, int] = {}
            for when, fids in touches:
                if at < when <= at + H:
                    for fid in fids:
                        commits[fid] = commits.get(fid, 0) + 1
            code = {f.file_id: _ast_counts(reader.read(snap.commit, f.path)) for f in snap.files}
            snaps[at] = (snap.files, fix_touches_between(history, at, at + H), commits, code)
        print(f"  {path}: snapshot {len(snaps)}", file=sys.stderr, flush=True)
        at -= STEP
    data = {"last": last, "snaps": snaps}
    cache_dir.mkdir(parents=True, exist_ok=True)
    target.write_bytes(pickle.dumps(data))
    return data


def _periods(data: dict[str, Any], cutoff: int, quarterly: bool) -> list[Period]:
    out: list[Period] = []
    for t in sorted(data["snaps"], reverse=True):
        step = round((data["last"] - H - t) / STEP)
        if t + H > cutoff or (not quarterly and step % 4) or data["last"] - t > 18 * H + 1:
            continue  # labels incomplete at the cutoff; off the yearly grid; beyond the backtest's 18 points
        files, fixes, commits, code = data["snaps"][t]
        out.append(
            (t, files, [fixes.get(f.file_id, 0) for f in files], [commits.get(f.file_id, 0) for f in files], code)
        )
    return out


def _x(files: Sequence[FileSnapshot], code: dict[int, list[float]] | None) -> np.ndarray:
    rows = [f.vector() + (code.get(f.file_id, [0.0] * len(AST_KEYS)) if code is not None else []) for f in files]
    return np.asarray(rows, dtype=float)


def _within(x: np.ndarray) -> np.ndarray:
    """Percentile rank of each column within one snapshot."""
    n = len(x)
    return np.column_stack([(_ranks(list(x[:, j])) - 1) / max(n - 1, 1) for j in range(x.shape[1])])


def shipped(periods: list[Period]) -> Callable[[list[FileSnapshot], dict[int, list[float]]], np.ndarray]:
    model = train_file_model([(files, fixes) for _t, files, fixes, _c, _a in periods])
    return lambda files, _code: np.asarray(model.scores(files))


def blend(kind: str, code: bool = False, target: str = "fix", within: bool = False) -> Trainer:
    """A learned ranking averaged (by rank) with the LOC/commits/TWR rank-average prior."""

    def train(periods: list[Period]) -> Callable[[list[FileSnapshot], dict[int, list[float]]], np.ndarray]:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.linear_model import PoissonRegressor, Ridge

        def feats(files: Sequence[FileSnapshot], ast_counts: dict[int, list[float]]) -> np.ndarray:
            x = _x(files, ast_counts if code else None)
            return _within(x) if within else x

        xs, ys = [], []
        for _t, files, fixes, commits, ast_counts in periods:
            xs.append(feats(files, ast_counts))
            y = np.asarray(fixes if target == "fix" else commits, dtype=float)
            ys.append(y / max(y.sum(), 1.0) * len(y) if within else y)
        x, y = np.vstack(xs), np.concatenate(ys)
        mu, sd = (x.mean(0), x.std(0)) if not within else (np.zeros(x.shape[1]), np.ones(x.shape[1]))
        sd[sd == 0] = 1.0
        model: Any
        if kind == "glm":
            model = PoissonRegressor(alpha=1.0, max_iter=2000)
        elif kind == "ridge":
            model = Ridge(alpha=1.0)
        else:
            model = HistGradientBoostingRegressor(
                loss="poisson", max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=20, random_state=0
            )
        with warnings.catch_warnings(), one_thread():
            warnings.simplefilter("ignore")
            model.fit((x - mu) / sd, y)

        def predict(files: list[FileSnapshot], ast_counts: dict[int, list[float]]) -> np.ndarray:
            pred = model.predict((feats(files, ast_counts) - mu) / sd)
            return np.asarray((_ranks(list(pred)) + rank_average(files)) / 2.0)

        return predict

    return train


VARIANTS: dict[str, tuple[Trainer, bool]] = {
    "shipped, yearly": (shipped, False),
    "shipped, quarterly snapshots": (shipped, True),
    "prior + GLM, quarterly": (blend("glm"), True),
    "prior + boosting, quarterly": (blend("gbm"), True),
    "prior + GLM + code structure, yearly": (blend("glm", code=True), False),
    "prior + GLM + code structure, quarterly": (blend("glm", code=True), True),
    "prior + boosting + code structure, quarterly": (blend("gbm", code=True), True),
    "prior + GLM on all commit touches, yearly": (blend("glm", target="commits"), False),
    "prior + ridge, within-snapshot ranks and fix shares, quarterly": (blend("ridge", within=True), True),
}


def _order(files: list[FileSnapshot], scores: np.ndarray) -> list[int]:
    idx = sorted(range(len(files)), key=lambda i: (-float(scores[i]), files[i].path))
    return [files[i].file_id for i in idx]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/empathy-file-variants"))
    parser.add_argument("--cutoffs", type=int, default=6)
    args = parser.parse_args()
    datasets = {path: _cache(path, args.cache) for path in args.repos}
    print("| variant | touch@20% | P@10 | prior touch@20% | prior P@10 |\n|---|---:|---:|---:|---:|")
    for name, (trainer, quarterly) in VARIANTS.items():
        per_repo: list[tuple[float, float, float, float]] = []
        for data in datasets.values():
            rows = []
            for k in range(1, args.cutoffs + 1):
                cutoff = data["last"] - k * H
                if cutoff not in data["snaps"]:
                    continue
                files, fixes, _commits, code = data["snaps"][cutoff]
                truth = {f.file_id: fixes.get(f.file_id, 0) for f in files}
                if not sum(truth.values()):
                    continue
                ours = _order(files, trainer(_periods(data, cutoff, quarterly))(files, code))
                prior = _order(files, rank_average(files))
                rows.append(
                    (
                        touch_at(ours, truth, 0.2),
                        precision_at(ours, truth, 10),
                        touch_at(prior, truth, 0.2),
                        precision_at(prior, truth, 10),
                    )
                )
            per_repo.append(tuple(statistics.fmean(r[i] for r in rows) for i in range(4)))  # type: ignore[arg-type]
        macro = [statistics.fmean(r[i] for r in per_repo) for i in range(4)]
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in macro) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
