"""The COPY BINARY write (staging table per connection) against the unnest write: the same
rows, the same counts, and no state left behind by a failed batch or a caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.db import connect
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from tests.examples import all_examples, example


def test_copy_and_unnest_write_the_same_rows(
    db_settings: Settings, empty_db_settings: Settings
) -> None:
    from learnstream.db import migrate

    migrate(empty_db_settings)
    events = [(e, SourceOffset("t", 0, i)) for i, e in enumerate(all_examples())]
    with connect(db_settings) as conn:
        copied = append_batch(conn, events + events[:3], method="copy")
    with connect(empty_db_settings) as conn:
        unnested = append_batch(conn, events + events[:3], method="unnest")

    assert copied == unnested
    assert copied.inserted == len(events) and copied.duplicates == 3

    def comparable(settings: Settings) -> list[tuple[Any, ...]]:
        with connect(settings) as conn:
            rows: list[tuple[Any, ...]] = []
            for table in LOG_TABLES.values():
                columns = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "'log' AND table_name = %s AND column_name NOT IN "
                    "('position', 'tx_id', 'received_at') ORDER BY ordinal_position",
                    (table,)).fetchall()]
                rows.extend(tuple(r) for r in conn.execute(
                    f"SELECT {', '.join(columns)} FROM log.{table}").fetchall())
            return sorted(rows, key=repr)

    assert comparable(db_settings) == comparable(empty_db_settings)


@pytest.mark.parametrize(("event_type", "field", "value"), [
    ("playback.heartbeat", "schema_version", 40_000),  # past smallint: psycopg would wrap it
    ("assessment.submitted", "attempt_number", 2**40),  # past integer
    ("assessment.submitted", "attempt_number", 2**70),  # past bigint (OverflowError)
])
def test_a_value_past_its_column_is_refused_and_leaves_no_stale_staging_table(
    db_settings: Settings, event_type: str, field: str, value: int
) -> None:
    good = example(event_type)
    # Refused while this transaction, which created the staging table, writes the batch:
    # a DataError (the row-by-row path turns it into an unstorable dead letter), never a
    # silently wrapped number.
    if field == "schema_version":
        bad = good.model_copy(update={field: value, "event_id": uuid.uuid4()})
    else:
        payload = good.payload.model_copy(update={field: value})
        bad = good.model_copy(update={"payload": payload, "event_id": uuid.uuid4()})
    with connect(db_settings) as conn:
        with pytest.raises(psycopg.DataError):
            append_batch(conn, [(bad, SourceOffset("t", 0, 0))], method="copy")
        result = append_batch(conn, [(good, SourceOffset("t", 0, 1))], method="copy")
        again = append_batch(conn, [(good, SourceOffset("t", 0, 1))], method="copy")
    assert (result.inserted, again.inserted, again.duplicates) == (1, 0, 1)


def test_inside_a_callers_transaction_each_call_counts_only_its_own_rows(
    db_settings: Settings,
) -> None:
    first, second = example("content.liked"), example("content.liked")
    with connect(db_settings) as conn:
        conn.execute("SELECT 1")  # an open transaction: append_batch's become savepoints
        a = append_batch(conn, [(first, SourceOffset("t", 0, 0))], method="copy")
        b = append_batch(conn, [(second, SourceOffset("t", 0, 1))], method="copy")
        conn.commit()
    assert (a.inserted, a.duplicates, b.inserted, b.duplicates) == (1, 0, 1, 0)
