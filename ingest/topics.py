"""Creates the Kafka topics ingest reads and writes, idempotently."""

from __future__ import annotations

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from learnstream.contracts import EVENT_TOPICS, Topic
from learnstream.errors import BrokerUnavailable
from learnstream.settings import Settings


def topic_names(settings: Settings) -> list[str]:
    """Physical names of the five event topics and the dead-letter topic."""
    return [settings.topic(topic) for topic in (*EVENT_TOPICS, Topic.DEAD_LETTER)]


def ensure_topics(settings: Settings, partitions: int = 3) -> list[str]:
    """Create any missing topic (existing ones are left as they are); return the new names."""
    try:
        timeout_ms = settings.connect_timeout_seconds * 1000
        admin = KafkaAdminClient(
            bootstrap_servers=settings.resolved_kafka_bootstrap,
            # Unreachable brokers: fail after the connect timeout, not kafka-python's 30 s.
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=max(timeout_ms, 10_000),
        )
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot reach Kafka admin: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        if not missing:
            return []
        # replication_factor 1: the local stack has one broker; production overrides this
        # with its own provisioning, so ingest never creates topics it finds.
        request = {
            name: {"num_partitions": partitions, "replication_factor": 1} for name in missing
        }
        response = admin.create_topics(request, raise_errors=False)
        for result in response["topics"]:
            error = for_code(result["error_code"])
            # Another process may create the same topic between list and create: fine.
            if result["error_code"] != 0 and error is not TopicAlreadyExistsError:
                raise BrokerUnavailable(f"cannot create topic {result['name']}: {error.__name__}")
        admin.wait_for_topics(missing)
        return missing
    except KafkaError as exc:
        raise BrokerUnavailable(f"topic setup failed: {exc}") from exc
    finally:
        admin.close()
