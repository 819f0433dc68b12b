"""One suite for every reader of the log (``learnstream.log``): the row-at-a-time reader the
projections use, ``read_through`` (learner-model refold, training, ``learner explain``) and the
warehouse export's set-wise SQL. Each must obey the gap rule (never see a row past an older
open transaction, so nothing can appear below what it has read), return every row exactly
once in ``(tx_id, position)`` order, and convert rows back to the events that were appended.
The identity rule must give the same answer on PostgreSQL and DuckDB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import duckdb
import psycopg
import pytest

from ingest.appender import append_batch
from ingest.queries import APPEND_EVENTS
from ingest.rows import SourceOffset, log_row
from learnstream.contracts import EVENT_TYPES, Envelope, Topic
from learnstream.db import connect, libpq_url
from learnstream.log import (
    LOG_TABLES,
    Checkpoint,
    earliest_identifications_sql,
    envelope_of,
    frontier,
    read_batch,
    read_through,
    sessionized_sql,
)
from learnstream.settings import Settings
from tests.examples import BASE_TIME, all_examples, example
from tests.integration.projection_support import wait_readable
from warehouse.export import export_log
from warehouse.layout import WarehouseLayout

FAMILIES = tuple(LOG_TABLES)
TYPES = frozenset(EVENT_TYPES)

#: A reader: settings -> the event ids it can read now, in the order it returns them.
Reader = Callable[[Settings], list[UUID]]


def _row_reader(settings: Settings) -> list[UUID]:
    ids: list[UUID] = []
    after = Checkpoint.START
    with connect(settings) as conn:
        while True:
            batch = read_batch(conn, after, FAMILIES, TYPES, limit=3)
            conn.commit()
            if batch.rows_read == 0:
                return ids
            ids += [e.event_id for e in batch.events]
            after = batch.end


def _read_through(settings: Settings) -> list[UUID]:
    with connect(settings) as conn:
        upto = frontier(conn, FAMILIES)
        return (
            [] if upto is None else [e.event_id for e in read_through(conn, FAMILIES, TYPES, upto)]
        )


def _warehouse_export(settings: Settings) -> list[UUID]:
    export_log(settings)
    layout = WarehouseLayout(settings.warehouse.dir)
    if not layout.part_files():
        return []
    glob = str(layout.events / "event_date=*" / "*.parquet")
    with duckdb.connect() as con:
        rows = con.sql(f"SELECT event_id FROM read_parquet('{glob}') ORDER BY tx_id, position")
        return [UUID(str(r[0])) for r in rows.fetchall()]


READERS: dict[str, Reader] = {
    "projections (read_batch)": _row_reader,
    "refold/training/explain (read_through)": _read_through,
    "warehouse export": _warehouse_export,
}


@pytest.fixture
def settings(db_settings: Settings, tmp_path: Path) -> Settings:
    return db_settings.with_part(warehouse={"dir": tmp_path / "warehouse"})


def _append(settings: Settings, events: list[Envelope]) -> None:
    with connect(settings) as conn:
        append_batch(conn, [(e, SourceOffset("t", 0, i)) for i, e in enumerate(events)])


@pytest.mark.parametrize("reader", sorted(READERS))
def test_reader_never_passes_an_older_open_transaction(settings: Settings, reader: str) -> None:
    read = READERS[reader]
    early = example("playback.started", content_id="early")
    late = example("content.liked", content_id="late")
    with psycopg.connect(libpq_url(settings.resolved_database_url)) as held:
        # The appender's own statement, in a transaction left open: it draws the smaller
        # xid and position, and commits after "late".
        held.execute(
            APPEND_EVENTS[early.topic], [[v] for v in log_row(early, SourceOffset("t", 0, 0))]
        )
        _append(settings, [late])
        assert read(settings) == []  # "late" committed, but reading it could skip "early"
        held.commit()
    wait_readable(settings)
    assert read(settings) == [early.event_id, late.event_id]  # each once, in commit-safe order


@pytest.mark.parametrize("reader", sorted(READERS))
def test_reader_returns_every_event_type_exactly_once(settings: Settings, reader: str) -> None:
    events = list(all_examples())
    _append(settings, events)
    _append(settings, events[:5])  # redelivered: the log holds them once
    wait_readable(settings)
    ids = READERS[reader](settings)
    assert sorted(ids) == sorted(e.event_id for e in events)
    assert len(ids) == len(set(ids))


def test_the_converter_gives_back_the_appended_events(settings: Settings) -> None:
    events = {e.event_id: e for e in all_examples()}
    _append(settings, list(events.values()))
    wait_readable(settings)
    with connect(settings) as conn:
        upto = frontier(conn, FAMILIES)
        assert upto is not None
        read = read_through(conn, FAMILIES, TYPES, upto)
    assert len(read) == len(events)
    for row in read:
        # context included: one converter for every reader (one used to drop it)
        assert envelope_of(row) == events[row.event_id]


def test_identity_rule_is_the_same_on_postgres_and_duckdb(settings: Settings) -> None:
    at = BASE_TIME + timedelta(hours=1)
    ids = [
        # s1: identified twice; the earlier occurred_at wins though it arrives last
        example("learner.identified", session_id="s1", learner_id="L-late", occurred_at=at),
        example(
            "learner.identified",
            session_id="s1",
            learner_id="L-early",
            occurred_at=at - timedelta(minutes=5),
        ),
        # s2: two identifications at the same instant; the smaller event id wins
        example("learner.identified", session_id="s2", learner_id="L-a", occurred_at=at),
        example("learner.identified", session_id="s2", learner_id="L-b", occurred_at=at),
        example("playback.started", session_id="s3"),  # never identified
    ]
    _append(settings, ids)
    query = earliest_identifications_sql("log.catalog_events")
    with connect(settings) as conn:
        on_postgres = [(s, lid) for s, lid, _, _ in conn.execute(query).fetchall()]
    catalog = [e for e in ids if e.topic is Topic.CATALOG]
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE events (event_type TEXT, session_id TEXT, learner_id TEXT, "
            "occurred_at TIMESTAMPTZ, event_id UUID)"
        )
        con.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            [
                [e.event_type, e.session_id, e.learner_id, e.occurred_at, str(e.event_id)]
                for e in reversed(catalog)
            ],
        )
        on_duckdb = [
            (s, lid) for s, lid, _, _ in con.sql(earliest_identifications_sql("events")).fetchall()
        ]
    s2_winner = min((e for e in catalog if e.session_id == "s2"), key=lambda e: str(e.event_id))
    expected = [("s1", "L-early"), ("s2", s2_winner.learner_id)]
    assert sorted(on_postgres) == sorted(on_duckdb) == expected


def test_session_rule_is_the_same_on_postgres_and_duckdb(settings: Settings) -> None:
    minutes = [0, 29, 59, 90, 90, 200, 231]  # gaps 29, 30 (not over), 31, 0, 110, 31
    events = [
        example("playback.heartbeat", session_id=f"c{n % 2}",
                occurred_at=BASE_TIME + timedelta(minutes=m))
        for n in range(2) for m in minutes
    ]
    _append(settings, events)
    query = sessionized_sql(
        "SELECT session_id, occurred_at, event_id FROM log.behavioral_events"
    )
    with connect(settings) as conn:
        on_postgres = conn.execute(
            f"SELECT session_id, event_id::text, visit FROM ({query}) AS v"
        ).fetchall()
    with duckdb.connect() as con:
        con.execute("CREATE TABLE events (session_id TEXT, occurred_at TIMESTAMPTZ, event_id UUID)")
        con.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            [[e.session_id, e.occurred_at, str(e.event_id)] for e in reversed(events)],
        )
        on_duckdb = con.sql(
            "SELECT session_id, CAST(event_id AS VARCHAR), visit FROM ("
            + sessionized_sql("SELECT * FROM events") + ") AS v"
        ).fetchall()
    assert sorted(on_postgres) == sorted(on_duckdb)
    visits = sorted({(s, int(v)) for s, _, v in on_postgres})
    assert visits == [(c, v) for c in ("c0", "c1") for v in (1, 2, 3, 4)]
