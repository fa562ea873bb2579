"""Fixtures: a loopback receiver, a running service (TestClient drives its lifespan), an API key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from empathy.core.host import PluginHost
from empathy.webhooks import listener
from empathy.webhooks.app import create_app
from empathy.webhooks.config import ServiceConfig
from empathy.webhooks.delivery import RetryPolicy
from empathy.webhooks.keys import create_api_key
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


@dataclass
class Running:
    client: TestClient
    key: str
    app: Any

    @property
    def service(self) -> Any:
        return self.app.state.service

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def subscribe(self, url: str, **body: Any) -> dict[str, Any]:
        answer = self.client.post("/v1/endpoints", json={"url": url, **body}, headers=self.auth)
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start a service on a given database URL; loopback admitted (tests only), fast retries."""
    started: list[TestClient] = []

    def make(
        database_url: str | None = None, retry: RetryPolicy | None = None, gate_runner: Any = None, **config: Any
    ) -> Running:
        config.setdefault("allowed_subnets", ["127.0.0.0/8"])
        config.setdefault("timeout", 2.0)
        config.setdefault("poll_interval", 0.05)
        cfg = ServiceConfig(database_url=database_url or f"sqlite:///{tmp_path / 'service.db'}", **config)
        host = PluginHost()
        host.register(listener, "webhooks")
        app = create_app(
            cfg,
            retry=retry or RetryPolicy([0, 0.2, 0.2, 0.2], jitter=lambda d: d),
            host=host,
            gate_runner=gate_runner,
        )
        client = TestClient(app)
        client.__enter__()
        started.append(client)
        key = create_api_key(app.state.service.store, "tests")
        return Running(client, key, app)

    yield make
    for client in started:
        client.__exit__(None, None, None)
