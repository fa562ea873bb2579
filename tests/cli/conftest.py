"""Shared set-up of the CLI tests."""

from __future__ import annotations

import pytest

import empathy.cli.app as cli


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables and messages are not wrapped, whatever COLUMNS the test run has."""
    monkeypatch.setattr(cli.out, "width", 300)
    monkeypatch.setattr(cli.err, "width", 300)
