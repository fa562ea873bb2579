"""The service's settings: ``[tool.empathy.plugins.webhooks]``, ``EMPATHY_PLUGIN_WEBHOOKS_*``, options.

The webhooks plugin id is ``webhooks`` (its entry-point name), so its
settings live where every plugin's do, and ``empathy config show`` lists
them.  Secrets (GitHub webhook secret, token, inbound secret) belong in
environment variables, not in a committed file.  The precedence is the
usual one: defaults, pyproject, ``.empathy.toml``, environment, then the
command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from empathy.core.config import load_settings
from empathy.core.errors import EmpathyError, ServiceConfigError
from empathy.core.repo import open_repository
from empathy.core.store.db import default_sqlite_url
from empathy.webhooks.ssrf import AddressPolicy

__all__ = ["DEFAULT_SCHEDULE", "PLUGIN_ID", "SETTINGS_DEFAULTS", "ServiceConfig", "load_service_config"]

PLUGIN_ID = "webhooks"

#: Seconds before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix's
#: schedule).  Defined here, not in the delivery engine, so loading the plugin imports no HTTP client.
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)

#: Every setting of the service, with its default (also the plugin's ``settings_defaults``).
SETTINGS_DEFAULTS: dict[str, Any] = {
    "database_url": "",
    "redis_url": "",
    "stream": "empathy:events",
    "allowed_subnets": [],
    "https_only": False,
    "timeout": 15.0,
    "retry_schedule": [str(s) for s in DEFAULT_SCHEDULE],
    "disable_after_hours": 120.0,
    "poll_interval": 0.1,
    "batch_size": 100,
    "github_secret": "",
    "github_token": "",
    "github_api_url": "https://api.github.com",
    "repositories": [],
    "approve_decisions": ["pass", "warn", "inconclusive"],
    "gate_fail_open": False,
    "mine_on_push": True,
    "inbound_secret": "",
}


@dataclass
class ServiceConfig:
    """What ``empathy serve`` and ``empathy worker`` run with (see ``docs/webhooks.md``)."""

    database_url: str
    redis_url: str = ""
    stream: str = "empathy:events"
    allowed_subnets: list[str] = field(default_factory=list)
    https_only: bool = False
    timeout: float = 15.0
    retry_schedule: list[float] = field(default_factory=lambda: list(DEFAULT_SCHEDULE))
    disable_after_hours: float = 120.0
    poll_interval: float = 0.1
    batch_size: int = 100
    github_secret: str = ""
    github_token: str = ""
    github_api_url: str = "https://api.github.com"
    #: ``owner/name`` -> local checkout; ``*`` maps every other repository.
    repositories: dict[str, str] = field(default_factory=dict)
    approve_decisions: list[str] = field(default_factory=lambda: ["pass", "warn", "inconclusive"])
    gate_fail_open: bool = False
    mine_on_push: bool = True
    inbound_secret: str = ""

    def policy(self) -> AddressPolicy:
        try:
            return AddressPolicy.from_strings(self.allowed_subnets, self.https_only)
        except ValueError as exc:
            raise ServiceConfigError(str(exc)) from None

    def checkout_for(self, full_name: str) -> str | None:
        """The local checkout that mirrors GitHub repository ``owner/name`` (or None)."""
        return self.repositories.get(full_name) or self.repositories.get("*")


def _parse_repositories(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ServiceConfigError(
                f"repository mapping {item!r} is not NAME=PATH", "e.g. --repository octo/app=/srv/checkouts/app"
            )
        mapping[name.strip()] = str(Path(path.strip()).expanduser())
    return mapping


def load_service_config(repo: str | os.PathLike[str] | None = None, **options: Any) -> ServiceConfig:
    """Merge the settings of the checkout at ``repo`` (if any), the environment and ``options``.

    With no database URL anywhere, the service uses the checkout's own store
    (SQLite in its git directory), the single-machine default; outside a
    checkout a URL is required.
    """
    root: Path | None = None
    git_dir: Path | None = None
    if repo is not None:
        try:
            opened = open_repository(repo)
            root, git_dir = opened.root, opened.git_dir
        except EmpathyError:
            root = git_dir = None
    try:
        settings = load_settings(root)
    except EmpathyError as exc:
        raise ServiceConfigError(exc.message, exc.hint) from None
    settings.add_plugin_defaults(PLUGIN_ID, SETTINGS_DEFAULTS)
    values = settings.plugin(PLUGIN_ID)
    for key, value in options.items():
        if value is not None and value != []:
            values[key] = value
    database_url = str(values.get("database_url") or settings["database_url"] or "")
    if not database_url:
        if git_dir is None:
            raise ServiceConfigError(
                "no database for the service",
                "pass --database-url (e.g. postgresql+psycopg://user@host/db) or run inside a git checkout",
            )
        database_url = default_sqlite_url(git_dir)
    try:
        config = ServiceConfig(
            database_url=database_url,
            redis_url=str(values["redis_url"]),
            stream=str(values["stream"]),
            allowed_subnets=[str(s) for s in values["allowed_subnets"]],
            https_only=bool(values["https_only"]),
            timeout=float(values["timeout"]),
            retry_schedule=[float(s) for s in values["retry_schedule"]],
            disable_after_hours=float(values["disable_after_hours"]),
            poll_interval=float(values["poll_interval"]),
            batch_size=int(values["batch_size"]),
            github_secret=str(values["github_secret"]),
            github_token=str(values["github_token"]),
            github_api_url=str(values["github_api_url"]).rstrip("/"),
            repositories=_parse_repositories([str(s) for s in values["repositories"]]),
            approve_decisions=[str(s) for s in values["approve_decisions"]],
            gate_fail_open=bool(values["gate_fail_open"]),
            mine_on_push=bool(values["mine_on_push"]),
            inbound_secret=str(values["inbound_secret"]),
        )
    except (TypeError, ValueError) as exc:
        raise ServiceConfigError(f"[tool.empathy.plugins.{PLUGIN_ID}]: {exc}") from None
    if config.timeout <= 0 or config.batch_size <= 0 or config.poll_interval <= 0:
        raise ServiceConfigError("timeout, batch_size and poll_interval must be positive")
    config.policy()
    return config
