"""Decode-and-split, dead-letter messages, backoff: the pure parts of ingest."""

from __future__ import annotations

import base64
import dataclasses
import itertools
from datetime import timedelta

import orjson

from ingest.backoff import Backoff
from ingest.batch import ConsumedMessage, DecodeRules, decode_batch, logical_topic
from ingest.dead_letters import DeadLetterMessage
from ingest.rows import SourceOffset
from learnstream.contracts import Topic, encode_event
from learnstream.errors import RejectionReason
from learnstream.settings import Settings
from tests.examples import all_examples, hostile_corpus

RULES = DecodeRules(max_bytes=64 * 1024, max_future_skew=timedelta(hours=24))


def _message(topic: Topic, raw: bytes, offset: int, key: bytes | None = b"k") -> ConsumedMessage:
    return ConsumedMessage(topic, SourceOffset(f"ns.{topic.value}", 1, offset), key, raw)


def test_batch_splits_accepted_and_dead_letters_in_order() -> None:
    good = [e for e in all_examples() if e.topic == Topic.BEHAVIOR]
    hostile = [h for h in hostile_corpus() if h[1] == Topic.BEHAVIOR]
    raws = [encode_event(e) for e in good] + [h[2] for h in hostile]
    messages = [_message(Topic.BEHAVIOR, raw, i) for i, raw in enumerate(raws)]

    batch = decode_batch(messages, RULES)

    assert [a.event for a in batch.accepted] == good
    assert [a.source.offset for a in batch.accepted] == list(range(len(good)))
    assert [str(d.reason) for d in batch.dead_letters] == [h[3] for h in hostile]
    assert [d.raw for d in batch.dead_letters] == [h[2] for h in hostile]
    assert all(d.source.partition == 1 and d.key == b"k" for d in batch.dead_letters)
    assert len(batch) == len(messages)
    assert batch.events() == [(a.event, a.source) for a in batch.accepted]


def test_rules_come_from_settings() -> None:
    settings = Settings(ingest={"max_event_bytes": 100, "max_future_skew_seconds": 60})
    rules = DecodeRules.from_settings(settings)
    assert (rules.max_bytes, rules.max_future_skew) == (100, timedelta(seconds=60))
    raw = encode_event(all_examples()[0])
    (dead,) = decode_batch([_message(Topic.BEHAVIOR, raw, 0)], rules).dead_letters
    assert dead.reason == RejectionReason.OVERSIZED


def test_logical_topic_strips_the_namespace() -> None:
    settings = Settings(topic_namespace="t123.")
    assert logical_topic(settings, "t123.learnstream.likes") == Topic.LIKES
    assert logical_topic(Settings(), "learnstream.catalog") == Topic.CATALOG


def test_dead_letter_message_carries_the_exact_bytes() -> None:
    raw = b"\xff\x00 not json"
    messages = [_message(Topic.LIKES, raw, 41, key=b"learner-9")]
    (dead,) = decode_batch(messages, RULES).dead_letters
    message = DeadLetterMessage.from_dead_letter(dead)
    wire = orjson.loads(message.model_dump_json())
    assert wire["reason"] == "malformed_json"
    assert (wire["source_topic"], wire["source_partition"], wire["source_offset"]) == (
        "ns.learnstream.likes", 1, 41,
    )
    assert base64.b64decode(wire["raw_base64"]) == raw
    assert base64.b64decode(wire["key_base64"]) == b"learner-9"
    assert DeadLetterMessage.model_validate(wire).raw() == raw


def test_backoff_grows_then_stays_at_the_cap() -> None:
    delays = list(itertools.islice(Backoff(initial=0.5, maximum=3.0).delays(), 6))
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_dead_letter_message_is_bounded_whatever_the_refused_message() -> None:
    from ingest.dead_letters import DETAIL_CAP_CHARS, KEY_CAP_BYTES, RAW_CAP_BYTES

    raw = b'{"padding": "' + b"x" * 900_000 + b'"}'
    messages = [_message(Topic.BEHAVIOR, raw, 7, key=b"k" * 5000)]
    (dead,) = decode_batch(messages, RULES).dead_letters
    assert dead.raw == raw  # the table keeps everything
    message = DeadLetterMessage.from_dead_letter(dataclasses.replace(dead, detail="d" * 10_000))
    body = message.model_dump_json().encode()
    assert len(body) < 2 * RAW_CAP_BYTES  # base64 of the cap, plus the envelope
    assert message.raw_truncated and message.raw_size == len(raw)
    assert message.raw() == raw[:RAW_CAP_BYTES]
    assert len(base64.b64decode(message.key_base64 or "")) == KEY_CAP_BYTES
    assert len(message.detail) == DETAIL_CAP_CHARS
    small = DeadLetterMessage.from_dead_letter(
        decode_batch([_message(Topic.BEHAVIOR, b"nope", 8)], RULES).dead_letters[0]
    )
    assert not small.raw_truncated and small.raw() == b"nope"
