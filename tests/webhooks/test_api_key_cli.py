"""`empathy api-key create | list | revoke` as users run them (real processes), against a running service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.webhooks.conftest import Running


def _keys(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "empathy", "api-key", *args, "--database-url", db],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_create_list_and_revoke_and_the_service_refuses_a_revoked_key_at_once(
    make_service: Callable[..., Running], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'service.db'}"
    running = make_service(db)
    made = _keys(db, "create", "dashboards", "--json")
    assert made.returncode == 0, made.stderr
    dashboards = json.loads(made.stdout)
    assert dashboards["scope"] == "own" and dashboards["key"].startswith("emp_")
    # the first release's spelling still creates a key; --admin makes the scope explicit
    legacy = _keys(db, "ops", "--admin")
    assert legacy.returncode == 0, legacy.stderr
    ops_key = legacy.stdout.strip()
    assert ops_key.startswith("emp_") and "every endpoint" in legacy.stderr

    listed = _keys(db, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert (
        [(r["name"], r["prefix"], r["scope"], r["revoked"]) for r in rows]
        == [
            ("tests", rows[0]["prefix"], "own", False),  # the fixture's key
            ("dashboards", dashboards["key"][:10], "own", False),
            ("ops", ops_key[:10], "admin", False),
        ]
    )
    assert all("key_hash" not in r and "key" not in r for r in rows)
    table = _keys(db, "list")
    assert table.returncode == 0 and "dashboards" in table.stdout and "admin" in table.stdout

    auth = {"Authorization": f"Bearer {dashboards['key']}"}
    assert running.client.get("/v1/endpoints", headers=auth).status_code == 200
    revoked = _keys(db, "revoke", "dashboards")
    assert revoked.returncode == 0, revoked.stderr
    assert running.client.get("/v1/endpoints", headers=auth).status_code == 401  # the next request, no restart
    admin = {"Authorization": f"Bearer {ops_key}"}
    assert running.client.get("/v1/endpoints", headers=admin).status_code == 200  # the other keys still work
    after = {r["name"]: r for r in json.loads(_keys(db, "list", "--json").stdout)}
    assert after["dashboards"]["revoked"] is True and after["dashboards"]["revoked_at"] is not None
    assert after["ops"]["revoked"] is False

    again = _keys(db, "revoke", "dashboards", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["already_revoked"] is True
    # a revoked key's name can be given to a new key
    assert _keys(db, "create", "dashboards").returncode == 0


def test_unknown_and_duplicate_names_are_one_line_usage_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'service.db'}"
    unknown = _keys(db, "revoke", "nobody")
    assert unknown.returncode == 4
    assert unknown.stderr.splitlines() == [
        "error: no API key is named 'nobody'",
        "hint: `empathy api-key list` shows the keys",
    ]
    assert _keys(db, "create", "ci").returncode == 0
    twice = _keys(db, "create", "ci")
    assert twice.returncode == 4 and twice.stderr.startswith("error: a live API key is already named 'ci'")
    assert "Traceback" not in unknown.stderr + twice.stderr
    # a key may be named like a subcommand when `create` is spelled out
    assert _keys(db, "create", "list").returncode == 0
    assert "list" in {r["name"] for r in json.loads(_keys(db, "list", "--json").stdout)}
