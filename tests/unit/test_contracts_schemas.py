"""The committed JSON Schema and AsyncAPI files are exactly what the code renders.

If this fails, run `learnstream contracts export` and commit the result (after checking
that the contract change is intended).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from ingest.asyncapi import asyncapi_document
from learnstream.contracts import decode_event, encode_event
from learnstream.contracts.export import SCHEMA_DIR, event_schemas, render
from learnstream.errors import EventRejected
from tests.examples import all_examples, example, hostile_corpus


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


# --- The published schemas give ingest's verdict -------------------------------------------

_VALIDATORS: dict[tuple[str, bool], Draft202012Validator] = {}


def _validator(name: str, formats: bool) -> Draft202012Validator:
    """With and without format checking: many validators treat ``format`` as a note only."""
    if (name, formats) not in _VALIDATORS:
        schema = orjson.loads((SCHEMA_DIR / name).read_bytes())
        Draft202012Validator.check_schema(schema)
        checker = Draft202012Validator.FORMAT_CHECKER if formats else None
        _VALIDATORS[name, formats] = Draft202012Validator(schema, format_checker=checker)
    return _VALIDATORS[name, formats]


def _schema_verdicts(document: Any, built_as: str) -> set[bool]:
    """Verdicts of the union and of the type's own file (``built_as``: the type the
    document was made from, which a broken document may no longer say), each with and
    without format checking."""
    names = ["event.json"]
    if (SCHEMA_DIR / f"{built_as}.json").exists():
        names.append(f"{built_as}.json")
    return {_validator(n, f).is_valid(document) for n in names for f in (True, False)}


def _schema_accepts(document: Any) -> bool:
    built_as = document.get("event_type") if isinstance(document, dict) else None
    verdicts = _schema_verdicts(document, built_as if isinstance(built_as, str) else "")
    assert len(verdicts) == 1, verdicts
    return verdicts.pop()


def _server_accepts(raw: bytes) -> bool:
    try:
        decode_event(raw)
    except EventRejected:
        return False
    return True


#: What JSON Schema cannot say, so only ingest refuses it (docs/contracts.md lists these).
SERVER_ONLY = {"oversized", "far_future", "wrong_topic", "nul_bytes"}


def _started() -> dict[str, Any]:
    return dict(orjson.loads(encode_event(example("playback.started"))))


def _hostile_documents() -> list[tuple[str, bytes]]:
    started = _started()
    corpus = [(name, raw) for name, _, raw, _ in hostile_corpus() if name not in SERVER_ONLY]
    extra = {
        "naive_occurred_at": {**started, "occurred_at": "2025-03-03T10:00:00"},
        "words_for_a_time": {**started, "occurred_at": "yesterday"},
        "naive_time_in_payload": {
            **(a := dict(orjson.loads(encode_event(example("assessment.submitted"))))),
            "payload": {**a["payload"], "started_at": "2025-03-03T10:00:00"},
        },
        "no_event_id": {k: v for k, v in started.items() if k != "event_id"},
        "event_id_not_a_uuid": {**started, "event_id": "42"},
        "unknown_envelope_field": {**started, "colour": "red"},
        "unknown_payload_field": {**started, "payload": {**started["payload"], "colour": "red"}},
        "empty_session": {**started, "session_id": ""},
        "long_learner_id": {**started, "learner_id": "x" * 256},
        "tab_in_learner_id": {**started, "learner_id": "a\tb"},
        "escape_in_session_id": {**started, "session_id": "s\u001b[31m"},
        "c1_control_in_content_id": {**started, "content_id": "c\u0085"},
        "bad_enum": {**started, "payload": {**started["payload"], "content_characteristics": {
            **started["payload"].get("content_characteristics", {}), "format": "opera"}}},
        "schema_version_zero": {**started, "schema_version": 0},
        "null_payload": {**started, "payload": None},
    }
    return corpus + [(name, orjson.dumps(doc)) for name, doc in extra.items()]


@pytest.mark.parametrize("event", all_examples(), ids=lambda e: e.event_type)
def test_every_valid_example_passes_both(event: Any) -> None:
    raw = encode_event(event)
    assert _server_accepts(raw)
    assert _schema_accepts(orjson.loads(raw))


@pytest.mark.parametrize(("name", "raw"), _hostile_documents(), ids=lambda v: str(v)[:30])
def test_every_hostile_case_fails_both(name: str, raw: bytes) -> None:
    assert not _server_accepts(raw), f"{name}: ingest accepts it"
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return  # not JSON: no schema applies, and ingest says malformed_json
    built_as = "assessment.submitted" if b"assessment" in raw else "playback.started"
    verdicts = _schema_verdicts(document, built_as)
    assert verdicts == {False}, f"{name}: a published schema accepts what ingest refuses"


def test_what_only_the_server_checks_is_documented() -> None:
    contracts = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text()
    for reason in ("oversized", "occurred_in_future", "wrong_topic", "U+0000"):
        assert reason in contracts, reason


def test_documents_declare_their_dialect_and_id() -> None:
    for path in SCHEMA_DIR.glob("*.json"):
        if path.name == "asyncapi.json":
            continue
        document = orjson.loads(path.read_bytes())
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["$id"] == f"urn:learnstream:schema:{path.name}"
