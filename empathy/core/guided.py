"""Level-2 answers: what the user told us where the data was thin or ambiguous.

Questions have stable ids (``generated:<path>``, ``fix-pattern``); answers are
stored per repository and applied when a workspace opens, above the config
files (the user answered a question about this very repository) but below
environment variables and command-line options.
"""

from __future__ import annotations

import re
import time

from sqlalchemy import delete, insert, select

from empathy.core.config import Settings
from empathy.core.errors import ConfigError
from empathy.core.store.store import Store
from empathy.core.store.tables import AnswerRow

__all__ = ["apply_answers", "load_answers", "save_answer"]

_T = AnswerRow.__table__  # type: ignore[attr-defined]
YES = {"yes", "y", "true", "generated", "vendored"}
NO = {"no", "n", "false"}


def _validate(question: str, answer: str) -> str:
    if question.startswith("generated:"):
        value = answer.strip().lower()
        if value not in YES | NO:
            raise ConfigError(f"answer {question!r} with yes or no, not {answer!r}")
        return "yes" if value in YES else "no"
    if question == "fix-pattern":
        try:
            re.compile(answer)
        except re.error as exc:
            raise ConfigError(f"{answer!r} is not a valid regular expression: {exc}") from None
        return answer
    raise ConfigError(f"unknown question {question!r}", "the questions are listed by `empathy findings` (level 2)")


def save_answer(store: Store, repo_id: int, question: str, answer: str) -> str:
    """Store (or replace) an answer; returns the normalised answer."""
    value = _validate(question, answer)
    with store.engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.repo_id == repo_id, _T.c.question == question))
        conn.execute(insert(_T).values(repo_id=repo_id, question=question, answer=value, answered_at=int(time.time())))
    return value


def load_answers(store: Store, repo_id: int) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(_T.c.question, _T.c.answer).where(_T.c.repo_id == repo_id))
        return {q: a for q, a in rows}


def apply_answers(settings: Settings, answers: dict[str, str]) -> None:
    """Generated files join ``exclude``; an answered fix pattern replaces the default one.

    Settings given by environment or command line keep precedence.
    """
    generated = sorted(q.split(":", 1)[1] for q, a in answers.items() if q.startswith("generated:") and a == "yes")
    if generated and not settings.sources["exclude"].startswith(("env", "command")):
        settings.set("exclude", list(settings["exclude"]) + generated, "answers (empathy answer)")
    pattern = answers.get("fix-pattern")
    if pattern and not settings.sources["fix_pattern"].startswith(("env", "command")):
        settings.set("fix_pattern", pattern, "answers (empathy answer)")
