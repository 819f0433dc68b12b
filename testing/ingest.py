"""Helpers for tests and benchmarks that drive ingest end to end (real Kafka + PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import orjson
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient

from ingest.backoff import Backoff
from ingest.consumer import IngestConsumer
from ingest.runner import run_ingest
from ingest.summary import IngestSummary
from ingest.topics import ensure_topics, topic_names
from learnstream.contracts import Topic
from learnstream.db import connect
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def ingest_until_idle(
    settings: Settings, idle_s: float = 1.5, backoff: Backoff | None = None
) -> IngestSummary:
    """Run the consumer in this process until everything produced so far is committed."""
    ensure_topics(settings)
    consumer = IngestConsumer(settings, backoff=backoff)
    return anyio.run(lambda: run_ingest(settings, until_idle=idle_s, consumer=consumer))


def ingest_env(settings: Settings) -> dict[str, str]:
    """The environment a ``learnstream ingest`` subprocess needs to use ``settings``."""
    env = dict(os.environ)
    env.update(
        LEARNSTREAM_DATABASE_URL=settings.resolved_database_url,
        LEARNSTREAM_KAFKA_BOOTSTRAP=settings.resolved_kafka_bootstrap,
        LEARNSTREAM_TOPIC_NAMESPACE=settings.topic_namespace,
        LEARNSTREAM_INGEST__CONSUMER_GROUP=settings.ingest.consumer_group,
        LEARNSTREAM_INGEST__BATCH_MAX_RECORDS=str(settings.ingest.batch_max_records),
        LEARNSTREAM_INGEST__RETRY_MAX_SECONDS=str(settings.ingest.retry_max_seconds),
        LEARNSTREAM_CONNECT_TIMEOUT_SECONDS=str(settings.connect_timeout_seconds),
        LEARNSTREAM_INGEST__STARTUP_TIMEOUT_SECONDS=str(settings.ingest.startup_timeout_seconds),
        LEARNSTREAM_INGEST__WRITE_METHOD=settings.ingest.write_method,
        LEARNSTREAM_INGEST__BATCH_TIMEOUT_MS=str(settings.ingest.batch_timeout_ms),
        LEARNSTREAM_INGEST__STATIC_MEMBERSHIP=str(settings.ingest.static_membership).lower(),
        LEARNSTREAM_INGEST__INSTANCE_ID=settings.ingest.instance_id,
        LEARNSTREAM_INGEST__SESSION_TIMEOUT_MS=str(settings.ingest.session_timeout_ms),
        LEARNSTREAM_INGEST__WORKERS=str(settings.ingest.workers),
        LEARNSTREAM_INGEST__PIPELINE_CHUNK_RECORDS=str(settings.ingest.pipeline_chunk_records),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    return env


def start_ingest_process(settings: Settings, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """``learnstream ingest ARGS`` as a child process with ``settings``' environment."""
    command = [sys.executable, "-c", "from app.cli import main; main()", "ingest", *args]
    return subprocess.Popen(command, env=ingest_env(settings), cwd=REPO_ROOT, **popen)


def log_rows(settings: Settings, topic: Topic, columns: str = "*") -> list[dict[str, Any]]:
    """Rows of ``topic``'s log table in (tx_id, position) order, as dicts.

    ``columns`` is ``"*"`` or a comma-separated list of column names.
    """
    from psycopg import sql
    from psycopg.rows import dict_row

    selected = (
        sql.SQL("*")
        if columns == "*"
        else sql.SQL(", ").join(sql.Identifier(c.strip()) for c in columns.split(","))
    )
    query = sql.SQL("SELECT {} FROM {} ORDER BY tx_id, position").format(
        selected, sql.Identifier("log", LOG_TABLES[topic])
    )
    with connect(settings) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)
        return list(cur.fetchall())


def logged_event_ids(settings: Settings) -> list[str]:
    """Every event_id in the five log tables (with repeats, if there were any)."""
    ids: list[str] = []
    for topic in LOG_TABLES:
        ids.extend(str(row["event_id"]) for row in log_rows(settings, topic, "event_id"))
    return ids


def dead_letter_rows(settings: Settings) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with connect(settings) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM log.dead_letters ORDER BY id")
        return list(cur.fetchall())


def dead_letter_topic_messages(settings: Settings, timeout_ms: int = 3000) -> list[dict[str, Any]]:
    """Every message on the (namespaced) dead-letter topic, decoded from JSON."""
    consumer = KafkaConsumer(
        settings.topic(Topic.DEAD_LETTER),
        bootstrap_servers=settings.resolved_kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=timeout_ms,
    )
    try:
        return [orjson.loads(record.value) for record in consumer]
    finally:
        consumer.close()


def drop_topics(settings: Settings) -> None:
    """Delete the event topics of ``settings``' namespace (a benchmark's own, when done)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.resolved_kafka_bootstrap)
    try:
        admin.delete_topics(topic_names(settings))
    finally:
        admin.close()
