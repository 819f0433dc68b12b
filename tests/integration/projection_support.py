"""Helpers for the projection integration tests: private databases, appending histories,
and reading a projection's physical table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.contracts import Envelope
from learnstream.db import connect
from learnstream.log import Checkpoint, read_batch
from learnstream.settings import Settings
from projections.fold import FoldProjection
from projections.projection import Projection, Store
from testing.databases import scratch_database


@contextmanager
def private_database(stack_settings: Settings, template: str) -> Iterator[Settings]:
    """A fresh database at migration head (for tests that need several per test)."""
    with scratch_database(stack_settings, template=template, prefix="ls_ptest") as settings:
        yield settings


def append(settings: Settings, events: Sequence[Envelope], chunk: int = 50) -> None:
    """Append ``events`` in arrival order, ``chunk`` per transaction (duplicates dropped)."""
    with connect(settings) as conn:
        for start in range(0, len(events), chunk):
            batch = [
                (e, SourceOffset("test", 0, start + i))
                for i, e in enumerate(events[start : start + chunk])
            ]
            append_batch(conn, batch)


def scratch_store(projection: Projection, tag: str) -> Store:
    return Store("projection_store", {t.name: f"{t.name}__{tag}" for t in projection.tables})


def table_rows(
    conn: psycopg.Connection[Any], projection: Projection, store: Store
) -> list[tuple[Any, ...]]:
    """Every row (all columns, internal state included) in key order."""
    order: Sequence[str]
    if isinstance(projection, FoldProjection):
        order = projection.key_columns()
    else:
        order = projection.tables[0].public_columns[:1]
    query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(
        store.table(projection.tables[0].name),
        sql.SQL(", ").join(sql.Identifier(c) for c in order),
    )
    return conn.execute(query).fetchall()


def apply_incrementally(
    conn: psycopg.Connection[Any],
    projection: Projection,
    store: Store,
    after: Checkpoint,
    batch_sizes: Sequence[int],
) -> Checkpoint:
    """Apply everything readable after ``after`` with the incremental path, cycling through
    ``batch_sizes``; one transaction per batch, as the runner does."""
    i = 0
    while True:
        size = batch_sizes[i % len(batch_sizes)]
        i += 1
        with conn.transaction():
            batch = read_batch(conn, after, projection.families, projection.event_types, size)
            projection.apply_batch(conn, batch.events, store)
        if batch.rows_read == 0:
            return after
        after = batch.end


def wait_readable(settings: Settings, timeout: float = 180.0) -> None:
    """Wait until every log row is below the cluster's xmin (readable by the gap rule).

    xids are cluster-wide: a transaction of another test or process, started before our
    appends committed, keeps our rows unreadable until it ends (latency, never loss)."""
    import time

    deadline = time.monotonic() + timeout
    with connect(settings, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM (SELECT tx_id FROM log.behavioral_events UNION ALL"
                " SELECT tx_id FROM log.like_events UNION ALL"
                " SELECT tx_id FROM log.activity_events UNION ALL"
                " SELECT tx_id FROM log.learning_events UNION ALL"
                " SELECT tx_id FROM log.catalog_events) u"
                " WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())"
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("log rows stayed unreadable (a long transaction is open)")
            time.sleep(0.05)
