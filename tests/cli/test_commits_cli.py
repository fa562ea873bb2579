"""``empathy commits`` and ``empathy label``: labels with their evidence, corrections that stick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import flat, invoke
from tests.gitrepo import RepoBuilder


@pytest.fixture
def labelled(repo: RepoBuilder) -> RepoBuilder:
    repo.commit("start the parser", {"src/parse.py": "a = 1\n", "changelog/.gitkeep": ""})
    for n in range(5):  # the project records its changes as changelog fragments (a convention is learned)
        repo.commit(f"Support format {n}", {f"src/fmt{n}.py": "f = 1\n", f"changelog/{n + 1}.feature.rst": "new\n"})
    repo.commit(
        "Parser rejects empty input",
        {"src/parse.py": "a = 2\n", "changelog/101.bugfix.rst": "Empty input is accepted again.\n"},
    )
    repo.commit("Add a --strict option\n\nFixes #4416", {"src/parse.py": "a = 3\nstrict = True\n"})
    repo.commit("docs: explain strict mode", {"docs/strict.md": "strict\n"})
    repo.commit("Fix crash on None", {"src/parse.py": "a = 4\nstrict = True\n"})
    return repo


def _env(tmp_path: Path) -> dict[str, str]:
    return {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}


def _commits(repo: RepoBuilder, tmp_path: Path, *args: str) -> list[dict[str, object]]:
    result = invoke("commits", "--json", *args, "-C", repo.path, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def test_commits_show_kind_fix_bulk_and_why(labelled: RepoBuilder, tmp_path: Path) -> None:
    by_subject = {str(c["subject"]): c for c in _commits(labelled, tmp_path)}
    fragment = by_subject["Parser rejects empty input"]
    assert fragment["fix"] is True and fragment["kind"] == "fix"
    assert fragment["why"] == ["adds changelog/101.bugfix.rst"]
    feature = by_subject["Add a --strict option"]
    assert feature["fix"] is False and feature["kind"] == "feature"  # "Fixes #4416" in the body does not decide
    assert by_subject["docs: explain strict mode"]["kind"] == "docs"
    assert all({"sha", "fix", "bulk", "kind", "why"} <= set(c) for c in by_subject.values())


def test_commits_take_shas_ranges_and_a_kind(labelled: RepoBuilder, tmp_path: Path) -> None:
    head = labelled.git_repo.head.commit.hexsha
    (one,) = _commits(labelled, tmp_path, head[:10])
    assert one["sha"] == head and one["subject"] == "Fix crash on None"
    assert [c["subject"] for c in _commits(labelled, tmp_path, "HEAD~2..HEAD")] == [
        "Fix crash on None",
        "docs: explain strict mode",
    ]
    assert {str(c["subject"]) for c in _commits(labelled, tmp_path, "--kind", "fix")} == {
        "Parser rejects empty input",
        "Fix crash on None",
    }


def test_an_unknown_sha_or_kind_is_an_error(labelled: RepoBuilder, tmp_path: Path) -> None:
    result = invoke("commits", "deadbeef" * 5, "-C", labelled.path, env=_env(tmp_path))
    assert result.exit_code == 8 and "is not a commit" in flat(result.stderr)
    result = invoke("commits", "--kind", "bugs", "-C", labelled.path, env=_env(tmp_path))
    assert result.exit_code == 4 and "unknown kind 'bugs'" in flat(result.stderr)
    result = invoke("label", "deadbeef" * 5, "--fix", "-C", labelled.path, env=_env(tmp_path))
    assert result.exit_code == 8
    assert not (labelled.path / ".empathy" / "labels.toml").exists()


def test_a_correction_sticks_is_shared_and_shows(labelled: RepoBuilder, tmp_path: Path) -> None:
    feature = next(c for c in _commits(labelled, tmp_path) if c["subject"] == "Add a --strict option")
    result = invoke("label", str(feature["sha"]), "--fix", "-C", labelled.path, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "now:" in result.stdout and "corrected by the team" in flat(result.stdout)
    text = (labelled.path / ".empathy" / "labels.toml").read_text(encoding="utf-8")
    assert f"[commits.{feature['sha']}]\nfix = true\n" in text
    (again,) = _commits(labelled, tmp_path, str(feature["sha"]))
    assert again["fix"] is True and "corrected by the team (.empathy/labels.toml)" in again["why"]
    # a second store (a teammate, CI) reads the same committed file
    (tmp_path / "elsewhere").mkdir()
    (other,) = _commits(labelled, tmp_path / "elsewhere", str(feature["sha"]))
    assert other["fix"] is True
    # and the correction can be taken back the same way, without losing the file's other entries
    invoke("label", "HEAD", "--bulk", "-C", labelled.path, env=_env(tmp_path))
    invoke("label", str(feature["sha"]), "--not-fix", "-C", labelled.path, env=_env(tmp_path))
    (back,) = _commits(labelled, tmp_path, str(feature["sha"]))
    assert back["fix"] is False
    (head,) = _commits(labelled, tmp_path, "HEAD")
    assert head["bulk"] is True and head["fix"] is False


def test_a_malformed_labels_file_names_the_line_and_is_kept(labelled: RepoBuilder, tmp_path: Path) -> None:
    path = labelled.path / ".empathy" / "labels.toml"
    path.parent.mkdir()
    path.write_text("[commits.abc\nfix = true\n", encoding="utf-8")
    result = invoke("label", "HEAD", "--fix", "-C", labelled.path, env=_env(tmp_path))
    assert result.exit_code == 4
    err = flat(result.stderr)
    assert "labels.toml" in err and "line 1" in err
    assert path.read_text(encoding="utf-8") == "[commits.abc\nfix = true\n"  # nothing lost
    assert invoke("commits", "-C", labelled.path, env=_env(tmp_path)).exit_code == 4


def test_label_needs_a_direction(labelled: RepoBuilder, tmp_path: Path) -> None:
    result = invoke("label", "HEAD", "-C", labelled.path, env=_env(tmp_path))
    assert result.exit_code == 4 and "--fix, --not-fix, --bulk or --not-bulk" in flat(result.stderr)
