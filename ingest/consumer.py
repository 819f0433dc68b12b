"""The ingest consumer: a FastStream Kafka app with one batch subscriber per event topic.

Each batch goes through :meth:`IngestConsumer.handle_batch`, which is where the delivery
guarantee is made (read its docstring). Everything else here is wiring.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Protocol, Union

import anyio
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from pydantic import Field, PlainValidator

from ingest.appender import AppendResult, DeadLetter
from ingest.backoff import Backoff
from ingest.batch import ConsumedMessage, DecodedBatch, DecodeRules, decode_batch
from ingest.dead_letters import KEY_CAP_BYTES, DeadLetterMessage
from ingest.errors import ConsumerFailed, IngestInterrupted
from ingest.log_writer import LogWriter
from ingest.rows import SourceOffset
from ingest.summary import IngestSummary
from learnstream.contracts import EVENT_TOPICS, EVENT_TYPES, Topic, event_types_on
from learnstream.settings import Settings

log = logging.getLogger("learnstream.ingest")

# THE offset-commit decision (the one place it is made).
#
# FastStream's default Kafka policy is ACK_FIRST: aiokafka auto-commits offsets as soon as
# a batch is fetched, before the handler runs. A crash or a database outage after the fetch
# would then lose the batch (at-most-once). AckPolicy.ACK is no better for us: it commits
# after the handler even when the handler raised. So ingest uses MANUAL, which FastStream
# turns into `enable_auto_commit=False` and no automatic ack at all, and commits the exact
# offsets itself in `handle_batch`, only after the batch's database transaction committed
# and its dead letters were published. A crash between the database commit and the offset
# commit redelivers the batch, and the log's idempotent append (event_id unique; dead
# letters unique by source offset) turns that redelivery into a no-op: exactly once in
# effect.
ACK_POLICY = AckPolicy.MANUAL

#: How long SIGTERM waits for the batch in flight before abandoning it (uncommitted).
GRACEFUL_TIMEOUT_S = 30.0


def _topic_wire_schema(topic: Topic) -> Any:
    """The handler's body annotation: raw message values, documented as the topic's events.

    Validation is a pass-through (ingest decodes itself, so that a bad message becomes a
    dead letter with a precise reason rather than a FastStream error), while the AsyncAPI
    document shows the discriminated union of the event types that travel on ``topic``.
    """
    classes = tuple(EVENT_TYPES[name] for name in event_types_on(topic))
    event: Any = (
        Annotated[Union[classes], Field(discriminator="event_type")]  # noqa: UP007
        if len(classes) > 1
        else classes[0]
    )
    return Annotated[list[bytes], PlainValidator(lambda raw: raw, json_schema_input_type=event)]


async def _raw_values(message: StreamMessage[Any]) -> list[bytes]:
    # Skip FastStream's per-message JSON decode: the codec parses each message once.
    records: Sequence[ConsumerRecord[Any, Any]] = message.raw_message
    return [record.value or b"" for record in records]


class BatchWriter(Protocol):
    """What the consumer needs from a log writer (:class:`LogWriter`, or a test double)."""

    def write(self, batch: DecodedBatch) -> AppendResult: ...

    def close(self) -> None: ...


class _TopicsExistFilter(logging.Filter):
    """Drops FastStream's start-up reminder that topic auto-creation is off: ingest creates
    its topics itself (ensure_topics) before it subscribes, so the reminder is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Auto create topics is disabled" not in record.getMessage()


def _faststream_logger() -> logging.Logger:
    logger = logging.getLogger("learnstream.ingest.faststream")
    if not any(isinstance(f, _TopicsExistFilter) for f in logger.filters):
        logger.addFilter(_TopicsExistFilter())
    return logger


#: Publish errors that no retry can cure (see ``_publish_dead_letters``).
UNCURABLE_PUBLISH_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError)


