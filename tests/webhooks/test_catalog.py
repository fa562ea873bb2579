"""The event catalog: valid JSON Schemas, and the events empathy emits match them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest

from empathy.core.model import Event
from empathy.core.store.store import open_store
from empathy.core.trust import TrustLedger
from empathy.webhooks.catalog import CATALOG, OPERATIONAL, envelope_bytes, valid_type


@pytest.mark.parametrize("name", sorted(CATALOG) + sorted(OPERATIONAL))
def test_every_schema_is_valid_json_schema(name: str) -> None:
    entry = {**CATALOG, **OPERATIONAL}[name]
    jsonschema.Draft202012Validator.check_schema(entry.schema)
    assert valid_type(name)


def test_names_follow_the_standard() -> None:
    assert not valid_type("nodot") and not valid_type("bad-char.x") and not valid_type("a." + "b" * 200)


def test_envelope_is_compact_and_ordered() -> None:
    body = envelope_bytes("forecast.made", {"path": "é.py", "p": 0.5}, 1_700_000_000.25)
    expected = '{"type":"forecast.made","timestamp":"2023-11-14T22:13:20.250000Z","data":{"path":"é.py","p":0.5}}'
    assert body == expected.encode()
    assert json.loads(body)["data"]["path"] == "é.py"


def test_the_trust_ledgers_event_matches_its_schema(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", None)
    repo = store.repository("k", "/p")
    assert repo.id is not None
    events: list[Event] = []
    TrustLedger(store, repo.id, emit=events.append, clock=time.time).apply_feedback("hotspot", True)
    (event,) = events
    jsonschema.validate(event.data, CATALOG[event.type].schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rule": "hotspot"}, CATALOG[event.type].schema)
