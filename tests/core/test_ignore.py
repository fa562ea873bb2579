"""``empathy: ignore[<code>]`` comments: which lines they cover, and that collected findings honour them."""

from __future__ import annotations

from pathlib import Path

from empathy.core.ignore import ignore_comment, parse_ignores, split_ignored
from empathy.core.model import Finding, Level, Location, Severity
from tests.gitrepo import RepoBuilder
from tests.plugins.helpers import workspace


def _finding(code: str, path: str = "a.py", line: int | None = None) -> Finding:
    return Finding(
        code=code,
        level=Level.PROACTIVE,
        severity=Severity.WARNING,
        location=Location(path, line, line),
        reason="r",
        action="a",
        source="test",
    )


def test_trailing_comment_covers_its_line_and_a_comment_line_the_next() -> None:
    text = "x = 1  # empathy: ignore[hotspot, fix-prone]\n# empathy: ignore[complexity-rising]\ndef f():\n    pass\n"
    ignores = parse_ignores(text)
    assert ignores.silences(_finding("hotspot", line=1)) and ignores.silences(_finding("fix-prone", line=1))
    assert not ignores.silences(_finding("knowledge-island", line=1))
    assert ignores.silences(_finding("complexity-rising", line=3))
    assert not ignores.silences(_finding("complexity-rising", line=4))
    assert not ignores.silences(_finding("hotspot"))  # a trailing comment never covers the whole file


def test_header_comment_covers_the_whole_file_only_before_code() -> None:
    header = parse_ignores("#!/usr/bin/env python\n// empathy: ignore[hotspot]\n\nimport os\n")
    assert header.silences(_finding("hotspot"))
    late = parse_ignores("import os\n# empathy: ignore[hotspot]\nx = 1\n")
    assert not late.silences(_finding("hotspot"))
    assert late.silences(_finding("hotspot", line=3))
    star = parse_ignores("# empathy: ignore[*]\n")
    assert star.silences(_finding("anything"))


def test_comment_syntax_follows_the_file_type() -> None:
    assert ignore_comment("web/app.ts", "hotspot") == "// empathy: ignore[hotspot]"
    assert ignore_comment("q.sql", "hotspot") == "-- empathy: ignore[hotspot]"
    assert ignore_comment("tool.py", "hotspot") == "# empathy: ignore[hotspot]"
    assert parse_ignores("// empathy: ignore[hotspot]\nlet x = 1;\n").silences(_finding("hotspot", "x.ts"))


def test_split_reads_each_file_once() -> None:
    reads: list[str] = []

    def read(path: str) -> str | None:
        reads.append(path)
        return "# empathy: ignore[hotspot]\n" if path == "a.py" else None

    kept, ignored = split_ignored([_finding("hotspot"), _finding("fix-prone"), _finding("hotspot", "b.py")], read)
    assert [(f.code, f.location.path) for f in ignored] == [("hotspot", "a.py")]
    assert [(f.code, f.location.path) for f in kept] == [("fix-prone", "a.py"), ("hotspot", "b.py")]
    assert reads == ["a.py", "b.py"]


def test_collected_findings_honour_comments_in_the_work_tree(repo: RepoBuilder, tmp_path: Path) -> None:
    for k in range(12):
        repo.commit(f"work {k}", {"core.py": "".join(f"v{i} = {k}\n" for i in range(40))})
    repo.commit("other", {"side.py": "s = 1\n"})
    ws = workspace(repo, tmp_path, "[plugins.churn]\ntop_share = 0.5\n")
    ws.mine()
    before = ws.findings(gated=False, paths=["core.py"])
    assert "hotspot" in {f.code for f in before.findings} and before.ignored == []
    text = (repo.path / "core.py").read_text()
    (repo.path / "core.py").write_text("# empathy: ignore[hotspot]\n" + text)
    after = ws.findings(gated=False, paths=["core.py"])
    assert "hotspot" not in {f.code for f in after.findings}
    assert [f.code for f in after.ignored] == ["hotspot"]
    assert {f.code for f in after.findings} == {f.code for f in before.findings} - {"hotspot"}
