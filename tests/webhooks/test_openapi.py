"""Schemathesis generates requests from our OpenAPI schema: no operation may answer 5xx.

Runs against the app on the real PostgreSQL store (the team set-up), with an
API key, a GitHub secret and an inbound secret configured so that every
route's validation path is exercised.  The SSE stream is left out: it is
infinite by design (``test_bus_and_stream`` covers it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from empathy.core.host import PluginHost
from empathy.core.model import Event
from empathy.webhooks import listener
from empathy.webhooks.app import create_app
from empathy.webhooks.config import ServiceConfig
from empathy.webhooks.keys import create_api_key
from empathy.webhooks.signing import new_secret

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import POSTGRES_ADMIN_URL

    name = f"empathy_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def api(postgres_module_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    config = ServiceConfig(
        database_url=postgres_module_url,
        allowed_subnets=["127.0.0.0/8"],
        github_secret="s3cret",
        inbound_secret=new_secret(),
        repositories={"*": str(tmp_path_factory.mktemp("nothing"))},
    )
    host = PluginHost()
    host.register(listener, "webhooks")
    app = create_app(config, host=host, deliver_in_process=False)
    with TestClient(app):
        key = create_api_key(app.state.service.store, "schemathesis")
        # Some data for the read routes: an endpoint, a message.
        client = TestClient(app)
        client.post("/v1/endpoints", json={"url": "http://127.0.0.1:9/x"}, headers={"Authorization": f"Bearer {key}"})
        app.state.service.emit(Event("forecast.made", {"repo": "r", "path": "a"}, time.time()))
        yield app, {"Authorization": f"Bearer {key}"}


def test_no_server_errors(api: tuple[Any, dict[str, str]]) -> None:
    app, auth = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/v1/stream")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            headers = dict(case.headers or {})
            headers.setdefault("Authorization", auth["Authorization"])
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()


def test_the_schema_documents_the_guard_and_the_real_422(api: tuple[Any, dict[str, str]]) -> None:
    """Every key-protected operation lists its 401, every body its 413; a 422 has the shape it says."""
    app, auth = api
    client = TestClient(app)
    doc = client.get("/openapi.json").json()
    protected = [(p, m, op) for p, ops in doc["paths"].items() for m, op in ops.items() if p.startswith("/v1/")]
    keyed = [(p, m, op) for p, m, op in protected if not p.startswith(("/v1/events", "/v1/gate/", "/v1/event-types"))]
    assert len(keyed) >= 12 and all("401" in op["responses"] for _p, _m, op in keyed)
    assert all("413" in op["responses"] for _p, _m, op in protected if "requestBody" in op)
    assert "401" not in doc["paths"]["/v1/gate/{sha}"]["get"]["responses"]  # public: canary tools read it
    # the documented 422 shape is the one answered (also for a body with NaN in it)
    answer = client.post("/v1/endpoints", content='{"url": NaN}', headers={**auth, "content-type": "application/json"})
    assert answer.status_code == 422
    shape = doc["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]
    assert shape["type"] == "array" and isinstance(answer.json()["detail"], list)
    assert {"loc", "msg", "type"} <= set(answer.json()["detail"][0])
