"""The contract every projection must meet, run against the running set (app.projections):
histories (late, out of occurred_at order, duplicated), the set-based rebuild, the incremental
fold in random batch sizes, and a rebuild-then-catch-up all give the same table; and a second
database that received the same events in another arrival order gives the same table too."""

from __future__ import annotations

import random
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.projections import running_projections
from learnstream.contracts import Envelope
from learnstream.db import connect
from learnstream.log import Checkpoint, frontier
from learnstream.settings import Settings
from projections.projection import Projection
from tests.integration.projection_support import (
    append,
    apply_incrementally,
    private_database,
    scratch_store,
    table_rows,
    wait_readable,
)
from tests.projection_histories import random_history


def _arrival(events: list[Envelope], rng: random.Random) -> list[Envelope]:
    """A random arrival order with ~10% duplicates (client/producer retries)."""
    arrived = list(events) + rng.sample(events, k=len(events) // 10)
    rng.shuffle(arrived)
    return arrived


def _tables_three_ways(
    conn: psycopg.Connection[Any], projection: Projection, rng: random.Random
) -> tuple[list[Any], list[Any], list[Any]]:
    """(full rebuild, incremental in random batches, rebuild at a midpoint + catch-up)."""
    end = frontier(conn, projection.families) or Checkpoint.START
    full, inc, mid = (scratch_store(projection, t) for t in ("full", "inc", "mid"))
    with conn.transaction():
        for store in (full, inc, mid):
            projection.create_tables(conn, store)
        projection.rebuild(conn, full, end)
    sizes = [rng.randint(1, 40) for _ in range(5)]
    apply_incrementally(conn, projection, inc, Checkpoint.START, sizes)
    # A rebuild bound somewhere in the middle of the log, then the incremental path.
    rows = conn.execute(
        "SELECT tx_id::text::bigint, position FROM ("
        " SELECT tx_id, position FROM log.behavioral_events UNION ALL"
        " SELECT tx_id, position FROM log.catalog_events UNION ALL"
        " SELECT tx_id, position FROM log.learning_events) u ORDER BY 1, 2"
    ).fetchall()
    cut = Checkpoint(*rows[len(rows) // 2]) if rows else Checkpoint.START
    with conn.transaction():
        projection.rebuild(conn, mid, cut)
    apply_incrementally(conn, projection, mid, cut, sizes)
    return (
        table_rows(conn, projection, full),
        table_rows(conn, projection, inc),
        table_rows(conn, projection, mid),
    )


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), size=st.integers(40, 160))
def test_rebuild_equals_incremental_for_any_arrival_order(
    stack_settings: Settings, template_database: str, seed: int, size: int
) -> None:
    rng = random.Random(seed)
    history = random_history(seed, size)
    results = []
    for _ in range(2):  # two databases, two arrival orders of the same events
        with private_database(stack_settings, template_database) as db:
            append(db, _arrival(history, rng), chunk=rng.randint(1, 30))
            wait_readable(db)
            with connect(db) as conn:
                per_projection = {}
                for projection in running_projections():
                    full, inc, mid = _tables_three_ways(conn, projection, rng)
                    assert inc == full, f"{projection.name}: incremental != rebuild"
                    assert mid == full, f"{projection.name}: rebuild+catch-up != rebuild"
                    per_projection[projection.name] = full
                results.append(per_projection)
    independent = {p.name for p in running_projections() if p.order_independent}
    assert independent, "no order-independent projection left to check"
    for name in results[0]:
        if name in independent:
            assert results[0][name] == results[1][name], f"{name} depends on arrival order"
    assert any(results[0].values()), "history produced no rows at all"


def test_every_projection_fills_its_table(stack_settings: Settings, template_database: str) -> None:
    """Guards the property test against vacuity: each projection gets rows from a history,
    and the three paths agree on it."""
    history = random_history(7, 400)
    with private_database(stack_settings, template_database) as db:
        append(db, history)
        wait_readable(db)
        with connect(db) as conn:
            for projection in running_projections():
                full, inc, mid = _tables_three_ways(conn, projection, random.Random(1))
                assert full, f"{projection.name} produced no rows"
                assert inc == full and mid == full, projection.name
