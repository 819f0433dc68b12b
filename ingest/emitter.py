"""The producer side: turns typed events into Kafka messages.

Delivery guarantees come from the producer configuration, set once here:

- ``acks="all"``: a send counts only when every in-sync replica has the record.
- ``enable_idempotence=True`` (kafka-python 3.x supports it): the broker de-duplicates
  producer retries by (producer id, sequence), so a retried batch is not written twice.
  Clients that resend on their own still produce duplicates; those are removed downstream
  by the ``event_id`` unique key of the log.
- ``linger_ms``/``batch_size``: a few milliseconds of lingering fills larger batches, which
  is what throughput on a small machine depends on.

The message key is ``event.partition_key`` (learner, else session), so one learner's events
stay in one partition and keep their order.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from learnstream.contracts import Envelope, encode_event
from learnstream.errors import BrokerUnavailable
from learnstream.settings import Settings

#: Producer configuration that defines the delivery guarantees (see the module docstring).
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 256 * 1024,
    "max_request_size": 4 * 1024 * 1024,
    "max_in_flight_requests_per_connection": 5,
}


class Emitter:
    """Sends events to their topics. Use as a context manager, or call :meth:`close`."""

    def __init__(self, settings: Settings, **producer_overrides: Any) -> None:
        self._settings = settings
        config = {**PRODUCER_DEFAULTS, **producer_overrides}
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=settings.resolved_kafka_bootstrap, **config
            )
        except KafkaError as exc:
            raise BrokerUnavailable(f"cannot create producer: {exc}") from exc

    def send(self, event: Envelope) -> None:
        """Validate ``event`` again and queue it on its topic (asynchronous; see :meth:`flush`).

        Re-validation catches models built with ``model_construct`` or mutated copies, so an
        invalid event fails here, at its source, rather than in the dead-letter table.
        """
        type(event).model_validate(event.model_dump())
        self._producer.send(
            self._settings.topic(event.topic),
            value=encode_event(event),
            key=event.partition_key.encode(),
        )

    def send_raw(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        """Queue arbitrary bytes on the physical ``topic`` (hostile-input tests, replays)."""
        self._producer.send(topic, value=value, key=key)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every queued message is acknowledged (or ``timeout`` seconds pass)."""
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            raise BrokerUnavailable(f"flush failed: {exc}") from exc

    def close(self, timeout: float | None = None) -> None:
        """Flush and release the connection."""
        self._producer.close(timeout=timeout)

    def __enter__(self) -> Emitter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def produce(settings: Settings, events: Iterable[Envelope]) -> int:
    """Send ``events`` to their topics (created if missing), in order, and wait for every
    acknowledgement; return how many were sent."""
    from ingest.topics import ensure_topics

    ensure_topics(settings)
    sent = 0
    with Emitter(settings) as emitter:
        for event in events:
            emitter.send(event)
            sent += 1
        emitter.flush()
    return sent
