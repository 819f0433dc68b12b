"""The collector's Kafka producer: every accepted event is acknowledged by the broker
before the HTTP answer says so.

confluent-kafka (librdkafka), not aiokafka or ingest's kafka-python ``Emitter``: queueing a
request's events is one C call per topic (``produce_batch``) where aiokafka spends tens of
microseconds of Python per event, about as much as the rest of a batch's work (measured,
see docs/sending-events.md).
The delivery guarantees are the emitter's (``acks`` and ``enable_idempotence`` are read
from ``PRODUCER_DEFAULTS``), the key is the kernel's rule (``Envelope.partition_key``).

librdkafka reports deliveries from ``poll()``, which a daemon thread calls; the reports of
one request are counted in that thread and the request's future is resolved once, through
``loop.call_soon_threadsafe``, when the last one arrived (one wake-up of the event loop per
request, not per event).

Memory is bounded twice: the events that wait for an acknowledgement are counted across
all requests, and a request that would pass ``max_in_flight_events`` is refused (503)
before any of its events is queued; librdkafka's own queue is capped at the same count
(``queue.buffering.max.messages``, and in bytes), and a full queue is a 503 too. A message's
delivery timeout is the produce timeout, so what a timed-out request left in the queue
expires with it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as KafkaProducer

from collector.errors import CollectorOverloaded
from ingest.emitter import PRODUCER_DEFAULTS
from learnstream.errors import BrokerUnavailable
from learnstream.settings import Settings

#: librdkafka's own log lines (served by ``poll()``), not its default of stderr.
log = logging.getLogger("learnstream.collector.kafka")
#: How long the poll thread blocks in one ``poll()``: the latency of noticing ``stop``.
POLL_SECONDS = 0.1
#: librdkafka's queue in bytes (besides the count): 20,000 events of the usual size fit
#: many times over, a flood of large ones gets 503 rather than the default 1 GiB.
QUEUE_MAX_KBYTES = 128 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """One message to produce: physical topic, key, value."""

    topic: str
    key: bytes
    value: bytes


class _Delivery:
    """The delivery reports of one request. ``report`` runs in the poll thread only (the one
    thread that calls ``poll()``, or ``flush()`` at the end), so the count needs no lock."""

    __slots__ = ("error", "future", "loop", "remaining")

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.loop = loop
        self.future: asyncio.Future[KafkaError | None] = loop.create_future()
        self.remaining = count
        self.error: KafkaError | None = None

    def report(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None and self.error is None:
            self.error = err
        self.remaining -= 1
        if self.remaining == 0:
            self.loop.call_soon_threadsafe(_resolve, self.future, self.error)


def _resolve(future: asyncio.Future[KafkaError | None], error: KafkaError | None) -> None:
    if not future.done():  # a request that timed out no longer waits
        future.set_result(error)


def _refused(messages: list[dict[str, Any]]) -> Exception:
    """What a partly queued batch is. The queued part is delivered or expires on its own;
    the client retries the whole batch (event_id makes that safe)."""
    error = next((m["_error"] for m in messages if "_error" in m), None)
    if isinstance(error, KafkaError) and error.code() == KafkaError._QUEUE_FULL:
        return CollectorOverloaded("the producer's queue is full")
    return BrokerUnavailable(f"Kafka refused the batch: {error}")


def producer_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's settings for the collector: the emitter's guarantees, the collector's
    bounds."""
    part = settings.collector
    return {
        "bootstrap.servers": settings.resolved_kafka_bootstrap,
        "client.id": "learnstream-collector",
        "acks": PRODUCER_DEFAULTS["acks"],
        "enable.idempotence": PRODUCER_DEFAULTS["enable_idempotence"],
        "linger.ms": part.linger_ms,
        "message.timeout.ms": int(part.produce_timeout_seconds * 1000),
        "queue.buffering.max.messages": part.max_in_flight_events,
        "message.max.bytes": PRODUCER_DEFAULTS["max_request_size"],
        "batch.size": PRODUCER_DEFAULTS["batch_size"],
        "queue.buffering.max.kbytes": QUEUE_MAX_KBYTES,
        # The Java client's partitioner, as kafka-python's (the emitter) and aiokafka's: a
        # key lands on the same partition whichever way its events arrive, so their order
        # holds.
        "partitioner": "murmur2_random",
    }


