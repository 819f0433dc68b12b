"""Liveness of the two things every service depends on (used by compose health checks)."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from learnstream.db import connect
from learnstream.errors import BrokerUnavailable
from learnstream.settings import Settings


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
