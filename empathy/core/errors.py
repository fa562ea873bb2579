"""Errors a user can act on.

Each carries a one-line message, an optional hint with the fix, and the exit
code the CLI uses, so surfaces print a sentence instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EmpathyError",
    "EmptyRepositoryError",
    "HistoryError",
    "NotARepositoryError",
    "PatternFileError",
    "ServiceConfigError",
    "StoreError",
]


class EmpathyError(Exception):
    """Base class: ``str(err)`` is the message, ``err.hint`` the suggested fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotARepositoryError(EmpathyError):
    exit_code = 2


class EmptyRepositoryError(EmpathyError):
    exit_code = 3


class ConfigError(EmpathyError):
    exit_code = 4


class StoreError(EmpathyError):
    exit_code = 5


class PatternFileError(EmpathyError):
    exit_code = 6


class HistoryError(EmpathyError):
    """git could not read the history (corrupt objects, missing packs ...)."""

    exit_code = 7


class ServiceConfigError(EmpathyError):
    """The webhook service cannot start as configured (bind address, database, Redis, settings)."""

    exit_code = 12
