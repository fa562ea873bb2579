#!/usr/bin/env python3
"""Commit labels on a real clone: timing, what was learned, rule hit counts, and the gold metrics.

Usage (from the project root, or any directory: the script finds the package itself):

    python bench/label_dev.py CLONE                       # timing, conventions, rule hit counts
    python bench/label_dev.py CLONE --gold /work/shared/gold --name pytest
                                                          # + the metrics of /work/shared/eval/label_eval.py
    python bench/label_dev.py CLONE --batch-json SHA...   # [{"sha","fix","bulk","kind","why"}...] only
    python bench/label_dev.py CLONE --sample 40 --seed 1  # 40 random commits with their labels, to read

The official harness calls the batch mode itself, with the clone as working directory:

    python /work/shared/eval/label_eval.py /work/repos/pytest /work/shared/gold pytest \\
        --cmd 'python bench/label_dev.py . --batch-json {shas}'

The facts come from one ``git log --reverse --topo-order -z --numstat -M`` of HEAD, parsed by the
ingest's own parser; ``new`` is derived from a path's first appearance (a rename's target is not
new).  Release tags (``git for-each-ref refs/tags``) and ``.git-blame-ignore-revs`` at HEAD are
read with two more plain git commands.  Nothing in the clone is modified.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathy.core.history.gitlog import LOG_FORMAT, parse_log_stream
from empathy.core.labels import CommitFacts, FileChange, Label, classify_all, learn_conventions

LOG_ARGS = (
    "log", "--reverse", "--topo-order", "-z", "--numstat", "-M", "--no-color", "--no-ext-diff",
    "--diff-merges=off", "--encoding=UTF-8", f"--format={LOG_FORMAT}", "HEAD",
)  # fmt: skip


def git(clone: str, *args: str) -> str:
    return subprocess.run(["git", "-C", clone, *args], capture_output=True, text=True, check=False).stdout


def read_facts(clone: str) -> list[CommitFacts]:
    """One streamed git log, parents first; ``new`` marks a path's first appearance."""
    proc = subprocess.Popen(["git", "-C", clone, *LOG_ARGS], stdout=subprocess.PIPE)
    assert proc.stdout is not None

    def chunks() -> Iterator[bytes]:
        assert proc.stdout is not None
        while block := proc.stdout.read(1 << 20):
            yield block

    seen: set[str] = set()
    facts: list[CommitFacts] = []
    for rec in parse_log_stream(chunks()):
        files = []
        for ch in rec.changes:
            new = ch.old_path is None and ch.path not in seen
            seen.add(ch.path)
            files.append(FileChange(ch.path, ch.added, ch.deleted, new, ch.old_path))
        facts.append(
            CommitFacts(rec.sha, tuple(rec.parents), rec.author_name, rec.author_email, rec.message, tuple(files))
        )
    if proc.wait() != 0:
        raise SystemExit(f"git log failed in {clone}")
    return facts


def release_tags(clone: str) -> dict[str, str]:
    """Tagged commit -> tag name (annotated tags peeled to their commit)."""
    tags: dict[str, str] = {}
    out = git(clone, "for-each-ref", "refs/tags", "--format=%(objectname) %(*objectname) %(refname:short)")
    for line in out.splitlines():
        obj, peeled, name = line.split(" ", 2)
        tags.setdefault(peeled or obj, name)
    return tags


