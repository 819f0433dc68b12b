"""Hostile messages are dead-lettered with the right reason, in the table and on the topic,
without blocking the valid events around them."""

from __future__ import annotations

import base64

import pytest

from ingest.dead_letters import RAW_CAP_BYTES
from ingest.emitter import Emitter
from ingest.topics import ensure_topics
from learnstream.contracts import Envelope, Topic
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


def _near_the_limits(settings: Settings) -> tuple[bytes, list[Envelope]]:
    """A 900 kB message (refused as oversized, close to the broker's 1 MiB record limit)
    between valid events, as in the report: it used to jam its partition for good."""
    ensure_topics(settings)
    huge = b'{"event_type": "playback.started", "padding": "' + b"x" * 900_000 + b'"}'
    valid = all_examples()[:4]
    with Emitter(settings) as emitter:
        emitter.send(valid[0])
        emitter.send_raw(settings.topic(Topic.BEHAVIOR), huge, key=b"big")
        for event in valid[1:]:
            emitter.send(event)
        emitter.flush()
    return huge, valid


def test_a_message_near_the_size_limits_cannot_stall_its_partition(
    kafka_settings: Settings,
) -> None:
    huge, valid = _near_the_limits(kafka_settings)

    summary = ingest_until_idle(kafka_settings)

    assert sorted(logged_event_ids(kafka_settings)) == sorted(str(e.event_id) for e in valid)
    (row,) = dead_letter_rows(kafka_settings)
    assert row["reason"] == "oversized" and bytes(row["raw"]) == huge  # whole, in the table
    (message,) = dead_letter_topic_messages(kafka_settings)
    assert message["raw_truncated"] is True and message["raw_size"] == len(huge)
    assert base64.b64decode(message["raw_base64"]) == huge[:RAW_CAP_BYTES]
    assert summary.dead_letters_unpublished == 0


def test_a_dead_letter_the_broker_can_never_take_is_kept_and_does_not_stall(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the cap (as before the fix) the dead-letter record is larger than the producer
    accepts: the publish cannot succeed, so it is given up after the table write, once."""
    monkeypatch.setattr("ingest.dead_letters.RAW_CAP_BYTES", 10 * 1024 * 1024)
    huge, valid = _near_the_limits(kafka_settings)

    summary = ingest_until_idle(kafka_settings)

    assert sorted(logged_event_ids(kafka_settings)) == sorted(str(e.event_id) for e in valid)
    assert [bytes(r["raw"]) for r in dead_letter_rows(kafka_settings)] == [huge]
    assert summary.dead_letters_unpublished == 1
    assert dead_letter_topic_messages(kafka_settings) == []