class Producer:
    """Starts in the background (the collector serves 503 until Kafka answers), produces
    batches and waits for every acknowledgement."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._part = settings.collector
        self._producer: KafkaProducer | None = None
        self._connected = False
        self._starter: asyncio.Task[None] | None = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.in_flight = 0
        self.last_start_error = ""

    def _error(self, err: KafkaError) -> None:
        # librdkafka's own reports (poll thread): kept for /readyz's answer.
        self.last_start_error = err.str()
        if err.fatal() and self._loop is not None:
            # The idempotent producer can no longer guarantee order or no duplicates: a
            # fresh one takes over (requests in between get 503).
            self._loop.call_soon_threadsafe(self._replace)

    async def start(self) -> None:
        """Begin connecting; return at once."""
        self._loop = asyncio.get_running_loop()
        self._open()

    def _open(self) -> None:
        self._connected = False
        self._stopping = threading.Event()
        self._producer = KafkaProducer({**producer_config(self._settings),
                                        "error_cb": self._error, "logger": log})
        self._poller = threading.Thread(target=self._poll, args=(self._producer,
                                        self._stopping), name="collector-kafka-poll",
                                        daemon=True)
        self._poller.start()
        self._starter = asyncio.create_task(self._keep_starting())

    def _replace(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
        # The old poll thread ends within POLL_SECONDS and still reports what it delivers.
        self._stopping.set()
        self._open()

    @staticmethod
    def _poll(producer: KafkaProducer, stopping: threading.Event) -> None:
        while not stopping.is_set():
            producer.poll(POLL_SECONDS)

    async def _keep_starting(self) -> None:
        # Until a broker answered once, requests get 503 at once rather than waiting out
        # the produce timeout in librdkafka's queue.
        delay = 0.2
        while not self._connected:
            if await self.ready():
                self._connected = True
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    @property
    def started(self) -> bool:
        return self._connected

    async def stop(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
        self._stopping.set()
        if self._poller is not None:
            await asyncio.to_thread(self._poller.join)
        if self._producer is not None:
            # What was acknowledged to no one may still be delivered; bounded by the timeout.
            await asyncio.to_thread(self._producer.flush, self._part.produce_timeout_seconds)

    async def produce(self, records: Sequence[Record]) -> float:
        """Send ``records`` and wait until the broker acknowledged each; return the seconds
        that took. BrokerUnavailable when Kafka is not there or too slow, CollectorOverloaded
        when too much already waits."""
        producer = self._producer
        if producer is None or not self._connected:
            raise BrokerUnavailable(f"Kafka is not connected yet ({self.last_start_error})")
        count = len(records)
        if self.in_flight + count > self._part.max_in_flight_events:
            raise CollectorOverloaded(
                f"{self.in_flight} events already wait for Kafka "
                f"(limit {self._part.max_in_flight_events})"
            )
        delivery = _Delivery(asyncio.get_running_loop(), count)
        self.in_flight += count
        started = time.perf_counter()
        try:
            by_topic: dict[str, list[dict[str, Any]]] = {}
            for r in records:
                messages = by_topic.get(r.topic)
                if messages is None:
                    messages = by_topic[r.topic] = []
                messages.append({"key": r.key, "value": r.value})
            try:
                for topic, messages in by_topic.items():
                    # One call per topic, not per event: librdkafka takes its queue's lock
                    # once, which under a loaded CPU was a fifth of the request's time.
                    # The partitioner still runs per message (same partitions as produce).
                    queued = producer.produce_batch(topic, messages, on_delivery=delivery.report)
                    if queued < len(messages):
                        raise _refused(messages)
            except BufferError:
                raise CollectorOverloaded("the producer's queue is full") from None
            except KafkaException as exc:
                raise BrokerUnavailable(f"Kafka refused the batch: {exc}") from exc
            try:
                async with asyncio.timeout(self._part.produce_timeout_seconds):
                    error = await delivery.future
            except TimeoutError:
                raise BrokerUnavailable(
                    f"Kafka did not acknowledge within {self._part.produce_timeout_seconds:g} s"
                ) from None
            if error is not None:
                raise BrokerUnavailable(f"Kafka refused the batch: {error.str()}")
        finally:
            self.in_flight -= count
        return time.perf_counter() - started

    async def ready(self, timeout: float = 2.0) -> bool:
        """True when a broker answers a metadata request now."""
        producer = self._producer
        if producer is None:
            return False
        try:
            # A fresh metadata round trip, not the cached view: readiness is "now".
            metadata = await asyncio.to_thread(producer.list_topics, timeout=timeout)
        except KafkaException as exc:
            self.last_start_error = str(exc)
            return False
        return bool(metadata.brokers)
