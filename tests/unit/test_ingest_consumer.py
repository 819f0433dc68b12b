"""The batch handler under FastStream's in-memory TestKafkaBroker (no servers).

The log writer is replaced by a recorder; the real one is covered by integration tests.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import anyio
import orjson
import pytest
from faststream.kafka import TestKafkaBroker

from ingest.appender import AppendResult
from ingest.batch import DecodedBatch
from ingest.consumer import ACK_POLICY, IngestConsumer, group_instance_id
from ingest.errors import ConsumerFailed
from learnstream.contracts import EVENT_TOPICS, Topic, encode_event
from learnstream.settings import Settings
from tests.examples import all_examples, hostile_corpus

SETTINGS = Settings(kafka_bootstrap="localhost:1", database_url="postgresql://x@localhost:1/x",
                    topic_namespace="unit.")


class RecordingWriter:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[DecodedBatch] = []
        self.fail = fail

    def write(self, batch: DecodedBatch) -> AppendResult:
        if self.fail:
            raise RuntimeError("boom")
        self.batches.append(batch)
        return AppendResult(inserted=len(batch.accepted), dead_lettered=len(batch.dead_letters))

    def close(self) -> None:
        pass


def _body(value: Any) -> dict[str, Any]:
    return orjson.loads(value) if isinstance(value, (bytes, str)) else dict(value)


def _consumer(writer: RecordingWriter) -> IngestConsumer:
    return IngestConsumer(SETTINGS, writer_factory=lambda topic: writer)


def test_offsets_are_committed_manually() -> None:
    # The delivery guarantee depends on this: FastStream must not auto-commit.
    assert ACK_POLICY.value == "manual"
    consumer = IngestConsumer(SETTINGS)
    for subscriber in consumer.broker.subscribers:
        assert getattr(subscriber, "_connection_args")["enable_auto_commit"] is False  # noqa: B009


def test_subscribers_join_as_static_members_named_by_the_settings() -> None:
    # A restart after SIGKILL takes its partitions back at once only as a static member.
    assert group_instance_id(SETTINGS) == socket.gethostname()
    named = SETTINGS.with_part(ingest={"instance_id": "worker-7", "session_timeout_ms": 9000})
    assert group_instance_id(named) == "worker-7"
    for subscriber in IngestConsumer(named).broker.subscribers:
        args = getattr(subscriber, "_connection_args")  # noqa: B009
        assert args["group_instance_id"] == "worker-7"
        assert args["session_timeout_ms"] == 9000
    dynamic = SETTINGS.with_part(ingest={"static_membership": False, "instance_id": "w"})
    assert group_instance_id(dynamic) is None
    for subscriber in IngestConsumer(dynamic).broker.subscribers:
        assert getattr(subscriber, "_connection_args").get("group_instance_id") is None  # noqa: B009


def test_events_are_written_and_dead_letters_published() -> None:
    writer = RecordingWriter()
    consumer = _consumer(writer)
    hostile = hostile_corpus()

    async def run() -> Any:
        async with TestKafkaBroker(consumer.broker) as broker:
            for event in all_examples():
                await broker.publish(encode_event(event), SETTINGS.topic(event.topic))
            for _, topic, raw, _ in hostile:
                await broker.publish(raw, SETTINGS.topic(topic))
            # The publisher's mock records each published body (decoded JSON).
            calls = consumer.dead_letter_publisher.mock.call_args_list
            return [_body(call.args[0]) for call in calls]

    published = anyio.run(run)

    written = [a.event.event_type for b in writer.batches for a in b.accepted]
    assert sorted(written) == sorted(e.event_type for e in all_examples())
    assert [p["reason"] for p in published] == [h[3] for h in hostile]
    assert consumer.summary.inserted == len(all_examples())
    assert consumer.summary.dead_lettered == len(hostile)
    assert consumer.summary.topics[Topic.BEHAVIOR].messages == 8 + sum(
        1 for h in hostile if h[1] == Topic.BEHAVIOR
    )


def test_unexpected_error_stops_the_consumer_without_publishing() -> None:
    consumer = _consumer(RecordingWriter(fail=True))

    async def run() -> Any:
        async with TestKafkaBroker(consumer.broker) as broker:
            await broker.publish(b"not json", SETTINGS.topic(Topic.LIKES))
            return consumer.dead_letter_publisher.mock.call_count

    published = anyio.run(run)

    assert consumer.failed.is_set()
    assert published == 0
    assert consumer.summary.messages == 0
    with pytest.raises(ConsumerFailed, match="boom"):
        consumer.raise_if_failed()


def test_abandon_event_is_shared_with_writers() -> None:
    consumer = IngestConsumer(SETTINGS)
    assert isinstance(consumer.abandon, threading.Event)
    writers = [getattr(consumer, "_writers")[topic] for topic in EVENT_TOPICS]  # noqa: B009
    assert all(getattr(w, "_stopping") is consumer.abandon for w in writers)  # noqa: B009


def _messages(n: int, bad_every: int = 0) -> list[Any]:
    from ingest.batch import ConsumedMessage
    from ingest.rows import SourceOffset

    examples = [e for e in all_examples() if e.topic == Topic.BEHAVIOR]
    out = []
    for i in range(n):
        raw = b"not json" if bad_every and i % bad_every == 0 else encode_event(
            examples[i % len(examples)])
        out.append(ConsumedMessage(Topic.BEHAVIOR, SourceOffset("t", 0, i), None, raw))
    return out


def test_a_batch_is_written_in_chunks_in_order() -> None:
    # Chunks let decoding overlap the database; they must still reach it in Kafka order,
    # every message in exactly one chunk.
    writer = RecordingWriter()
    consumer = IngestConsumer(SETTINGS.with_part(ingest={"pipeline_chunk_records": 4}),
                              writer_factory=lambda topic: writer)
    messages = _messages(10, bad_every=3)

    async def run() -> Any:
        return await consumer._decode_and_write(Topic.BEHAVIOR, messages)

    result, dead = anyio.run(run)
    consumer.close()
    assert [len(b) for b in writer.batches] == [4, 4, 2]
    def offsets(batch: DecodedBatch) -> list[int]:
        return ([a.source.offset for a in batch.accepted]
                + [d.source.offset for d in batch.dead_letters])

    assert sorted(o for b in writer.batches for o in offsets(b)) == list(range(10))
    assert [min(offsets(b)) for b in writer.batches] == [0, 4, 8]
    assert [d.source.offset for d in dead] == [0, 3, 6, 9]
    assert result.inserted == 6


def test_chunking_off_writes_the_batch_at_once() -> None:
    writer = RecordingWriter()
    consumer = IngestConsumer(SETTINGS.with_part(ingest={"pipeline_chunk_records": 0}),
                              writer_factory=lambda topic: writer)
    anyio.run(lambda: consumer._decode_and_write(Topic.BEHAVIOR, _messages(7)))
    consumer.close()
    assert [len(b) for b in writer.batches] == [7]


def test_a_failing_chunk_fails_the_batch_after_the_chunks_before_it() -> None:
    class FailSecond(RecordingWriter):
        def write(self, batch: DecodedBatch) -> AppendResult:
            if self.batches:
                raise RuntimeError("second chunk refused")
            return super().write(batch)

    writer = FailSecond()
    consumer = IngestConsumer(SETTINGS.with_part(ingest={"pipeline_chunk_records": 3}),
                              writer_factory=lambda topic: writer)
    with pytest.raises(RuntimeError, match="second chunk"):
        anyio.run(lambda: consumer._decode_and_write(Topic.BEHAVIOR, _messages(9)))
    consumer.close()
    # The first chunk is in the log; the batch's offsets are not committed (handle_batch
    # commits only after this returns), so a redelivery appends it again as a no-op.
    assert [len(b) for b in writer.batches] == [3]


def test_lag_of_a_partition_a_rebalance_just_took_is_unknown_not_an_error() -> None:
    # Seen with two workers: aiokafka asserts in highwater() once the partition is gone, and
    # the batch, already committed to the log, ended without its "batch committed" line.
    from aiokafka import AIOKafkaConsumer, ConsumerRecord

    from ingest.consumer import _lag

    class Revoked(AIOKafkaConsumer):  # type: ignore[misc]
        def __init__(self) -> None:
            pass

        def assignment(self) -> set[Any]:
            return set()  # the rebalance took partition 1

        def highwater(self, partition: Any) -> int:
            raise AssertionError("Partition is not assigned")  # aiokafka's own check

    record = ConsumerRecord("t", 1, 41, 0, 0, None, b"{}", None, 0, 2, ())
    assert _lag(Revoked(), [record]) is None
