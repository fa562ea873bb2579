"""Running the CLI in-process and reading its rich output, for the CLI tests."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

import empathy.cli.app as cli


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli.app, [str(a) for a in args], env=env)
    # Whatever the exit code, the CLI ends through SystemExit, never an escaped exception.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def flat(text: str) -> str:
    """Text without rich's box characters and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─┃┏┓┗┛━┳┻╇╈┡┩┯┷┼┠┨┝┥├┤┬┴╋└┘┌┐]", " ", text).split())
