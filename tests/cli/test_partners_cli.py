"""``empathy partners``: suggestions with evidence, replays strictly from earlier history, the pre-commit mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import flat, invoke
from tests.gitrepo import RepoBuilder, build_partner_history


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = RepoBuilder(tmp_path_factory.mktemp("partners") / "repo")
    build_partner_history(repo, rounds=70)
    return repo.path


@pytest.fixture
def coupled(_template: Path, tmp_path: Path) -> RepoBuilder:
    target = tmp_path / "repo"
    shutil.copytree(_template, target, symlinks=True)
    repo = RepoBuilder(target)
    repo.day = 500
    return repo


def _env(tmp_path: Path) -> dict[str, str]:
    return {"EMPATHY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}


def _json(repo: RepoBuilder, tmp_path: Path, *args: str) -> Any:
    result = invoke("partners", "--json", *args, "-C", repo.path, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_suggestions_carry_a_probability_a_warning_and_the_evidence(coupled: RepoBuilder, tmp_path: Path) -> None:
    data = _json(coupled, tmp_path, "api.py")
    first = data["suggestions"][0]
    assert first["path"] == "client.py" and first["warn"] is True
    assert first["score"] >= data["track_record"]["warn_threshold"]
    assert "changed together in" in first["why"] and first["evidence"]["partner"] == "api.py"
    assert all(s["path"] != "api.py" for s in data["suggestions"])
    assert data["track_record"]["precision_at_threshold"] >= 0.7  # the calibration target
    (test_file,) = [s for s in _json(coupled, tmp_path, "src/m1.py")["suggestions"][:1]]
    assert test_file["path"] == "tests/test_m1.py"


def test_at_uses_only_the_history_before_the_commit(coupled: RepoBuilder, tmp_path: Path) -> None:
    first_m4 = coupled.git_repo.git.log("--reverse", "--format=%H", "--", "src/m4.py").split()[0]
    before = _json(coupled, tmp_path, "src/m3.py", "--at", first_m4, "--top", "30")
    assert not {"src/m4.py", "tests/test_m4.py"} & {s["path"] for s in before["suggestions"]}
    after = _json(coupled, tmp_path, "src/m4.py", "--top", "3")
    assert after["suggestions"][0]["path"] == "tests/test_m4.py"
    result = invoke("partners", "api.py", "--at", "nope", "-C", coupled.path, env=_env(tmp_path))
    assert result.exit_code == 8 and "'nope' is not a commit" in flat(result.stderr)


def test_batch_answers_one_line_a_query_from_strictly_earlier_history(coupled: RepoBuilder, tmp_path: Path) -> None:
    shas = coupled.git_repo.git.log("--reverse", "--format=%H").split()
    queries = tmp_path / "q.jsonl"
    lines = [
        {"id": "late", "at": shas[-1], "files": ["api.py"]},
        {"id": 7, "at": shas[1], "files": ["src/m0.py"]},  # only the first commit is history here
        {"id": "unknown", "at": "f" * 40, "files": ["api.py"]},
    ]
    queries.write_text("".join(json.dumps(q) + "\n" for q in lines), encoding="utf-8")
    result = invoke("partners", "--batch", str(queries), "--top", "5", "-C", coupled.path, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["late", 7, "unknown"]
    late, early, unknown = (a["suggestions"] for a in answers)
    assert late[0]["path"] == "client.py" and {"path", "score", "warn", "why"} <= set(late[0])
    assert {s["path"] for s in early} <= {"api.py", "client.py"}  # nothing from commits after it
    assert unknown == []


def test_a_malformed_batch_line_is_named(coupled: RepoBuilder, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": 1, "at": "HEAD", "files": ["api.py"]}\n{"id": 2}\n', encoding="utf-8")
    result = invoke("partners", "--batch", str(queries), "-C", coupled.path, env=_env(tmp_path))
    assert result.exit_code == 4 and f"{queries}:2: not a query" in flat(result.stderr)


def test_staged_mode_for_pre_commit(coupled: RepoBuilder, tmp_path: Path) -> None:
    coupled.write("api.py", "a = 'staged'\n")
    coupled.git_repo.git.add("api.py")
    result = invoke("partners", "--staged", "-C", coupled.path, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "empathy: client.py probably needs changing too" in flat(result.stdout)
    strict = invoke("partners", "--staged", "--exit-code", "-C", coupled.path, env=_env(tmp_path))
    assert strict.exit_code == 1
    coupled.write("client.py", "c = 'staged'\n")
    coupled.git_repo.git.add("client.py")
    both = invoke("partners", "--staged", "--exit-code", "-C", coupled.path, env=_env(tmp_path))
    assert both.exit_code == 0 and "client.py" not in both.stdout


def test_eval_partners_replays_and_stores_the_track_record(coupled: RepoBuilder, tmp_path: Path) -> None:
    result = invoke("eval", "--partners", "--json", coupled.path, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["partners"]
    assert summary["queries"] > 100
    assert 0.5 <= summary["recall@1"] <= summary["recall@3"] <= 1.0  # a history this regular is easy
    assert summary["warn_precision"] is None or summary["warn_precision"] >= 0.5
    text = invoke("eval", "--partners", coupled.path, env=_env(tmp_path))
    assert "the hidden file was the first suggestion" in flat(text.stdout)
    from empathy.core.predict.records import latest_record
    from empathy.core.workspace import open_workspace

    ws = open_workspace(coupled.path, {"database_url": _env(tmp_path)["EMPATHY_DATABASE_URL"]})
    stored = latest_record(ws.store, ws.repo_id, "partners", 730)
    assert stored is not None and stored["queries"] == summary["queries"]


def test_hooks_file_offers_the_partners_hook() -> None:
    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "empathy-partners"]
    assert hook["entry"] == "empathy partners --staged" and hook["pass_filenames"] is False
