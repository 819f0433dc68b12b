"""Rebuild without downtime: fill a new generation next to the live one, catch up, swap.

1. Create the next generation's empty tables.
2. Bulk-fill them set-based from every log row at or below the current frontier (one
   transaction), then add the secondary indexes.
3. Catch up with the incremental path, batch by batch, while the live generation keeps
   serving (and the runner keeps updating it).
4. Swap, in one transaction: lock the projection's checkpoint row (the runner skips a locked
   projection), apply the last rows, point ``read.<table>`` at the new tables, move the
   checkpoint and drop the old generation. Readers see the old table until that commit and
   the complete new one after it, never an empty or half-built one.

Why the swap is exact: the new generation has read every row readable at swap time; the live
checkpoint only ever covered rows that were readable earlier, so the new checkpoint is at or
past it and nothing the live generation had is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from learnstream.log import Checkpoint, Connection, count_through, frontier, read_batch
from projections.projection import Projection
from projections.queries import (
    GET_CHECKPOINT,
    LOCK_CHECKPOINT_WAIT,
    REBUILD_LOCK,
    REBUILD_UNLOCK,
    SWAP_CHECKPOINT,
    derived_view_sql,
    drop_tables,
    drop_view_sql,
    store_for,
    view_sql,
)

#: Stop catching up outside the lock once a batch returns fewer rows than this.
_CATCH_UP_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class RebuildResult:
    name: str
    generation: int
    bulk_upto: Checkpoint
    checkpoint: Checkpoint
    bulk_events: int
    caught_up_events: int
    bulk_seconds: float
    total_seconds: float


def rebuild(
    conn: Connection,
    projection: Projection,
    on_progress: Callable[[str], None] | None = None,
    work_mem: str = "256MB",
) -> RebuildResult:
    """Build a fresh generation of ``projection`` from the log and swap it in atomically.
    ``conn`` must not be inside a transaction."""
    # One rebuild per projection at a time (two projectors starting after a version bump
    # would otherwise build the same generation's tables): a session-level advisory lock.
    conn.execute(REBUILD_LOCK, (projection.name,))
    conn.commit()
    try:
        return _rebuild(conn, projection, on_progress, work_mem)
    finally:
        conn.rollback()
        conn.execute(REBUILD_UNLOCK, (projection.name,))
        conn.commit()


def _rebuild(
    conn: Connection,
    projection: Projection,
    on_progress: Callable[[str], None] | None,
    work_mem: str,
) -> RebuildResult:
    say = on_progress or (lambda _msg: None)
    started = time.perf_counter()
    row = conn.execute(GET_CHECKPOINT, (projection.name,)).fetchone()
    conn.commit()
    old_generation = int(row[1]) if row else 0
    generation = old_generation + 1
    store = store_for(projection, generation)
    with conn.transaction():
        for statement in drop_tables(store):
            conn.execute(statement)
        projection.create_tables(conn, store)

    say(f"{projection.name}: bulk fill of generation {generation}")
    with conn.transaction():
        # The bulk fill sorts and aggregates whole log tables: give it memory so the sorts
        # stay off disk (this transaction only).
        conn.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(work_mem)))
        upto = frontier(conn, projection.families) or Checkpoint.START
        bulk_events = 0
        if upto > Checkpoint.START:
            projection.rebuild(conn, store, upto)
            # The checkpoint's events_applied counts what the read model holds, the bulk
            # fill's events included (`learnstream status` showed 0 after a rebuild).
            bulk_events = count_through(
                conn, projection.families, projection.event_types, upto
            )
        projection.create_indexes(conn, store)
    bulk_seconds = time.perf_counter() - started

    done, applied = upto, bulk_events
    while True:  # catch up without blocking the live projector
        with conn.transaction():
            batch = read_batch(
                conn, done, projection.families, projection.event_types, _CATCH_UP_BATCH
            )
            projection.apply_batch(conn, batch.events, store)
        done, applied = batch.end, applied + len(batch.events)
        if batch.rows_read < _CATCH_UP_BATCH:
            break

    say(f"{projection.name}: swapping in generation {generation}")
    with conn.transaction():
        conn.execute(LOCK_CHECKPOINT_WAIT, (projection.name,)).fetchone()
        while True:
            batch = read_batch(
                conn, done, projection.families, projection.event_types, _CATCH_UP_BATCH
            )
            if batch.rows_read == 0:
                break
            projection.apply_batch(conn, batch.events, store)
            done, applied = batch.end, applied + len(batch.events)
        conn.execute(
            SWAP_CHECKPOINT,
            {
                "name": projection.name,
                "version": projection.version,
                "generation": generation,
                "tx": str(done.tx_id),
                "pos": done.position,
                "applied": applied,
            },
        )
        _point_views(conn, projection, generation)
        if old_generation:
            for statement in drop_tables(store_for(projection, old_generation)):
                conn.execute(statement)
    return RebuildResult(
        projection.name,
        generation,
        upto,
        done,
        bulk_events,
        applied - bulk_events,
        bulk_seconds,
        time.perf_counter() - started,
    )


def _point_views(conn: Connection, projection: Projection, generation: int) -> None:
    store = store_for(projection, generation)
    try:
        with conn.transaction():  # savepoint: same columns -> replace in place
            for statement in view_sql(projection, store, replace=True):
                conn.execute(statement)
    except psycopg.errors.DatabaseError:
        # The columns changed (new version): drop and recreate, dependents included.
        for statement in drop_view_sql(projection):
            conn.execute(statement)
        for statement in view_sql(projection, store, replace=False):
            conn.execute(statement)
    for statement in derived_view_sql(projection, store):
        conn.execute(statement)


def refresh_derived_views(conn: Connection, projection: Projection) -> None:
    """Recreate ``projection``'s derived views over its live generation. A derived view may
    depend on a setting (the session gap), so each projector start writes it anew: a changed
    setting takes effect without a rebuild. One transaction: readers see the old view or the
    new one."""
    if not projection.derived_views:
        return
    with conn.transaction():
        row = conn.execute(GET_CHECKPOINT, (projection.name,)).fetchone()
        if row is None:
            return
        for statement in derived_view_sql(projection, store_for(projection, int(row[1]))):
            conn.execute(statement)
