"""The real local stack: `up` twice, then both servers answer. It is left running."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from kafka import KafkaAdminClient, KafkaProducer

from devstack import ComponentState, ensure_stack, stack_status
from devstack import kafka as kafka_component
from learnstream.settings import Settings, load_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings()


def test_up_is_idempotent(settings: Settings) -> None:
    first = ensure_stack(settings)
    second = ensure_stack(settings)

    assert first.available
    assert second == first  # same processes: nothing was started twice
    assert stack_status(settings) == second
    for component in second.components:
        if component.state is ComponentState.RUNNING:
            assert component.pid is not None
            assert component.log_file is not None and component.log_file.exists()


def test_kafka_answers(settings: Settings) -> None:
    ensure_stack(settings)
    bootstrap = settings.resolved_kafka_bootstrap

    assert kafka_component.answers(bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        assert admin.describe_cluster()["brokers"]
    finally:
        admin.close()


@pytest.mark.skipif(
    load_settings().kafka_bootstrap is not None, reason="checks the local broker's configuration"
)
def test_local_broker_auto_creates_topics_with_three_partitions(settings: Settings) -> None:
    ensure_stack(settings)
    topic = settings.topic(f"stack-selftest.{uuid.uuid4().hex[:8]}")
    producer = KafkaProducer(bootstrap_servers=settings.resolved_kafka_bootstrap)
    try:
        producer.send(topic, b"ping").get(timeout=30)
        assert producer.partitions_for(topic) == {0, 1, 2}
    finally:
        producer.close()


def test_postgres_answers(settings: Settings) -> None:
    ensure_stack(settings)

    with psycopg.connect(settings.resolved_database_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        if settings.database_url is None:
            row = conn.execute(
                "select current_user, rolsuper, pg_catalog.pg_get_userbyid(datdba) "
                "from pg_roles, pg_database "
                "where rolname = current_user and datname = current_database()"
            ).fetchone()
            assert row == ("learnstream", True, "learnstream")
