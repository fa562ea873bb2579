"""Advice from the evidence: what to do about a file, named from its own history.

A finding's action is only worth reading when it says something the reader
could not have guessed: *which* test module to extend (the one that changed
with this file most often), *which* fix to read first (the last one that
touched it, with its subject), *which* file to keep in step (its most
frequent partner), *who* else has worked on it.  Generic advice ("pair
someone with the main developer", "add tests") was measured as noise by
users and is not given; when the history has nothing specific to offer the
action says what the history shows instead.

All counts are over deliberate commits (bulk sweeps left out, merges
excluded), so a formatter run neither makes a "partner" nor a "last fix".
The built-in level plugins and any third-party level reach it through
:mod:`empathy.plugin` (``action_for``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from empathy.core.helpers import date
from empathy.core.history.facts import FileFacts, HistoryFacts
from empathy.core.history.view import CommitInfo

__all__ = ["action_for"]


def _short(commit: CommitInfo) -> str:
    subject = commit.subject.strip()
    if len(subject) > 72:
        subject = subject[:69].rstrip() + "..."
    return f'{commit.sha[:9]} "{subject}" ({date(commit.committed_at)})'


def _test_clause(f: FileFacts) -> str:
    if f.test is None:
        return f"no test file has changed with {f.path} more than once in its last {f.commits} commits"
    return f"{f.test[0]} changed with it in {f.test[1]} of its last {f.commits} commits"


def _fix_clause(f: FileFacts) -> str:
    return f"the last fix to touch it was {_short(f.last_fix)}" if f.last_fix is not None else ""


def _partner_clause(f: FileFacts) -> str:
    if f.partner is None:
        return ""
    return f"{f.partner[0]} changed with it in {f.partner[1]} of its last {f.commits} commits"


def _join(*parts: str) -> str:
    kept = [p for p in parts if p]
    return "; ".join(kept)


def action_for(kind: str, path: str, ev: Mapping[str, Any], facts: HistoryFacts) -> str:
    """The action for a finding of pattern ``kind`` (a miner's kind) on ``path``, named from its history.

    ``fix_prone`` also serves the fix forecast: both ask where a regression test goes.
    """
    main = str(ev.get("main_developer") or "")
    f = facts.of(path, main)
    if kind == "complexity_trend":
        funcs = ev.get("functions") or []
        where = f" starting with {funcs[0]['name']}()" if funcs else ""
        tail = f"; cover it in {f.test[0]} first" if f is not None and f.test is not None else ""
        return f"Split the growing logic in {path}{where}{tail}"
    if f is None:
        return f"Read the history of {path} before changing it (git log --follow -- {path})"
    if kind == "fix_prone":
        where = f"Add a regression test to {f.test[0]}" if f.test else f"Start a test module for {path}"
        return _join(f"{where} with the next change to {path}", _test_clause(f), _fix_clause(f))
    if kind == "hotspot":
        first = (
            f"Before adding to {path}, check {f.partner[0]} too"
            if f.partner
            else f"Before adding to {path}, extend its tests"
        )
        return _join(first, _partner_clause(f), _test_clause(f))
    if kind == "knowledge_island":
        if f.other_authors:
            names = ", ".join(f"{a} ({n})" for a, n in f.other_authors)
            who = f"Ask one of the other authors of {path} to review the next change: {names} commits"
        else:
            who = f"Nobody but {main or 'one author'} has committed to {path}: have the next change reviewed"
        return _join(who, _test_clause(f))
    if kind == "knowledge_loss":
        return _join(f"Before changing {path}, read how it was last fixed", _fix_clause(f), _test_clause(f))
    if kind == "volatile_in_stable":
        last = f.last_change
        if last is None:
            return f"Check the recent change to {path}"
        tested = "also changed a test" if f.last_change_tested else "changed no test"
        suggestion = f"; {f.test[0]} is where its tests usually change" if f.test else ""
        return f"Check {_short(last)}, which broke a long quiet period in {path}: it {tested}{suggestion}"
    return f"Read the history of {path} before changing it (git log --follow -- {path})"