def consumer_group_for(settings: Settings, topic: Topic) -> str:
    """One consumer group per topic (``<consumer_group>.<family>``).

    With one group for all five subscribers, each subscriber joining made the others
    rejoin: a rebalance storm at every start that redelivered in-flight batches (harmless,
    they are idempotent, but wasted work). Separate groups rebalance only among the
    processes that consume the same topic.
    """
    return f"{settings.ingest.consumer_group}.{topic.value.rsplit('.', 1)[-1]}"


def group_instance_id(settings: Settings) -> str | None:
    """This worker's static group membership name, or None for a dynamic member.

    Why static membership (KIP-345) rather than a shorter session timeout: a worker killed
    with SIGKILL never says goodbye, so a dynamic group keeps the dead member until its
    session times out (10 s) before a restarted worker gets any partition; a restart took
    10.2 s to land its first event. A static member that comes back under the same
    ``group.instance.id`` simply replaces its dead self and gets the same partitions at once,
    with no rebalance at all. A shorter session timeout only shrinks the wait: brokers refuse
    one below ``group.min.session.timeout.ms`` (6 s by default), and a short one makes every
    long GC pause or slow batch a rebalance. The price, documented in docs/ingest.md: the name
    must be stable per worker and unique among live workers (the host name by default), and a
    static member does not leave the group on shutdown, so a worker stopped for good hands its
    partitions over only after ``session_timeout_ms``.
    """
    if not settings.ingest.static_membership:
        return None
    return settings.ingest.instance_id or socket.gethostname()


