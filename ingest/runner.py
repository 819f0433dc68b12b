"""Runs the ingest consumer until SIGTERM/SIGINT, a fatal error, or (optionally) idleness."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import anyio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ingest.consumer import GRACEFUL_TIMEOUT_S, IngestConsumer, group_instance_id
from ingest.summary import IngestSummary
from learnstream.errors import BrokerUnavailable
from learnstream.settings import Settings

log = logging.getLogger("learnstream.ingest")

#: How often the idle watcher looks at the clock and the committed offsets.
IDLE_POLL_S = 0.5


async def run_ingest(
    settings: Settings,
    *,
    until_idle: float | None = None,
    consumer: IngestConsumer | None = None,
    stop: anyio.Event | None = None,
) -> IngestSummary:
    """Consume until stopped; return what was done.

    With ``until_idle``, stop once no message arrived for that many seconds AND the group's
    committed offset equals the end offset on every partition of the five topics (so a
    slow start or a rebalance after a crash is never mistaken for "nothing left").
    SIGTERM/SIGINT (or ``stop``) finish the batch in flight, commit it and return.
    Raises :class:`ingest.errors.ConsumerFailed` after a fatal handler error.
    """
    consumer = consumer or IngestConsumer(settings)
    stop = stop or anyio.Event()
    _install_signal_handlers(stop)
    log.info("ingest connecting", extra={
        "bootstrap": settings.resolved_kafka_bootstrap,
        "group_instance_id": group_instance_id(settings)})
    try:
        await consumer.broker.start()
    except KafkaError as exc:  # the broker went away between the topic check and now
        consumer.close()
        raise BrokerUnavailable(
            f"Kafka at {settings.resolved_kafka_bootstrap}: {exc!r}") from exc
    log.info("ingest started", extra={"group": settings.ingest.consumer_group,
                                       "topics": [s.topic_names for s in _subscribers(consumer)]})
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_stop_on_failure, consumer, stop)
            if until_idle is not None:
                tasks.start_soon(_stop_when_idle, consumer, until_idle, stop)
            await stop.wait()
            tasks.cancel_scope.cancel()
    finally:
        # broker.stop() waits up to GRACEFUL_TIMEOUT_S for the batch in flight; if that
        # batch is stuck retrying an outage, the timer makes its retries give up so the
        # process can exit (the batch stays uncommitted and is redelivered later).
        timer = threading.Timer(GRACEFUL_TIMEOUT_S, consumer.abandon.set)
        timer.daemon = True
        timer.start()
        try:
            await consumer.broker.stop()
        finally:
            timer.cancel()
            consumer.close()
    consumer.raise_if_failed()
    log.info("ingest stopped", extra={"inserted": consumer.summary.inserted,
                                      "duplicates": consumer.summary.duplicates,
                                      "suppressed": consumer.summary.suppressed,
                                      "dead_lettered": consumer.summary.dead_lettered})
    return consumer.summary


def _install_signal_handlers(stop: anyio.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # signals can only be handled in the main thread (tests run elsewhere)
    import asyncio

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _stop_on_failure(consumer: IngestConsumer, stop: anyio.Event) -> None:
    await consumer.failed.wait()
    stop.set()


async def _stop_when_idle(consumer: IngestConsumer, idle_s: float, stop: anyio.Event) -> None:
    while True:
        await anyio.sleep(IDLE_POLL_S)
        quiet_for = time.monotonic() - consumer.summary.last_message_at
        if quiet_for >= idle_s and await _caught_up(consumer):
            log.info("idle: every partition committed to its end", extra={"quiet_s": quiet_for})
            stop.set()
            return


def _subscribers(consumer: IngestConsumer) -> list[Any]:
    return list(consumer.broker.subscribers)


async def _caught_up(consumer: IngestConsumer) -> bool:
    """True when the group's committed offset is the end offset on every partition."""
    for subscriber in _subscribers(consumer):
        kafka: AIOKafkaConsumer | None = subscriber.consumer
        if kafka is None:
            return False
        for topic in subscriber.topic_names:
            partitions = kafka.partitions_for_topic(topic)
            if not partitions:
                return False
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            ends = await kafka.end_offsets(tps)
            for tp in tps:
                committed = await kafka.committed(tp)
                if (committed or 0) < ends[tp]:
                    return False
    return True
