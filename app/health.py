"""Health checks for compose: the two servers every service depends on answer, and each
service makes progress (ingest appends while messages wait; projections keep up)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from ingest.consumer import consumer_group_for
from learnstream.contracts import EVENT_TOPICS
from learnstream.db import connect
from learnstream.errors import BrokerUnavailable, Unhealthy
from learnstream.settings import Settings
from projections import Projection
from projections.status import projection_status

#: When the log's newest row was received (``learnstream.log.newest_append_sql``, wrapped in a
#: function the ingest role may execute).
NEWEST_APPEND = "SELECT log.newest_append_at()"


def check_database(settings: Settings) -> str:
    """The server version, or :class:`DatabaseUnavailable`."""
    with connect(settings) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def check_kafka(settings: Settings, timeout_s: float = 5.0) -> int:
    """How many topics the broker reports, or :class:`BrokerUnavailable`."""
    timeout_ms = int(timeout_s * 1000)
    # kafka-python 3 waits bootstrap_timeout_ms (30 s by default) for the first connection,
    # apart from request_timeout_ms; a health check must give up within its own timeout.
    bootstrap = ({"bootstrap_timeout_ms": timeout_ms}
                 if "bootstrap_timeout_ms" in KafkaAdminClient.DEFAULT_CONFIG else {})
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.resolved_kafka_bootstrap,
            request_timeout_ms=timeout_ms,
            client_id="learnstream-health",
            **bootstrap,
        )
    except KafkaError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    try:
        return len(admin.list_topics())
    except KafkaError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    finally:
        admin.close()


def ingest_backlog(settings: Settings, timeout_s: float = 5.0) -> int:
    """Messages on the event topics that ingest's consumer groups have not committed."""
    servers = settings.resolved_kafka_bootstrap
    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=servers, request_timeout_ms=timeout_ms,
            client_id="learnstream-health",
        )
        probe = KafkaConsumer(
            bootstrap_servers=servers, request_timeout_ms=timeout_ms + 1000,
            client_id="learnstream-health", enable_auto_commit=False,
        )
    except KafkaError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    try:
        backlog = 0
        for topic in EVENT_TOPICS:
            name = settings.topic(topic.value)
            partitions = probe.partitions_for_topic(name) or set()
            tps = [TopicPartition(name, p) for p in sorted(partitions)]
            if not tps:
                continue
            ends = probe.end_offsets(tps)
            group = consumer_group_for(settings, topic)
            committed = admin.list_group_offsets({group: tps}).get(group, {})
            for tp in tps:
                done = committed.get(tp)
                # No commit yet: the group starts at the earliest offset (auto_offset_reset).
                start = done.offset if done is not None and done.offset >= 0 else (
                    probe.beginning_offsets([tp])[tp]
                )
                backlog += max(ends[tp] - start, 0)
        return backlog
    except KafkaError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    finally:
        probe.close()
        admin.close()


def check_ingest(settings: Settings, max_stall_s: float) -> str:
    """Healthy when nothing waits, or the log grew within ``max_stall_s`` (a batch was
    committed: events or dead letters). Raises :class:`Unhealthy` when messages wait and
    nothing has been appended for longer: ingest is hung or failing every batch."""
    backlog = ingest_backlog(settings)
    if backlog == 0:
        return "caught up"
    with connect(settings) as conn:
        # Through the SECURITY DEFINER function of migration 0012: the ingest service's login
        # user may INSERT into the log but not SELECT it.
        row = conn.execute(NEWEST_APPEND).fetchone()
    newest = row[0] if row else None
    age = None if newest is None else (datetime.now(UTC) - newest).total_seconds()
    if age is not None and age <= max_stall_s:
        return f"{backlog} messages waiting, last append {age:.0f}s ago"
    since = "never" if age is None else f"{age:.0f}s ago"
    raise Unhealthy(
        f"ingest is stalled: {backlog} messages wait and the log's last append was {since} "
        f"(limit {max_stall_s:.0f}s); check the ingest logs and restart it"
    )


def check_projections(
    settings: Settings, projections: Sequence[Projection], max_lag_s: float
) -> str:
    """Healthy when no projection failed and none has an unapplied row older than
    ``max_lag_s`` (an idle projector with nothing to do is healthy; a hung one is not)."""
    with connect(settings) as conn:
        statuses = projection_status(conn, projections)
    for status in statuses:
        if status.last_error:
            raise Unhealthy(f"projection {status.name} failed: {status.last_error}")
        if status.lag_seconds is not None and status.lag_seconds > max_lag_s:
            raise Unhealthy(
                f"projection {status.name} is {status.lag_events} rows and "
                f"{status.lag_seconds:.0f}s behind (limit {max_lag_s:.0f}s); check the "
                "projector's logs and restart it"
            )
    worst = max((s.lag_seconds or 0.0 for s in statuses), default=0.0)
    return f"{len(statuses)} projections, oldest unapplied row {worst:.0f}s"
