"""The collector's Kafka producer: every accepted event is acknowledged by the broker
before the HTTP answer says so.

aiokafka, not ingest's kafka-python ``Emitter``: the collector is an asyncio server and must
await acknowledgements without a thread per request. The delivery guarantees are the
emitter's (``acks`` and ``enable_idempotence`` are read from ``PRODUCER_DEFAULTS``), the
key is the kernel's rule (``Envelope.partition_key``).

Memory is bounded by counting the events that wait for an acknowledgement across all
requests; a request that would pass ``max_in_flight_events`` is refused (503) before any of
its events is queued. aiokafka's own request timeout is the produce timeout, so what a timed
out request left in the producer's buffer expires with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from collector.errors import CollectorOverloaded
from ingest.emitter import PRODUCER_DEFAULTS
from learnstream.errors import BrokerUnavailable
from learnstream.settings import Settings


@dataclass(frozen=True, slots=True)
class Record:
    """One message to produce: physical topic, key, value."""

    topic: str
    key: bytes
    value: bytes


class Producer:
    """Starts in the background (the collector serves 503 until Kafka answers), produces
    batches and waits for every acknowledgement."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._part = settings.collector
        self._producer: AIOKafkaProducer | None = None
        self._starter: asyncio.Task[None] | None = None
        self.in_flight = 0
        self.last_start_error = ""

    def _new(self) -> AIOKafkaProducer:
        timeout_ms = int(self._part.produce_timeout_seconds * 1000)
        return AIOKafkaProducer(
            bootstrap_servers=self._settings.resolved_kafka_bootstrap,
            acks=PRODUCER_DEFAULTS["acks"],
            enable_idempotence=PRODUCER_DEFAULTS["enable_idempotence"],
            linger_ms=self._part.linger_ms,
            max_batch_size=256 * 1024,
            request_timeout_ms=timeout_ms,
            client_id="learnstream-collector",
        )

    async def start(self) -> None:
        """Begin connecting; return at once."""
        self._starter = asyncio.create_task(self._keep_starting())

    async def _keep_starting(self) -> None:
        delay = 0.2
        while self._producer is None:
            producer = self._new()
            try:
                await producer.start()
            except (KafkaError, OSError) as exc:
                self.last_start_error = str(exc) or type(exc).__name__
                await producer.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self._producer = producer

    @property
    def started(self) -> bool:
        return self._producer is not None

    async def stop(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
        if self._producer is not None:
            await self._producer.stop()

    async def produce(self, records: Sequence[Record]) -> float:
        """Send ``records`` and wait until the broker acknowledged each; return the seconds
        that took. BrokerUnavailable when Kafka is not there or too slow, CollectorOverloaded
        when too much already waits."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable(f"Kafka is not connected yet ({self.last_start_error})")
        if self.in_flight + len(records) > self._part.max_in_flight_events:
            raise CollectorOverloaded(
                f"{self.in_flight} events already wait for Kafka "
                f"(limit {self._part.max_in_flight_events})"
            )
        self.in_flight += len(records)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._part.produce_timeout_seconds):
                futures = [await producer.send(r.topic, r.value, key=r.key) for r in records]
                await asyncio.gather(*futures)
        except TimeoutError:
            raise BrokerUnavailable(
                f"Kafka did not acknowledge within {self._part.produce_timeout_seconds:g} s"
            ) from None
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka refused the batch: {exc}") from exc
        finally:
            self.in_flight -= len(records)
        return time.perf_counter() - started

    async def ready(self, timeout: float = 2.0) -> bool:
        """True when a broker answers a metadata request now."""
        producer = self._producer
        if producer is None:
            return False
        client: Any = producer.client
        try:
            async with asyncio.timeout(timeout):
                # A fresh metadata round trip, not the cached view: readiness is "now".
                return bool(await client.fetch_all_metadata() and client.cluster.brokers())
        except (TimeoutError, KafkaError, OSError):
            return False
