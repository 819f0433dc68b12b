"""The contracts mark personal free text; ingest keeps, hashes or drops it by setting."""

from __future__ import annotations

import hashlib
import json

from learnstream.contracts import EVENT_TYPES
from learnstream.contracts.export import event_schemas
from learnstream.contracts.pii import pii_fields, redacted
from tests.examples import example


def _marked_in_schemas() -> set[tuple[str, str]]:
    """(event type, property) of every property marked ``x-pii`` in the exported schemas."""
    out: set[tuple[str, str]] = set()

    def walk(node: object, event_type: str) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and prop.get("x-pii") is True:
                    out.add((event_type, name))
            for value in node.values():
                walk(value, event_type)
        elif isinstance(node, list):
            for value in node:
                walk(value, event_type)

    for file_name, doc in event_schemas().items():
        event_type = file_name.removesuffix(".json")
        if event_type in EVENT_TYPES:
            walk(doc, event_type)
    return out


def test_the_schemas_carry_exactly_the_marked_fields() -> None:
    marked = {
        (event_type, name)
        for event_type, cls in EVENT_TYPES.items()
        for name, _ in pii_fields(cls.model_fields["payload"].annotation)  # type: ignore[arg-type]
    }
    assert {name for _, name in marked} == {
        "query_text", "original_query", "user_label", "user_notes", "feedback_text"}
    assert _marked_in_schemas() == marked


def test_hash_keeps_equal_texts_equal_and_the_text_gone() -> None:
    event = example("content.requested", payload={"query_text": "my name is Ada"})
    hashed = redacted(event, "hash")
    text = hashed.payload.query_text  # type: ignore[attr-defined]
    assert text == "sha256:" + hashlib.sha256(b"my name is Ada").hexdigest()
    assert "Ada" not in hashed.model_dump_json()
    assert redacted(example("content.requested", payload={"query_text": "my name is Ada"}),
                    "hash").payload.query_text == text  # type: ignore[attr-defined]
    assert hashed.event_id == event.event_id and hashed.payload.target_language == "it"  # type: ignore[attr-defined]


def test_drop_empties_required_fields_and_nulls_optional_ones() -> None:
    feedback = example("feedback.submitted", payload={"rating": 4, "feedback_text": "Ada here"})
    dropped = redacted(feedback, "drop")
    assert dropped.payload.feedback_text is None and dropped.payload.rating == 4  # type: ignore[attr-defined]
    requested = redacted(example("content.requested"), "drop")
    assert requested.payload.query_text == ""  # type: ignore[attr-defined]
    assert "feedback_text" not in json.loads(dropped.payload.model_dump_json(exclude_none=True))


def test_keep_and_events_without_pii_are_the_same_object() -> None:
    event = example("content.requested")
    assert redacted(event, "keep") is event
    heartbeat = example("playback.heartbeat")
    assert redacted(heartbeat, "drop") is heartbeat
