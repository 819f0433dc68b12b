"""The log refuses changes, and the roles hold exactly their privileges."""

from __future__ import annotations

import psycopg
import pytest

from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.db import connect
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from tests.examples import all_examples

TABLES = [*LOG_TABLES.values(), "dead_letters"]


@pytest.fixture
def filled(db_settings: Settings) -> Settings:
    with connect(db_settings) as conn:
        append_batch(conn, [(e, SourceOffset("t", 0, i)) for i, e in enumerate(all_examples())])
    return db_settings


@pytest.mark.parametrize("table", list(LOG_TABLES.values()))
@pytest.mark.parametrize(
    "statement",
    ["UPDATE log.{t} SET session_id = 'x'", "DELETE FROM log.{t}", "TRUNCATE log.{t}"],
)
def test_log_refuses_changes_even_from_the_owner(filled: Settings, table: str,
                                                 statement: str) -> None:
    with connect(filled) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege,
                                                match="append-only"):
        conn.execute(statement.format(t=table))  # identifiers from constants


def test_ingest_role_may_only_insert(filled: Settings) -> None:
    event = all_examples()[0]
    with connect(filled) as conn:
        conn.execute("SET ROLE learnstream_ingest")
        result = append_batch(conn, [(event.model_copy(update={"event_id": _uuid()}),
                                      SourceOffset("t", 0, 99))])
        assert result.inserted == 1
        for statement in ("SELECT count(*) FROM log.{t}", "UPDATE log.{t} SET tx_id = tx_id"):
            for table in TABLES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(statement.format(t=table))


def test_reader_role_may_only_select(filled: Settings) -> None:
    with connect(filled) as conn:
        conn.execute("SET ROLE learnstream_reader")
        counts = [conn.execute(f"SELECT count(*) FROM log.{t}").fetchone() for t in TABLES]
        assert sum(c[0] for c in counts if c) == len(all_examples())
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            append_batch(conn, [(all_examples()[0], SourceOffset("t", 0, 1))])


def _uuid() -> object:
    import uuid

    return uuid.uuid4()
