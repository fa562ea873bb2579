"""A small real repository with known history: coupled files, a hotspot, a growing function.

Built once per test module with :class:`tests.gitrepo.RepoBuilder` and copied
per test, so every language-server test runs against real git history.
"""

from __future__ import annotations

from pathlib import Path

from tests.gitrepo import RepoBuilder, build_partner_history, py_source

SETTINGS = """\
[plugins.coupling]
min_revs = 3
min_shared_revs = 3
[plugins.churn]
top_share = 0.5
"""

#: The hotspot's first line: an emoji (2 UTF-16 units) so ranges must be converted.
CORE_FIRST_LINE = "# 🙂 core: the busiest file"
FLAT_HEAD = "def g(x):\n    return x\n\n\n"


def core_text(k: int) -> str:
    return CORE_FIRST_LINE + "\n" + "".join(f"v{i} = {k}\n" for i in range(40))


def build(path: Path) -> RepoBuilder:
    """api.py and client.py change together; core.py changes 12 times; growing.py gets deeper.

    The co-change history (about 160 commits, long before the recent window, so it moves
    no hotspot) lets the co-change index learn and calibrate its warnings; the recent
    part is what the other findings are about.
    """
    repo = RepoBuilder(path)
    build_partner_history(repo, rounds=70)
    repo.day += 400  # the recent window (365 days) starts after the co-change history
    for k in range(4):
        repo.commit(f"feature {k}", {"api.py": f"a = {k}\n", "client.py": f"c = {k}\n"})
    repo.commit("api only", {"api.py": "a = 99\n"})
    for k in range(12):
        repo.commit(f"work {k}", {"core.py": core_text(k)})
    # Eight revisions of growing nesting: enough for the trend's confidence to clear the trust gate.
    depths = [1, 1, 2, 2, 3, 3, 4]
    revisions = [py_source(3, d) for d in depths] + [FLAT_HEAD + py_source(3, 5)]
    for i, text in enumerate(revisions):
        repo.commit(f"grow {i}", {"growing.py": text + f"# revision {i}\n"})
    (path / ".empathy.toml").write_text(SETTINGS, encoding="utf-8")
    (path / ".git" / "info" / "exclude").write_text(".empathy.toml\n", encoding="utf-8")
    return repo