def blame_ignore_revs(clone: str) -> list[str]:
    text = git(clone, "show", "HEAD:.git-blame-ignore-revs")
    return [line.split()[0] for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def label_eval_metrics(name: str, gold_dir: str, labels: dict[str, Label]) -> dict[str, object]:
    """Exactly the computation of /work/shared/eval/label_eval.py, on our labels instead of a command's output."""
    sample: dict[str, tuple[str, int]] = {}
    for line in open(f"{gold_dir}/{name}.sample.tsv"):
        if line.startswith("#") or not line.strip():
            continue
        sha, st, size = line.rstrip("\n").split("\t")
        sample[sha] = (st, int(size))
    gold: dict[str, tuple[str, str]] = {}
    for line in open(f"{gold_dir}/{name}.judged.tsv"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3 and parts[0] in sample:
            gold[parts[0]] = (parts[1].strip().upper(), parts[2].strip().upper())
    shas = sorted(gold)
    proj = {s: (labels[s].fix, labels[s].bulk) for s in shas if s in labels}
    n_strata: dict[str, list[int]] = {}
    for sha in shas:
        st, size = sample[sha]
        n_strata.setdefault(st, [0, size])[0] += 1
    w = {st: size / n for st, (n, size) in n_strata.items()}

    def prf(pred: object) -> dict[str, float]:
        assert callable(pred)
        tp = fp = fn = 0.0
        for sha in shas:
            g, _ = gold[sha]
            if g == "U":
                continue
            wt = w[sample[sha][0]]
            pos = pred(sha)
            if pos and g == "B":
                tp += wt
            elif pos:
                fp += wt
            elif g == "B":
                fn += wt
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
        return {"precision": round(pr, 3), "recall": round(rc, 3), "f1": round(f1, 3)}

    missing = [s for s in shas if s not in proj]
    bulk_gold = [s for s in shas if gold[s][1] == "Y"]
    return {
        "repo": name,
        "judged": len(shas),
        "unclear": sum(1 for s in shas if gold[s][0] == "U"),
        "answered": len(shas) - len(missing),
        "project": prf(lambda s: proj.get(s, (False, False))[0]),
        "keyword": prf(lambda s: sample[s][0] == "F"),
        "bulk": {
            "gold": len(bulk_gold),
            "found": sum(1 for s in bulk_gold if proj.get(s, (False, False))[1]),
            "false": sum(1 for s in shas if gold[s][1] != "Y" and proj.get(s, (False, False))[1]),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clone")
    ap.add_argument("--gold", default="/work/shared/gold")
    ap.add_argument("--name", help="gold set name (pytest, celery, ...): print label_eval.py's metrics")
    ap.add_argument("--batch-json", nargs="+", metavar="SHA", help="print only these commits' labels as JSON")
    ap.add_argument("--no-tags", action="store_true", help="do not read release tags (store-only facts)")
    ap.add_argument("--sample", type=int, default=0, help="print this many random non-merge commits' labels")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    t0 = time.perf_counter()
    facts = read_facts(a.clone)
    tags = {} if a.no_tags else release_tags(a.clone)
    ignore = blame_ignore_revs(a.clone)
    t1 = time.perf_counter()
    conventions = learn_conventions(facts, blame_ignore_revs=ignore, release_tags=tags)
    t2 = time.perf_counter()
    labels = classify_all(facts, conventions)
    t3 = time.perf_counter()

    if a.batch_json:
        out = []
        for want in a.batch_json:
            sha = want if want in labels else next((s for s in labels if s.startswith(want)), None)
            if sha is None:
                continue
            lab = labels[sha]
            out.append({"sha": sha, "fix": lab.fix, "bulk": lab.bulk, "kind": str(lab.kind), "why": list(lab.why)})
        print(json.dumps(out))
        return

    print(f"{a.clone}: {len(facts)} commits")
    print(f"  git log + parse + tags: {t1 - t0:.2f} s")
    print(f"  learn conventions:      {t2 - t1:.2f} s")
    print(f"  classify all:           {t3 - t2:.2f} s   (learn + classify {t3 - t1:.2f} s)")
    print("conventions:")
    for line in conventions.describe():
        print(f"  - {line}")
    rules: Counter[tuple[str, str]] = Counter()
    for lab in labels.values():
        rules[(lab.rule, "fix" if lab.fix else "bulk" if lab.bulk else "other")] += 1
    print("rule hits (rule, outcome, commits):")
    for (rule, outcome), n in sorted(rules.items(), key=lambda kv: -kv[1]):
        print(f"  {rule:14s} {outcome:6s} {n:6d}")
    kinds = Counter(str(lab.kind) for lab in labels.values())
    print("kinds: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    fixes = sum(lab.fix for lab in labels.values())
    print(f"fix {fixes}, bulk {sum(lab.bulk for lab in labels.values())}, uncertain "
          f"{sum(not lab.certain for lab in labels.values())} of {len(labels)}")  # fmt: skip
    if a.sample:
        rng = random.Random(a.seed)
        pool = [c for c in facts if not c.is_merge]
        print(f"sample of {a.sample} non-merge commits (seed {a.seed}):")
        for c in sorted(rng.sample(pool, min(a.sample, len(pool))), key=facts.index):
            lab = labels[c.sha]
            flag = "FIX " if lab.fix else "BULK" if lab.bulk else "    "
            sure = "" if lab.certain else "?"
            print(f"  {c.sha[:8]} {flag} {lab.kind!s:12s}{sure:1s} {c.subject[:70]!r}")
            print(f"  {'':8s}      {'; '.join(lab.why)[:150]}")
    if a.name:
        print(json.dumps(label_eval_metrics(a.name, a.gold, labels)))


if __name__ == "__main__":
    main()
