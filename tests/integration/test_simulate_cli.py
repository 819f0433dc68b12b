"""`learnstream simulate --kafka` produces every simulated event (duplicates included) to
the event topics of the configured namespace."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from psycopg import sql
from typer.testing import CliRunner

from app.cli import app
from learnstream.contracts import EVENT_TOPICS, decode_event
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings


def _consume_all(settings: Settings) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=settings.resolved_kafka_bootstrap,
                             enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(settings.topic(topic), p)
            for topic in EVENT_TOPICS
            for p in consumer.partitions_for_topic(settings.topic(topic)) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        values: list[bytes] = []
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                values.extend(record.value for record in records)
        return values
    finally:
        consumer.close()


def test_simulate_produces_every_event_to_kafka(kafka_settings: Settings, tmp_path: Path) -> None:
    env = {
        "LEARNSTREAM_KAFKA_BOOTSTRAP": kafka_settings.resolved_kafka_bootstrap,
        "LEARNSTREAM_TOPIC_NAMESPACE": kafka_settings.topic_namespace,
    }
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        app,
        ["simulate", "--learners", "10", "--days", "3", "--seed", "5", "--start", "2025-03-03",
         "--kafka", "--out", str(out)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    emitted = re.search(r"events emitted\D+([\d,]+)", result.output)
    assert emitted is not None

    messages = _consume_all(kafka_settings)

    assert len(messages) == int(emitted.group(1).replace(",", ""))
    # Kafka holds exactly what the JSONL copy holds, duplicates included.
    assert Counter(messages) == Counter(out.read_bytes().splitlines())
    assert {decode_event(m).topic for m in messages} == set(EVENT_TOPICS)


def test_a_simulated_run_is_storable_in_the_log(db_settings: Settings) -> None:
    """Every simulated event fits the log's columns; duplicates land once."""
    from ingest.appender import append_batch
    from ingest.rows import SourceOffset
    from learnstream.db import connect
    from simulator import Simulation, SimulationConfig

    start = datetime(2025, 3, 3, tzinfo=UTC)
    simulation = Simulation(SimulationConfig(learners=15, days=3, seed=9, start=start))
    events = list(simulation.events())
    batch = [
        (event, SourceOffset(db_settings.topic(event.topic), 0, offset))
        for offset, event in enumerate(events)
    ]
    with connect(db_settings) as conn:
        result = append_batch(conn, batch)
        stored = sum(
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("log", table))
            ).fetchone()[0]  # type: ignore[index]
            for table in LOG_TABLES.values()
        )
    distinct = len({event.event_id for event in events})
    assert result.inserted == distinct == stored
    assert result.duplicates == len(events) - distinct > 0
