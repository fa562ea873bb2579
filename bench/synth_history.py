"""Deterministic synthetic git history for ingest benchmarks.

    python bench/synth_history.py OUT_DIR --commits 100000 --seed 1

Writes a normal (non-bare) repository to OUT_DIR with exactly ``--commits``
commits (merges and side-branch commits included), streamed through a single
``git fast-import`` process, then checks out the work tree and repacks it
(``git repack -a -d -f``) so its pack looks like a clone's.  100,000 commits
take about 2.5 min to import and repack on 2 cores.

The same ``--seed`` and ``--commits`` always give the same commit shas: every
author/committer date, name, path and byte of content comes from one seeded
``random.Random``.

Shape (roughly what a mid-sized, long-lived Python project looks like):

* files are added over time, from ~150 in the first commit to ~3,500 after 100k commits,
  in nested directories (``src/<pkg>/<sub>/...``, ``tests/...``, ``docs/...``);
* Python-like text (indented ``def``/``class``/``if`` blocks), plus some
  Markdown/TOML/text files and ~1% binary files (PNG-like bytes with NULs);
* each ordinary commit modifies a few lines (replace/insert/delete hunks) in
  1-10 files; file choice is skewed: old files are hot, and recently added
  files get a burst of activity;
* occasional renames (a file moved to another directory, content almost
  unchanged, so git detects a rename), occasional deletes;
* a dozen authors, several with two identities unified by a ``.mailmap``;
* ~15% of messages mention "fix"/"bug";
* a few file names that are not valid UTF-8 (Latin-1 bytes);
* every ~50 commits a short side branch (1-3 commits) that is merged back
  with a real merge commit, while the main line moves on in between.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["generate"]

# 2012-01-01T00:00:00Z.  Commits are on average an hour apart, so 100,000
# commits end in 2023: the whole history lies in the past, and a commit made
# today on top of it is newer than its parent (a history whose dates run into
# the future makes git's walks for `HEAD ^old` much slower, which would
# distort the incremental benchmark).
START_EPOCH = 1_325_376_000

_WORDS = (
    "data value item node user config cache token path index buffer result state "
    "event handler request response client server session record entry query "
    "parser reader writer stream batch chunk frame table column row schema field "
    "module plugin hook report report_id count total size limit offset key name "
    "source target parent child left right start end retry timeout error"
).split()
_PKGS = ["core", "api", "cli", "storage", "net", "utils", "plugins", "models", "services", "io"]
_SUBS = ["internal", "backends", "helpers", "compat", "v1", "v2", "ext", "impl", "common", "legacy"]
_TOP_TEXT = ["docs", "docs/guide", "docs/reference", "changelog.d", "config"]

# (canonical name, canonical email, aliases as (name, email) written in commits)
_PEOPLE = [
    ("Alice Moreau", "alice@example.org", [("alice", "alice@old-laptop.local")]),
    ("Bob Tanaka", "bob@example.org", [("Bob T.", "bob.tanaka@users.noreply.example.com")]),
    ("Chloé Durand", "chloe@example.org", []),
    ("Dmitri Ivanov", "dmitri@example.org", [("dmitri", "dima@home.example.net")]),
    ("Eve Okafor", "eve@example.org", []),
    ("Farid Haddad", "farid@example.org", []),
    ("Grace Lin", "grace@example.org", [("Grace", "grace.lin@corp.example.com")]),
    ("Hiro Sato", "hiro@example.org", []),
    ("Ines Costa", "ines@example.org", []),
    ("Jonas Berg", "jonas@example.org", []),
    ("Kavya Rao", "kavya@example.org", [("kavya", "kavya@ci.example.org")]),
    ("Liam O'Neil", "liam@example.org", []),
]
_TZ = ["+0000", "+0100", "+0200", "-0500", "+0530", "+0900", "-0800"]

_MSG_FIX = [
    "Fix {w} handling in {f}",
    "fix: {w} was not reset after {w2}",
    "Fix off-by-one in {f}",
    "bug: {f} crashed on empty {w}",
    "Fix regression in {w} {w2} (bug #{n})",
    "fix flaky test for {w}",
]
_MSG_OTHER = [
    "Add {w} support to {f}",
    "Refactor {w} {w2}",
    "Update {f}",
    "Improve {w} performance",
    "Document {w} options",
    "Rename {w} to {w2}",
    "Clean up {f}",
    "Tweak {w} defaults",
    "Extend {w} tests",
    "Bump version",
]


@dataclass
class _State:
    rng: random.Random
    files: dict[bytes, list[bytes] | bytes] = field(default_factory=dict)  # path -> lines or binary blob
    order: list[bytes] = field(default_factory=list)  # creation order, for hot/cold skew
    dirs: list[bytes] = field(default_factory=list)
    serial: int = 0
    now: int = START_EPOCH

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


def _ident(rng: random.Random) -> str:
    return rng.choice(_WORDS) + "_" + rng.choice(_WORDS)


def _code_line(rng: random.Random, indent: int) -> bytes:
    pad = "    " * indent
    r = rng.random()
    a, b = rng.choice(_WORDS), rng.choice(_WORDS)
    if r < 0.35:
        text = f"{a} = {b}.get({rng.choice(_WORDS)!r}, {rng.randint(0, 99)})"
    elif r < 0.55:
        text = f"{a}_{b} = compute_{rng.choice(_WORDS)}({a}, {b})"
    elif r < 0.7:
        text = f"if {a} > {rng.randint(0, 500)}:"
    elif r < 0.8:
        text = f"return {a}_{b}"
    elif r < 0.9:
        text = f"# {a} {b} {rng.choice(_WORDS)} {rng.choice(_WORDS)}"
    else:
        text = f"self.{a}.append({b})"
    return (pad + text + "\n").encode()


def _python_file(rng: random.Random, n_funcs: int) -> list[bytes]:
    lines = [b'"""Module generated for benchmarks."""\n', b"\n", b"import os\n", b"import sys\n", b"\n"]
    for _ in range(n_funcs):
        if rng.random() < 0.25:
            lines.append(f"class {_ident(rng).title().replace('_', '')}:\n".encode())
            lines.append(f"    def {_ident(rng)}(self, {rng.choice(_WORDS)}):\n".encode())
            base = 2
        else:
            lines.append(f"def {_ident(rng)}({rng.choice(_WORDS)}, {rng.choice(_WORDS)}=None):\n".encode())
            base = 1
        for _ in range(rng.randint(3, 12)):
            lines.append(_code_line(rng, base + (1 if rng.random() < 0.3 else 0)))
        lines.append(b"\n")
    return lines


def _text_file(rng: random.Random, n: int) -> list[bytes]:
    out = [f"# {_ident(rng)}\n".encode(), b"\n"]
    for _ in range(n):
        out.append((" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12))) + "\n").encode())
    return out


def _binary(rng: random.Random) -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(rng.randint(300, 3000))


def _new_dir(st: _State) -> bytes:
    rng = st.rng
    r = rng.random()
    if r < 0.65:
        parts = ["src", rng.choice(_PKGS)]
        parts.extend(rng.sample(_SUBS, rng.randint(0, 2)))
    elif r < 0.9:
        parts = ["tests", rng.choice(_PKGS)]
        if rng.random() < 0.4:
            parts.append(rng.choice(_SUBS))
    else:
        parts = [rng.choice(_TOP_TEXT)]
    return "/".join(parts).encode()


def _pick_dir(st: _State) -> bytes:
    if not st.dirs or st.rng.random() < 0.08:
        d = _new_dir(st)
        if d not in st.dirs:
            st.dirs.append(d)
        return d
    return st.rng.choice(st.dirs)


def _new_path(st: _State) -> tuple[bytes, list[bytes] | bytes]:
    rng = st.rng
    d = _pick_dir(st)
    n = st.next_serial()
    r = rng.random()
    if r < 0.01:
        return d + f"/img_{n}.png".encode(), _binary(rng)
    if r < 0.012:  # a name that is not valid UTF-8 (Latin-1 "é" / "ü")
        return d + b"/caf\xe9_" + str(n).encode() + b"_m\xfcller.py", _python_file(rng, rng.randint(1, 6))
    if d.startswith((b"docs", b"changelog")) or r < 0.06:
        ext = rng.choice([".md", ".rst", ".txt"])
        return d + f"/{_ident(rng)}_{n}{ext}".encode(), _text_file(rng, rng.randint(5, 60))
    if r < 0.08:
        return d + f"/settings_{n}.toml".encode(), _text_file(rng, rng.randint(3, 20))
    prefix = "test_" if d.startswith(b"tests") else ""
    return d + f"/{prefix}{_ident(rng)}_{n}.py".encode(), _python_file(rng, rng.randint(1, 8))


def _pick_file(st: _State, avoid: set[bytes]) -> bytes | None:
    rng = st.rng
    order = st.order
    for _ in range(20):
        if rng.random() < 0.3:
            path = order[-1 - int(rng.random() * min(40, len(order)))]  # recent burst
        else:
            path = order[int(len(order) * rng.random() ** 3)]  # old files are hot
        if path not in avoid:
            return path
    return None


def _modify(st: _State, content: list[bytes] | bytes) -> list[bytes] | bytes:
    rng = st.rng
    if isinstance(content, bytes):  # binary: rewrite a slice
        cut = rng.randint(16, max(17, len(content) - 1))
        return content[:cut] + rng.randbytes(rng.randint(10, 400))
    lines = list(content)
    for _ in range(rng.randint(1, 3)):
        n = len(lines)
        pos = rng.randint(5, max(5, n - 1)) if n > 6 else n
        kind = rng.random()
        indent = rng.randint(1, 2)
        if kind < 0.5 and n > 6:  # replace 1-4 lines
            k = min(rng.randint(1, 4), n - pos)
            lines[pos : pos + k] = [_code_line(rng, indent) for _ in range(k)]
        elif kind < 0.8 or n < 40:  # insert 1-8 lines
            lines[pos:pos] = [_code_line(rng, indent) for _ in range(rng.randint(1, 8))]
        else:  # delete 1-6 lines
            del lines[pos : pos + rng.randint(1, 6)]
    if len(lines) > 400:  # keep files from growing without bound
        del lines[200:260]
    return lines


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _blob(content: list[bytes] | bytes) -> bytes:
    return content if isinstance(content, bytes) else b"".join(content)


def _message(rng: random.Random, path: bytes | None) -> bytes:
    f = os.path.basename(path).decode("utf-8", "replace") if path else "the code"
    tpl = rng.choice(_MSG_FIX if rng.random() < 0.15 else _MSG_OTHER)
    subject = tpl.format(w=rng.choice(_WORDS), w2=rng.choice(_WORDS), f=f, n=rng.randint(1, 9999))
    if rng.random() < 0.4:
        body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))
        return f"{subject}\n\n{body}\n".encode()
    return (subject + "\n").encode()


def _mailmap() -> bytes:
    lines = []
    for name, email, aliases in _PEOPLE:
        for _alias_name, alias_email in aliases:
            lines.append(f"{name} <{email}> <{alias_email}>")
    return ("\n".join(lines) + "\n").encode()


class _Writer:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.buf: list[bytes] = []
        self.size = 0

    def write(self, b: bytes) -> None:
        self.buf.append(b)
        self.size += len(b)
        if self.size > 1 << 20:
            self.flush()

    def flush(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(self.buf))
        self.buf, self.size = [], 0


def _commit(
    w: _Writer,
    st: _State,
    ref: bytes,
    mark: int,
    ops: list[bytes],
    message: bytes,
    from_mark: int | None = None,
    merge_mark: int | None = None,
) -> None:
    rng = st.rng
    st.now += rng.randint(60, 2 * 3600)
    name, email, aliases = rng.choice(_PEOPLE)
    if aliases and rng.random() < 0.35:
        name, email = rng.choice(aliases)
    tz = rng.choice(_TZ)
    author_time = st.now - rng.randint(0, 3 * 3600)
    parts = [
        b"commit " + ref + b"\n",
        b"mark :%d\n" % mark,
        f"author {name} <{email}> {author_time} {tz}\n".encode(),
        f"committer {name} <{email}> {st.now} {tz}\n".encode(),
        _data(message),
    ]
    if from_mark is not None:
        parts.append(b"from :%d\n" % from_mark)
    if merge_mark is not None:
        parts.append(b"merge :%d\n" % merge_mark)
    parts.extend(ops)
    w.write(b"".join(parts))


def _m(path: bytes, content: list[bytes] | bytes) -> bytes:
    return b"M 100644 inline " + path + b"\n" + _data(_blob(content))


def _d(path: bytes) -> bytes:
    return b"D " + path + b"\n"


def _ordinary_ops(
    st: _State, avoid: set[bytes], touched: dict[bytes, list[bytes] | bytes | None]
) -> tuple[list[bytes], bytes | None]:
    """Ops for one ordinary commit; records every touched path in ``touched``."""
    rng = st.rng
    ops: list[bytes] = []
    first: bytes | None = None
    r = rng.random()
    if r < 0.02 or len(st.order) < 150:  # add 1-3 files
        for _ in range(rng.randint(1, 3)):
            path, content = _new_path(st)
            if path in st.files or path in avoid:
                continue
            st.files[path] = content
            st.order.append(path)
            touched[path] = content
            ops.append(_m(path, content))
            first = first or path
        if ops:
            return ops, first
    if r < 0.03 and len(st.order) > 300:  # rename: move to another directory
        path = _pick_file(st, avoid)
        if path is not None and not isinstance(st.files[path], bytes):
            new_dir = _pick_dir(st)
            new = new_dir + b"/" + path.rsplit(b"/", 1)[-1]
            if new not in st.files and new not in avoid:
                content = st.files.pop(path)
                if rng.random() < 0.5:  # small edit alongside the move
                    assert not isinstance(content, bytes)
                    content = list(content)
                    content.append(_code_line(rng, 1))
                st.files[new] = content
                st.order[st.order.index(path)] = new
                touched[path] = None
                touched[new] = content
                return [_d(path), _m(new, content)], new
    if r < 0.035 and len(st.order) > 300:  # delete
        path = _pick_file(st, avoid)
        if path is not None:
            del st.files[path]
            st.order.remove(path)
            touched[path] = None
            return [_d(path)], path
    # modify 1-10 files (skewed to few)
    n = min(10, 1 + int(rng.expovariate(0.6)))
    seen: set[bytes] = set()
    for _ in range(n):
        path = _pick_file(st, avoid | seen)
        if path is None:
            continue
        seen.add(path)
        content = _modify(st, st.files[path])
        st.files[path] = content
        touched[path] = content
        ops.append(_m(path, content))
        first = first or path
    return ops, first


def _write_stream(w: _Writer, commits: int, seed: int) -> None:
    st = _State(rng=random.Random(seed))
    rng = st.rng
    main = b"refs/heads/main"
    topic = b"refs/heads/topic"
    mark = 0

    # Root commit: .mailmap, README, pyproject and an initial set of modules.
    ops = [_m(b".mailmap", _mailmap()), _m(b"README.md", _text_file(rng, 30))]
    ops.append(_m(b"pyproject.toml", _text_file(rng, 12)))
    for _ in range(150):
        path, content = _new_path(st)
        if path in st.files:
            continue
        st.files[path] = content
        st.order.append(path)
        ops.append(_m(path, content))
    mark += 1
    _commit(w, st, main, mark, ops, b"Initial import\n")
    main_tip = mark
    made = 1
    next_merge = made + rng.randint(40, 60)

    while made < commits:
        if made >= next_merge and commits - made >= 4:
            # side branch of 1-3 commits from main_tip, 0-2 main commits, then a merge
            base = main_tip
            side_touched: dict[bytes, list[bytes] | bytes | None] = {}
            side_tip = base
            n_side = rng.randint(1, 3)
            for i in range(n_side):
                ops, first = _ordinary_ops(st, set(), side_touched)
                mark += 1
                _commit(w, st, topic, mark, ops, _message(rng, first), from_mark=side_tip if i == 0 else None)
                side_tip = mark
                made += 1
            # ``st`` now holds "main + side".  The main-line commits made before the merge
            # only touch paths the side branch did not, so main's real tree is ``st`` minus
            # the side's changes, and the merge commit just writes the side's final contents
            # on top of main (a clean, conflict-free merge).
            n_main = min(rng.randint(0, 2), commits - made - 1)
            for _ in range(n_main):
                main_touched: dict[bytes, list[bytes] | bytes | None] = {}
                ops, first = _ordinary_ops(st, set(side_touched), main_touched)
                if not ops:
                    ops = [_m(b"README.md", _text_file(rng, 30))]
                mark += 1
                _commit(w, st, main, mark, ops, _message(rng, first))
                main_tip = mark
                made += 1
            merge_ops = [
                _d(p) if c is None else _m(p, c) for p, c in sorted(side_touched.items()) if p in st.files or c is None
            ]
            mark += 1
            _commit(
                w,
                st,
                main,
                mark,
                merge_ops,
                b"Merge branch 'topic-%d'\n" % mark,
                merge_mark=side_tip,
            )
            main_tip = mark
            made += 1
            next_merge = made + rng.randint(40, 60)
            continue
        ops, first = _ordinary_ops(st, set(), {})
        if not ops:
            ops = [_m(b"README.md", _text_file(rng, 30))]
        mark += 1
        _commit(w, st, main, mark, ops, _message(rng, first))
        main_tip = mark
        made += 1
    w.write(b"done\n")


def generate(out_dir: Path, commits: int = 100_000, seed: int = 1, quiet: bool = True, repack: bool = True) -> Path:
    """Create the repository at ``out_dir`` (must not exist or be empty); return its path.

    ``repack``: fast-import only deltifies a blob against the previous blob in
    the stream (another file, mostly), so its pack is ~3x larger than a clone
    of the same history; ``git repack -a -d -f`` makes it look like one (same
    commit shas either way).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} exists and is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(out_dir)], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "-C", str(out_dir), "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
        env=env,
    )
    w = _Writer(proc)
    try:
        _write_stream(w, commits, seed)
        w.flush()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"git fast-import failed with exit code {proc.returncode}")
    subprocess.run(["git", "-C", str(out_dir), "update-ref", "-d", "refs/heads/topic"], check=True, env=env)
    subprocess.run(["git", "-C", str(out_dir), "reset", "-q", "--hard", "main"], check=True, env=env)
    if repack:
        if not quiet:
            print("repacking", out_dir, file=sys.stderr)
        subprocess.run(
            ["git", "-C", str(out_dir), "repack", "-a", "-d", "-f", "-q", "--window=10", "--depth=50"],
            check=True,
            env=env,
        )
    if not quiet:
        print("done", out_dir, file=sys.stderr)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="delete OUT_DIR first if it exists")
    ap.add_argument("--no-repack", action="store_true", help="keep fast-import's (larger) pack as is")
    args = ap.parse_args(argv)
    if args.force and args.out_dir.exists():
        shutil.rmtree(args.out_dir)
    t0 = time.perf_counter()
    path = generate(args.out_dir, args.commits, args.seed, quiet=False, repack=not args.no_repack)
    head = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    count = subprocess.run(
        ["git", "-C", str(path), "rev-list", "--count", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"{path}: {count} commits, HEAD {head}, {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
