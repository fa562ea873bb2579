"""Build real git repositories for tests, with GitPython and fixed dates.

Every commit gets a deterministic author date (a counter of days from a fixed
epoch unless given), so tests that look at time windows are reproducible.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import git

EPOCH = 1_600_000_000  # 2020-09-13


class RepoBuilder:
    """A small fluent helper: write files, commit, branch, merge."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git_repo = git.Repo.init(path, initial_branch="main")
        with self.git_repo.config_writer() as cw:
            cw.set_value("user", "name", "Test")
            cw.set_value("user", "email", "test@example.com")
            cw.set_value("commit", "gpgsign", "false")
        self.day = 0

    def write(self, relpath: str | bytes, content: str | bytes) -> Path:
        rel = os.fsdecode(relpath) if isinstance(relpath, bytes) else relpath
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def commit(
        self,
        message: str,
        files: dict[str, str | bytes] | None = None,
        author: tuple[str, str] = ("Alice", "alice@example.com"),
        day: int | None = None,
        delete: list[str] = (),  # type: ignore[assignment]
        allow_empty: bool = False,
    ) -> str:
        for rel, content in (files or {}).items():
            self.write(rel, content)
        for rel in delete:
            self.git_repo.git.rm("-q", rel)
        self.git_repo.git.add("-A")
        self.day = self.day + 1 if day is None else day
        when = f"{EPOCH + self.day * 86_400} +0000"
        env = {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": author[0],
            "GIT_COMMITTER_EMAIL": author[1],
            "GIT_COMMITTER_DATE": when,
        }
        args = ["-q", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        self.git_repo.git.commit(*args, env=env)
        return self.head()

    def rename(self, old: str, new: str, message: str = "rename", **kw: object) -> str:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git_repo.git.mv(old, new)
        return self.commit(message, **kw)  # type: ignore[arg-type]

    def head(self) -> str:
        return self.git_repo.head.commit.hexsha

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git_repo.git.checkout("-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.git_repo.git.checkout("-q", name)

    def merge(self, branch: str, message: str = "merge") -> str:
        self.day += 1
        when = f"{EPOCH + self.day * 86_400} +0000"
        env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        self.git_repo.git.merge("--no-ff", "-q", "-m", message, branch, env=env)
        return self.head()


def py_source(n_functions: int, depth: int = 1, tag: str = "") -> str:
    """Deterministic Python text with ``n_functions`` nested to ``depth`` levels."""
    lines = []
    for i in range(n_functions):
        lines.append(f"def f{tag}{i}(x):")
        for d in range(1, depth + 1):
            lines.append("    " * d + f"if x > {d}:")
        lines.append("    " * (depth + 1) + f"return x + {i}")
        lines.append("    return 0")
        lines.append("")
    return "\n".join(lines) + "\n"


#: (path at commit time, lines added, lines deleted); counts are None for binary files.
NumstatChange = tuple[str, int | None, int | None]


def plain_numstat(path: Path, *extra: str) -> dict[str, list[NumstatChange]]:
    """sha -> changes from git's own plain ``git log --numstat -M``, renames resolved to the new path.

    An oracle independent of the ``-z`` parser under test (a different framing).
    """
    out = subprocess.run(
        ["git", "log", "--numstat", "-M", "--format=@@%H", *extra, "HEAD"],
        cwd=path,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "backslashreplace")
    result: dict[str, list[NumstatChange]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("@@"):
            current = line[2:]
            result[current] = []
        elif line.strip():
            a, d, p = line.split("\t", 2)
            if "{" in p and " => " in p:
                p = re.sub(r"\{([^{}]*) => ([^{}]*)\}", r"\2", p).replace("//", "/").lstrip("/")
            elif " => " in p:
                p = p.split(" => ", 1)[1]
            result[current].append((p, None if a == "-" else int(a), None if d == "-" else int(d)))
    return result


def build_history(repo: RepoBuilder, rounds: int = 140) -> None:
    """Features append lines to core.py; every other feature's lines are later fixed.

    Enough labelled changes (B-SZZ links from the fixes) for the change model to
    score instead of falling back; the change-risk CLI and the gate tests share it.
    """
    body: list[str] = []
    day = 0
    for k in range(rounds):
        body += [f"x{k}_{j} = {j}\n" for j in range(1 + k % 5)]
        day += 1
        repo.commit(f"feature {k}", {"core.py": "".join(body), "util.py": f"u = {k}\n"}, day=day)
        if k % 2 == 0:
            body = [line.replace(f"x{k}_0 = 0", f"x{k}_0 = -1") for line in body]
            day += 1
            repo.commit(f"fix bug {k}", {"core.py": "".join(body)}, day=day)


def build_partner_history(repo: RepoBuilder, rounds: int = 70, api: str = "api.py", client: str = "client.py") -> None:
    """Files that change together, often enough for the co-change index to learn and to warn.

    Each round: ``api.py`` with ``client.py``; a module ``src/mN.py`` with its test
    ``tests/test_mN.py``; every fourth round ``api.py`` alone (so it is 4 of 5, not always).
    About 160 commits over ``2 * rounds`` days, by three authors in turn (so no file is
    one person's knowledge island).
    """
    people = [("Alice", "alice@example.com"), ("Bob", "bob@example.com"), ("Cara", "cara@example.com")]
    for k in range(rounds):
        who = people[k % 3]
        repo.commit(f"extend the api {k}", {api: f"a = {k}\n", client: f"c = {k}\n"}, author=who)
        m = k % 5
        files = {f"src/m{m}.py": f"x = {k}\n", f"tests/test_m{m}.py": f"t = {k}\n"}
        repo.commit(f"grow module {m} ({k})", files, author=who)
        if k % 4 == 3:
            repo.commit(f"tune the api {k}", {api: f"a = {k}  # tuned\n"}, author=who)