class IngestConsumer:
    """The broker, its five batch subscribers, the dead-letter publisher and the writers."""

    def __init__(
        self,
        settings: Settings,
        *,
        backoff: Backoff | None = None,
        writer_factory: Callable[[Topic], BatchWriter] | None = None,
    ) -> None:
        self.settings = settings
        self.summary = IngestSummary()
        #: Set when retries must give up (shutdown past the graceful timeout).
        self.abandon = threading.Event()
        #: Set when the consumer must stop (fatal error in a handler).
        self.failed = anyio.Event()
        self.failure: BaseException | None = None
        self._backoff = backoff or Backoff(maximum=settings.ingest.retry_max_seconds)
        self._rules = DecodeRules.from_settings(settings)
        self._writer_factory = writer_factory or self._log_writer
        self._writers: dict[Topic, BatchWriter] = {}
        self._write_threads: dict[Topic, ThreadPoolExecutor] = {}
        self.broker = KafkaBroker(
            settings.resolved_kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            ack_policy=ACK_POLICY,
            graceful_timeout=GRACEFUL_TIMEOUT_S,
            # Topics are created by ensure_topics (partitions, namespace), not implicitly.
            allow_auto_create_topics=False,
            logger=_faststream_logger(),
            log_level=logging.DEBUG,
            description="Learnstream ingest: event topics -> append-only PostgreSQL log.",
        )
        self.dead_letter_publisher: DefaultPublisher = self.broker.publisher(
            settings.topic(Topic.DEAD_LETTER),
            title="dead-letter",
            description="Messages ingest refused, with the reason and the raw bytes.",
            schema=DeadLetterMessage,
        )
        for topic in EVENT_TOPICS:
            self._subscribe(topic)

    def _log_writer(self, topic: Topic) -> BatchWriter:
        return LogWriter(self.settings, backoff=self._backoff, stopping=self.abandon)

    def _subscribe(self, topic: Topic) -> None:
        self._writers[topic] = self._writer_factory(topic)
        # One thread per topic: its writer's connection is used by one thread, in order.
        self._write_threads[topic] = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"ingest-write-{topic.name.lower()}")
        subscriber = self.broker.subscriber(
            self.settings.topic(topic),
            batch=True,
            group_id=consumer_group_for(self.settings, topic),
            auto_offset_reset="earliest",
            max_records=self.settings.ingest.batch_max_records,
            batch_timeout_ms=self.settings.ingest.batch_timeout_ms,
            # A batch may wait for the database much longer than aiokafka's default 5 min
            # poll interval; past it the group reassigns the partitions, which is safe
            # (uncommitted, idempotent) but churns. One hour keeps the member in place.
            max_poll_interval_ms=3_600_000,
            # Static membership: a restart takes its partitions back at once (see
            # group_instance_id); a short heartbeat notices a rebalance soon.
            group_instance_id=group_instance_id(self.settings),
            session_timeout_ms=self.settings.ingest.session_timeout_ms,
            heartbeat_interval_ms=min(500, self.settings.ingest.session_timeout_ms // 3),
            # Bounds what aiokafka prefetches per subscriber while a batch is being written
            # (its default, 50 MB per fetch, let five subscribers buffer far ahead).
            fetch_max_bytes=4 * 1024 * 1024,
            decoder=_raw_values,
            title=f"ingest:{topic.value}",
            description=f"Appends {topic.value} events to the log.",
        )

        async def handle(batch: list[bytes], message: Any) -> None:
            await self.handle_batch(topic, message)

        # The annotations are built at runtime (one event union per topic), so they are
        # given to FastStream through the signature rather than written inline.
        handle.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    "batch",
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    annotation=_topic_wire_schema(topic),
                ),
                inspect.Parameter(
                    "message", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=KafkaMessage
                ),
            ]
        )
        handle.__name__ = f"ingest_{topic.name.lower()}"
        subscriber(handle)

    async def handle_batch(self, topic: Topic, message: StreamMessage[Any]) -> None:
        """Decode, write, dead-letter, then commit offsets: in this order, never another.

        1. decode every record; refused ones become dead letters (with raw bytes, offset);
        2. one database transaction appends the events and the dead letters (retried while
           the database is down; never skipped);
        3. each dead letter is published to the dead-letter topic and acknowledged;
        4. only then the offsets after the batch's last records are committed.
        A failure before 4 leaves the offsets where they were: the batch comes again.
        """
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        if not records:
            return
        self.summary.touch()
        consumer = message.consumer  # type: ignore[attr-defined]
        try:
            # A subscriber reads one topic: its records' logical topic is ``topic`` (working
            # it out per record from the physical name cost ~5% of the consumer's CPU).
            messages = [
                ConsumedMessage(
                    topic=topic,
                    source=SourceOffset(r.topic, r.partition, r.offset),
                    key=r.key,
                    value=r.value or b"",
                )
                for r in records
            ]
            result, dead_letters = await self._decode_and_write(topic, messages)
            await self._publish_dead_letters(dead_letters)
            await _commit(consumer, _next_offsets(records))
        except IngestInterrupted:
            log.warning("batch abandoned at shutdown; it will be redelivered", extra={
                "topic": topic.value, "records": len(records)})
            return
        except Exception as exc:
            # Unknown failure: rewind so this consumer does not move past the batch, and
            # stop. A restart resumes from the last committed offsets.
            _rewind(consumer, records)
            self.failure = exc
            log.exception("ingest failed; stopping without committing this batch",
                          extra={"topic": topic.value})
            self.failed.set()
            return
        self.summary.record(topic, len(records), result, dead_letters)
        self.summary.touch()
        log.info(
            "batch committed",
            extra={
                "topic": topic.value,
                "records": len(records),
                "inserted": result.inserted,
                "duplicates": result.duplicates,
                "dead_lettered": len(dead_letters),
                "lag": _lag(consumer, records),
            },
        )

    async def _decode_and_write(
        self, topic: Topic, messages: list[ConsumedMessage]
    ) -> tuple[AppendResult, list[DeadLetter]]:
        """Decode and write the batch chunk by chunk, decoding each chunk while the database
        works on the previous one.

        Why chunks: decoding is Python work on this thread, and a write spends most of its
        time waiting for PostgreSQL on the writer's thread; written whole, the two never
        overlap. Each chunk is its own transaction, written in order on the topic's one
        writer thread. The offsets are still committed once, after the last chunk (in
        ``handle_batch``): a failure in between leaves the batch uncommitted, and its
        redelivery appends the chunks already written as no-ops (idempotent append).
        """
        size = self.settings.ingest.pipeline_chunk_records or len(messages)
        loop = asyncio.get_running_loop()
        write = self._writers[topic].write
        result = AppendResult()
        dead_letters: list[DeadLetter] = []
        pending: asyncio.Future[AppendResult] | None = None
        for start in range(0, len(messages), size):
            decoded = decode_batch(messages[start:start + size], self._rules)
            dead_letters.extend(decoded.dead_letters)
            if pending is not None:
                result += await pending
            pending = loop.run_in_executor(self._write_threads[topic], write, decoded)
        if pending is not None:
            result += await pending
        return result, dead_letters

    async def _publish_dead_letters(self, dead_letters: list[DeadLetter]) -> None:
        for dead in dead_letters:
            message = DeadLetterMessage.from_dead_letter(dead)
            body = message.model_dump_json().encode()
            key = None if dead.key is None else dead.key[:KEY_CAP_BYTES]
            for delay in self._backoff.delays():
                try:
                    await self.dead_letter_publisher.publish(
                        body, key=key, headers={"content-type": "application/json"}
                    )
                    break
                except KafkaError as exc:
                    if isinstance(exc, UNCURABLE_PUBLISH_ERRORS):
                        # Retrying cannot cure a record the producer or broker refuses for its
                        # size: the dead letter is already durable in log.dead_letters, so the
                        # topic copy is given up rather than stalling the partition forever.
                        # (Not every non-"retriable" error: a broker outage raises
                        # KafkaTimeoutError, and that is retried.)
                        log.error("dead-letter publish impossible; kept in the table only",
                                  extra={"error": repr(exc), "source_offset": dead.source.offset,
                                         "source_topic": dead.source.topic})
                        self.summary.dead_letters_unpublished += 1
                        break
                    log.warning("dead-letter publish failed; retrying",
                                extra={"error": str(exc), "retry_in_s": delay})
                if self.abandon.is_set():
                    raise IngestInterrupted("shutdown while publishing dead letters")
                await anyio.sleep(delay)

    def close(self) -> None:
        for executor in self._write_threads.values():
            executor.shutdown(wait=True)
        for writer in self._writers.values():
            writer.close()

    def raise_if_failed(self) -> None:
        if self.failure is not None:
            raise ConsumerFailed(str(self.failure)) from self.failure


