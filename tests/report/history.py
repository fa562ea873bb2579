"""A small real repository with every kind of history the visual report draws.

Two years of commits by four people: a pair of files that always change
together (coupling), a core module whose bugs keep being fixed (fixes, a
forecast to rank), tests beside it, a module written by someone who left
(knowledge loss), a file and an author with characters HTML must escape, a
formatter sweep listed in ``.git-blame-ignore-revs`` (bulk), release tags,
and a ``feature`` branch for the gate to decide on.
"""

from __future__ import annotations

from pathlib import Path

from tests.gitrepo import RepoBuilder, py_source

ALICE = ("Alice", "alice@example.com")
BOB = ("Bob", "bob@example.com")
OSCAR = ("Oscar Old", "oscar@example.com")
#: an author and a file name that break a page that does not escape them
ODD_AUTHOR = ('Zoë "Z" <O\'Brien> & Co', "zoe@example.com")
ODD_FILE = 'src/zoë <i>/odd <b>&"name".py'


def build_report_history(path: Path, rounds: int = 90) -> RepoBuilder:
    repo = RepoBuilder(path)
    people = [ALICE, BOB]
    day = 0
    for k in range(rounds):
        who = people[k % 2]
        day += 7
        repo.commit(
            f"extend the api ({k})",
            {
                "src/app/api.py": py_source(3 + k % 4, tag=f"a{k}"),
                "src/app/client.py": py_source(2 + k % 3, tag=f"c{k}"),
            },
            author=who,
            day=day,
        )
        if k % 3 == 0:
            day += 1
            repo.commit(
                f"grow the core ({k})",
                {"src/app/core.py": py_source(4 + k // 3, depth=1 + k // 30, tag="k"),
                 "tests/test_core.py": f"def test_{k}():\n    assert True\n"},
                author=who,
                day=day,
            )
        if k % 4 == 1:
            day += 1
            repo.commit(
                f"fix crash in core parsing when the input is empty ({k})",
                {"src/app/core.py": py_source(4 + k // 3, depth=1 + k // 30, tag=f"f{k}")},
                author=who,
                day=day,
            )
        if k < 25:
            day += 1
            repo.commit(f"parser step {k}", {"src/lib/parse.py": py_source(3 + k, tag="p")}, author=OSCAR, day=day)
        if k == rounds - 5:  # a small recent change: the module is still in use, its author long gone
            day += 1
            text = (repo.path / "src/lib/parse.py").read_text(encoding="utf-8") + "LIMIT = 10\n"
            repo.commit("parser: a limit", {"src/lib/parse.py": text}, author=ALICE, day=day)
        if k % 5 == 2:
            day += 1
            repo.commit(f"odd module {k}", {ODD_FILE: py_source(2 + k // 5, tag="o")}, author=ODD_AUTHOR, day=day)
        if k % 20 == 19:
            repo.git_repo.create_tag(f"v1.{k // 20}")
        if k == rounds // 2:
            day += 1
            files = {
                p: (repo.path / p).read_text(encoding="utf-8").replace("return 0", "return  0")
                for p in ("src/app/api.py", "src/app/client.py", "src/app/core.py", "src/lib/parse.py")
            }
            sweep = repo.commit("style: reformat with the formatter", files, author=BOB, day=day)
            day += 1
            repo.commit("ignore the formatter sweep in blame", {".git-blame-ignore-revs": sweep + "\n"}, day=day)
    repo.branch("feature")
    repo.commit(
        "feature: a bigger core",
        {"src/app/core.py": py_source(40, depth=3, tag="n"), "src/app/api.py": py_source(9, tag="n")},
        day=day + 2,
    )
    repo.checkout("main")
    return repo
