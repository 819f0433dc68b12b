"""The projector: keeps every projection current, batch by batch, exactly once in effect.

Each batch is one transaction: lock the projection's checkpoint row, read the next rows with
the gap rule (:mod:`projections.log_reader`), fold them into the read model, move the
checkpoint, commit. A crash before the commit changes nothing; after it, the batch is never
read again. A projection whose code version differs from its tables' is rebuilt first.

A projection that raises on an event records the error and the event, keeps everything
before it, and stops advancing (it never skips). The others go on. ``learnstream status``
shows the error; ``learnstream projections rebuild NAME`` (or ``project --retry-failed``
after a fix) starts it again.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from learnstream.db import connect
from learnstream.log import SESSION_GAP, Checkpoint, Connection, LogEvent, read_batch
from learnstream.settings import Settings
from projections.projection import Projection
from projections.queries import (
    ADVANCE_CHECKPOINT,
    CLEAR_FAILURE,
    GET_CHECKPOINT,
    LOCK_CHECKPOINT,
    RECORD_FAILURE,
    store_for,
)
from projections.rebuild import rebuild, refresh_derived_views

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "learnstream_log"


@dataclass
class RunSummary:
    """What a run of the projector did, per projection."""

    events: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    rebuilt: list[str] = field(default_factory=list)
    #: Rows per read model (``read.<table>``) at the end; filled by project_until_caught_up.
    table_rows: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    rows_read: int
    events_applied: int
    error: str | None = None


def default_projections(session_gap: timedelta = SESSION_GAP) -> list[Projection]:
    """Every projection this stage ships (the CLI adds other stages' projections); the
    sessions one splits by ``session_gap`` (the ``session_gap_minutes`` setting)."""
    from projections.registry import DEFAULT_PROJECTIONS
    from projections.sessions import SessionProjection

    return [SessionProjection(session_gap) if cls is SessionProjection else cls()
            for cls in DEFAULT_PROJECTIONS]


def needs_rebuild(conn: Connection, projection: Projection) -> bool:
    """True if the projection has no tables yet or its tables are of another code version."""
    row = conn.execute(GET_CHECKPOINT, (projection.name,)).fetchone()
    conn.commit()
    return row is None or int(row[0]) != projection.version or int(row[1]) == 0


def run_batch(conn: Connection, projection: Projection, limit: int) -> BatchOutcome:
    """Apply the next batch of ``projection`` in one transaction."""
    with conn.transaction():
        row = conn.execute(LOCK_CHECKPOINT, (projection.name,)).fetchone()
        if row is None:  # being rebuilt/swapped by someone else, or not built
            return BatchOutcome(0, 0)
        version, generation, tx_id, position, last_error = row
        if last_error is not None or version != projection.version or generation == 0:
            return BatchOutcome(0, 0)
        after = Checkpoint(int(tx_id), int(position))
        batch = read_batch(conn, after, projection.families, projection.event_types, limit)
        if batch.rows_read == 0:
            return BatchOutcome(0, 0)
        store = store_for(projection, int(generation))
        try:
            with conn.transaction():  # savepoint: a failure keeps the outer transaction
                projection.apply_batch(conn, batch.events, store)
        except psycopg.OperationalError:
            raise  # transient: nothing committed, retried by the loop
        except Exception:
            return _isolate_poison(conn, projection, store, after, batch.events)
        conn.execute(
            ADVANCE_CHECKPOINT,
            (str(batch.end.tx_id), batch.end.position, len(batch.events), projection.name),
        )
        return BatchOutcome(batch.rows_read, len(batch.events))


def _isolate_poison(
    conn: Connection,
    projection: Projection,
    store: Any,
    after: Checkpoint,
    events: Sequence[LogEvent],
) -> BatchOutcome:
    """Apply the batch one event at a time; stop before the first one that raises."""
    done = after
    for applied, event in enumerate(events):
        try:
            with conn.transaction():
                projection.apply_batch(conn, [event], store)
        except psycopg.OperationalError:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            log.error(
                "projection %s failed on event %s: %s", projection.name, event.event_id, message
            )
            conn.execute(
                RECORD_FAILURE,
                (
                    str(done.tx_id),
                    done.position,
                    applied,
                    message,
                    event.event_id,
                    event.position,
                    projection.name,
                ),
            )
            return BatchOutcome(applied, applied, message)
        done = event.checkpoint
    # Every event passed alone (the batch failed only as a whole): keep them, go on.
    conn.execute(ADVANCE_CHECKPOINT, (str(done.tx_id), done.position, len(events), projection.name))
    return BatchOutcome(len(events), len(events))


def run_projections(
    settings: Settings,
    projections: Sequence[Projection] | None = None,
    *,
    until_caught_up: bool = False,
    stop: threading.Event | None = None,
    retry_failed: bool = False,
    on_progress: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Keep ``projections`` (default: :func:`default_projections`) current.

    Runs until ``stop`` is set, or with ``until_caught_up`` until no projection has a readable
    row left. Projections whose tables are missing or of another version are rebuilt first.
    """
    chosen = (list(projections) if projections is not None
              else default_projections(settings.session_gap))
    # Batches allocate many short-lived, acyclic objects (rows, states); CPython's default
    # GC thresholds rescan them over and over, which cost a third of the incremental
    # throughput in bench/projections.py. Collect rarely while running.
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        return _run(
            settings, chosen, until_caught_up, stop or threading.Event(), retry_failed, on_progress
        )
    finally:
        gc.set_threshold(*thresholds)


def _run(
    settings: Settings,
    chosen: list[Projection],
    until_caught_up: bool,
    stop: threading.Event,
    retry_failed: bool,
    on_progress: Callable[[RunSummary], None] | None,
) -> RunSummary:
    summary = RunSummary(events={p.name: 0 for p in chosen})
    started = time.perf_counter()
    with connect(settings) as conn, connect(settings, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        for projection in chosen:
            if retry_failed:
                with conn.transaction():
                    conn.execute(CLEAR_FAILURE, (projection.name,))
            if needs_rebuild(conn, projection):
                rebuild(conn, projection)
                summary.rebuilt.append(projection.name)
            else:
                refresh_derived_views(conn, projection)
        while not stop.is_set():
            progressed = False
            for projection in chosen:
                outcome = run_batch(conn, projection, settings.projections.batch_size)
                if outcome.rows_read:
                    progressed = True
                    summary.batches += 1
                    summary.events[projection.name] += outcome.events_applied
                if outcome.error is not None:
                    summary.failed[projection.name] = outcome.error
            if on_progress is not None and progressed:
                on_progress(summary)
            if progressed:
                continue
            if until_caught_up:
                break
            _wait_for_log(listener, settings.projections.poll_ms / 1000, stop)
    summary.seconds = time.perf_counter() - started
    return summary


def _wait_for_log(listener: Connection, timeout: float, stop: threading.Event) -> None:
    # NOTIFY arrives at the writer's commit; polling covers rows that become readable only
    # when an older transaction finishes (the gap rule), which sends no notification.
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        for _ in listener.notifies(timeout=min(0.2, timeout), stop_after=1):
            return


def project_until_caught_up(settings: Settings, projections: Sequence[Projection]) -> RunSummary:
    """Bring ``projections`` up to the readable end of the log, then return (for demos; the
    app passes its running set)."""
    summary = run_projections(settings, projections, until_caught_up=True)
    with connect(settings) as conn:
        for projection in projections:
            for table in projection.tables:
                row = conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("read", table.name))
                ).fetchone()
                summary.table_rows[table.name] = int(row[0]) if row else 0
    return summary