def _next_offsets(records: Sequence[ConsumerRecord[Any, Any]]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last record of the batch (Kafka's convention)."""
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    offsets: dict[TopicPartition, int] = {}
    for (topic, partition), offset in last.items():
        tp = TopicPartition(topic, partition)
        offsets[tp] = max(offsets.get(tp, 0), offset + 1)
    return offsets


async def _commit(consumer: Any, offsets: dict[TopicPartition, int]) -> None:
    if not isinstance(consumer, AIOKafkaConsumer):
        await consumer.commit()  # FastStream's in-memory test consumer: nothing to commit
        return
    try:
        await consumer.commit(offsets)
    except KafkaError as exc:
        # Typically a rebalance took the partitions away. The rows are committed; the new
        # owner re-reads the batch and the idempotent append makes it a no-op.
        log.warning("offset commit failed; the batch will be redelivered (no-op)",
                    extra={"error": repr(exc)})


def _rewind(consumer: Any, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
    if not isinstance(consumer, AIOKafkaConsumer):
        return
    first: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(first.get(tp, record.offset), record.offset)
    for tp, offset in first.items():
        try:
            consumer.seek(tp, offset)
        except Exception:
            log.warning("could not rewind %s", tp)


def _lag(consumer: Any, records: Sequence[ConsumerRecord[Any, Any]]) -> int | None:
    """Records behind the high watermark after this batch (None when unknown)."""
    if not isinstance(consumer, AIOKafkaConsumer):
        return None
    lag = 0
    assigned = consumer.assignment()
    for tp, next_offset in _next_offsets(records).items():
        # A rebalance may just have taken the partition (aiokafka's highwater() asserts it is
        # assigned); the figure is for the log line only and must not fail a committed batch.
        if tp not in assigned:
            return None
        highwater = consumer.highwater(tp)
        if highwater is None:
            return None
        lag += max(highwater - next_offset, 0)
    return lag


__all__ = ["ACK_POLICY", "BatchWriter", "IngestConsumer", "group_instance_id"]
