"""Hostile messages are dead-lettered with the right reason, in the table and on the topic,
without blocking the valid events around them."""

from __future__ import annotations

import base64

from ingest.emitter import Emitter
from ingest.topics import ensure_topics
from learnstream.settings import Settings
from testing.ingest import (
    dead_letter_rows,
    dead_letter_topic_messages,
    ingest_until_idle,
    logged_event_ids,
)
from tests.examples import all_examples, hostile_corpus


def test_hostile_corpus_is_dead_lettered_with_reasons(kafka_settings: Settings) -> None:
    ensure_topics(kafka_settings)
    corpus = hostile_corpus()
    valid = all_examples()
    with Emitter(kafka_settings) as emitter:
        for event in valid[:10]:
            emitter.send(event)
        for _, topic, raw, _ in corpus:
            emitter.send_raw(kafka_settings.topic(topic), raw, key=b"hostile")
        for event in valid[10:]:
            emitter.send(event)
        emitter.flush()

    summary = ingest_until_idle(kafka_settings)

    assert sorted(logged_event_ids(kafka_settings)) == sorted(str(e.event_id) for e in valid)
    expected = sorted((raw, reason) for _, _, raw, reason in corpus)
    rows = dead_letter_rows(kafka_settings)
    assert sorted((bytes(r["raw"]), r["reason"]) for r in rows) == expected
    assert all(r["raw_size"] == len(bytes(r["raw"])) for r in rows)
    assert all(bytes(r["kafka_key"]) == b"hostile" for r in rows)
    on_topic = dead_letter_topic_messages(kafka_settings)
    assert sorted((base64.b64decode(m["raw_base64"]), m["reason"]) for m in on_topic) == expected
    assert {(m["source_topic"], m["source_partition"], m["source_offset"]) for m in on_topic} == {
        (r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in rows
    }
    assert summary.dead_lettered == len(corpus)
    assert summary.dead_letter_reasons["malformed_json"] == sum(
        1 for c in corpus if c[3] == "malformed_json"
    )
