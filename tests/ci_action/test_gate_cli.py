"""`empathy gate` and `empathy gate record` as CI runs them: files, outputs, exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from empathy.ci_action.github import annotation_commands, escape_data, escape_property
from empathy.cli.app import app
from tests.gitrepo import RepoBuilder


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr


def _outputs(path: Path) -> dict[str, str]:
    """Parse GITHUB_OUTPUT the way the runner does: name<<DELIM ... DELIM blocks."""
    text = path.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for m in re.finditer(r"^([A-Za-z0-9_-]+)<<(ghadelimiter_[0-9a-f-]+)\n(.*?)\n\2$", text, re.S | re.M):
        found[m.group(1)] = m.group(3)
    return found


def _gate_args(repo: Path, url: str, *extra: str) -> list[str]:
    return ["gate", "--base", "main", "--head", "feature", "-C", str(repo), "--database-url", url, *extra]


def test_github_outputs_summary_annotations_and_sarif(
    history_repo: Path, db_url: Callable[[str], str], tmp_path: Path
) -> None:
    output, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    output.write_text("earlier=1\n")
    report, sarif = tmp_path / "r" / "report.json", tmp_path / "r" / "report.sarif"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    code, out, _err = _run(
        *_gate_args(history_repo, db_url("s"), "--report", str(report), "--sarif", str(sarif)), env=env
    )
    assert code == 0, out
    values = _outputs(output)
    assert output.read_text().startswith("earlier=1\n")  # appended, never truncated
    data = json.loads(report.read_text())
    assert values["decision"] == data["decision"]["decision"] == "pass"
    assert float(values["risk"]) == pytest.approx(data["decision"]["risk"])
    assert values["trust"] == ""  # no track record yet
    assert Path(values["report-path"]) == report.resolve() and Path(values["sarif-path"]) == sarif.resolve()
    assert values["summary"].startswith("**PASS**")
    md = summary.read_text()
    for heading in (
        "## ",
        "### What was evaluated",
        "### Risk factors",
        "### Track record",
        "### Data quality",
        "### Next steps",
    ):
        assert heading in md
    assert "| recorded deploys | 0 |" in md and "N=0" in md
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert commands and all(re.match(r"^::(notice|warning|error) file=[^:]+::", c) for c in commands)
    assert len([c for c in commands if c.startswith("::notice")]) <= 10
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0" and log["runs"][0]["tool"]["driver"]["name"] == "empathy-gate"
    results = log["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} <= {"core.py", "util.py"}
    rule_ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} == rule_ids
    # every result has a region and a stable partial fingerprint, and no two results are the same
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)
    prints = [r["partialFingerprints"]["empathyFinding/v1"] for r in results]
    assert len(prints) == len(set(prints)) and all(len(p) == 32 for p in prints)
    messages = [(a["file"], a["line"], a["message"]) for a in json.loads(report.read_text())["annotations"]]
    assert len(messages) == len(set(messages))  # annotations are not duplicated


def test_annotation_escaping_and_caps() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    line = annotation_commands(
        [{"level": "error", "file": "dir,x/a:b.py", "line": 3, "title": "t: x", "message": "one\ntwo"}]
    )[0]
    assert line == "::error file=dir%2Cx/a%3Ab.py,line=3,title=t%3A x::one%0Atwo"


def test_fail_on_sets_the_exit_code(history_repo: Path, db_url: Callable[[str], str], tmp_path: Path) -> None:
    url = db_url("s")
    code, out, _ = _run(*_gate_args(history_repo, url, "--json"))
    risk = json.loads(out)["decision"]["risk"]
    # Thresholds through the plugin section, as a team would set them.
    (history_repo / ".empathy.toml").write_text(
        f"[plugins.gate]\nwarn_threshold = {risk - 0.01}\nblock_threshold = {min(1.0, risk + 0.01)}\n"
    )
    code, out, _ = _run(*_gate_args(history_repo, url, "--json"))
    assert code == 0 and json.loads(out)["decision"]["decision"] == "warn"
    assert _run(*_gate_args(history_repo, url, "--fail-on", "warn"))[0] == 10
    assert _run(*_gate_args(history_repo, url, "--fail-on", "never"))[0] == 0
    (history_repo / ".empathy.toml").write_text(
        f"[plugins.gate]\nwarn_threshold = {risk - 0.02}\nblock_threshold = {risk - 0.01}\n"
    )
    code, out, _ = _run(*_gate_args(history_repo, url))
    assert code == 10 and "BLOCK" in out
    assert _run(*_gate_args(history_repo, url, "--fail-on", "never"))[0] == 0
    # The environment variable the action sets works as well.
    assert _run(*_gate_args(history_repo, url), env={"EMPATHY_GATE_FAIL_ON": "never"})[0] == 0


def test_inconclusive_counts_as_warn_for_fail_on(repo: RepoBuilder, tmp_path: Path) -> None:
    from tests.gitrepo import build_history

    build_history(repo, rounds=20)
    url = f"sqlite:///{tmp_path / 's.db'}"
    base = ["gate", "--base", "HEAD~1", "-C", str(repo.path), "--database-url", url]
    code, out, _ = _run(*base)
    assert code == 0 and "INCONCLUSIVE" in out and "treated as warn" in out
    assert _run(*base, "--fail-on", "warn")[0] == 10


def test_state_file_carries_the_record_between_runners(
    history_repo: Path, db_url: Callable[[str], str], tmp_path: Path
) -> None:
    state = tmp_path / "state" / "gate-state.json"
    # Runner 1 records a success and a rollback into the state file.
    for outcome, at in (("success", 1_700_000_000), ("rollback", 1_700_000_100)):
        code, out, _ = _run(
            "gate",
            "record",
            "--outcome",
            outcome,
            "--ref",
            "feature",
            "--at",
            str(at),
            "-C",
            str(history_repo),
            "--database-url",
            db_url("runner1"),
            "--state-file",
            str(state),
            "--json",
        )
        assert code == 0, out
    saved = json.loads(state.read_text())
    assert saved["format"] == "empathy-gate-state" and len(saved["outcomes"]) == 2
    assert saved["outcomes"][1]["outcome"] == "rollback" and saved["outcomes"][1]["weight"] == 2.0
    # Runner 2 starts from an empty store: the track record comes from the file.
    code, out, _ = _run(*_gate_args(history_repo, db_url("runner2"), "--state-file", str(state), "--json"))
    assert code == 0, out
    track = json.loads(out)["track_record"]
    assert track["source"] == "recorded" and track["used"]["n"] == 2 and track["recorded"]["failures"] == 1
    # Running again merges nothing twice.
    code, out, _ = _run(*_gate_args(history_repo, db_url("runner2"), "--state-file", str(state), "--json"))
    assert json.loads(out)["track_record"]["used"]["n"] == 2
    # Runner 3 records one more; the file now holds three.
    code, out, _ = _run(
        "gate",
        "record",
        "--outcome",
        "success",
        "--ref",
        "feature",
        "--at",
        "1700000200",
        "-C",
        str(history_repo),
        "--database-url",
        db_url("runner3"),
        "--state-file",
        str(state),
    )
    assert code == 0 and "N=3" in out
    assert len(json.loads(state.read_text())["outcomes"]) == 3


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ('{"format": "something-else", "version": 1, "outcomes": []}', "not an empathy-gate-state file"),
        ('{"format": "empathy-gate-state", "version": 99, "outcomes": []}', "version 99"),
        ('{"format": "empathy-gate-state", "version": 1, "outcomes": [{"subject_kind": "service"}]}', "has no"),
        (
            '{"format": "empathy-gate-state", "version": 1, "outcomes": [{"subject_kind": "service", "subject": "s", '
            '"outcome": "deploy_success", "at": "yesterday", "weight": 1}]}',
            "bad time",
        ),
    ],
)
def test_a_corrupted_state_file_exits_11(
    history_repo: Path, db_url: Callable[[str], str], tmp_path: Path, content: str, why: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    code, out, err = _run(*_gate_args(history_repo, db_url("s"), "--state-file", str(state)))
    assert code == 11 and why in err and "Traceback" not in err + out
    code, _out, err = _run(
        "gate",
        "record",
        "--outcome",
        "success",
        "--ref",
        "feature",
        "-C",
        str(history_repo),
        "--database-url",
        db_url("s"),
        "--state-file",
        str(state),
    )
    assert code == 11
    assert state.read_text() == content  # a bad file is never overwritten


def test_misuse_gives_one_line_and_a_documented_code(
    history_repo: Path, db_url: Callable[[str], str], tmp_path: Path
) -> None:
    url = db_url("s")
    cases = [
        (["gate", "--base", "nope", "-C", str(history_repo), "--database-url", url], 8, "is not a commit"),
        (["gate", "--base", "main", "--head", "ab" * 20, "-C", str(history_repo), "--database-url", url], 8, "ab"),
        (["gate", "-C", str(history_repo), "--database-url", url], 4, "give --base"),
        (
            ["gate", "record", "--outcome", "success", "--ref", "nope", "-C", str(history_repo), "--database-url", url],
            8,
            "nope",
        ),
        (["gate", "--base", "HEAD", "-C", str(tmp_path), "--database-url", url], 2, ""),
    ]
    empty = RepoBuilder(tmp_path / "empty")
    cases.append((["gate", "--base", "HEAD", "-C", str(empty.path), "--database-url", url], 3, "no commits"))
    for args, expected, text in cases:
        code, out, err = _run(*args)
        assert code == expected, (args, out, err)
        assert "Traceback" not in out + err and text in err


def test_help_documents_the_exit_codes() -> None:
    code, out, _ = _run("gate", "--help")
    flat = " ".join(out.split())
    assert code == 0
    for needle in (
        "10 the decision reached --fail-on",
        "11 the --state-file is corrupted",
        "8 a revision",
        "3 the repository has no commits",
    ):
        assert needle in flat
