"""The committed JSON Schema and AsyncAPI files are exactly what the code renders.

If this fails, run `learnstream contracts export` and commit the result (after checking
that the contract change is intended).
"""

from __future__ import annotations

import pytest

from ingest.asyncapi import asyncapi_document
from learnstream.contracts.export import SCHEMA_DIR, event_schemas, render


def _documents() -> dict[str, bytes]:
    documents = event_schemas()
    documents["asyncapi.json"] = asyncapi_document()
    return {name: render(document) for name, document in documents.items()}


RENDERED = _documents()


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_committed_document_matches_code(name: str) -> None:
    path = SCHEMA_DIR / name
    assert path.exists(), f"{name} missing: run `learnstream contracts export`"
    drifted = f"{name} drifted: run `learnstream contracts export`"
    assert path.read_bytes() == RENDERED[name], drifted


def test_no_stale_documents() -> None:
    committed = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert committed == set(RENDERED)


def test_asyncapi_documents_every_channel() -> None:
    document = asyncapi_document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {
        "learnstream.behavior", "learnstream.likes", "learnstream.activity",
        "learnstream.learning", "learnstream.catalog", "learnstream.dead-letter",
    }
    schemas = document["components"]["schemas"]
    assert "DeadLetterMessage" in schemas
    behavior = schemas["ingest:learnstream.behavior:Message:Payload"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in behavior["oneOf"]} >= {
        "PlaybackStarted", "PlaybackHeartbeat",
    }
