"""The named SQL statements ingest runs. Identifiers come from constants, values are always
bound parameters."""

from __future__ import annotations

from ingest.rows import columns_of
from learnstream.contracts import Topic
from learnstream.log import LOG_TABLES


def _append_sql(topic: Topic) -> str:
    columns = columns_of(topic)
    names = ", ".join(c.name for c in columns)
    # %b: arrays travel in binary. The text format escapes every element with a regex in
    # Python, which cost ~85% of the write time (measured: 430 -> 70 us per event).
    arrays = ", ".join(f"%b::{c.pg_type}[]" for c in columns)
    # One statement per batch: every column arrives as one array and unnest() zips them
    # into rows. ON CONFLICT makes a redelivered or resent event a no-op; the row count
    # tells inserted from duplicate. The idempotency key is event_id, yet the clause names
    # no conflict target and there is no RETURNING: both need SELECT, which the INSERT-only
    # learnstream_ingest role does not have. The table's only other unique key is
    # `position`, fed by a sequence, so every conflict is a repeated event_id.
    return (
        f"INSERT INTO log.{LOG_TABLES[topic]} ({names}) "
        f"SELECT * FROM unnest({arrays}) "
        "ON CONFLICT DO NOTHING"
    )


#: topic -> the batch append statement for its log table.
APPEND_EVENTS: dict[Topic, str] = {topic: _append_sql(topic) for topic in LOG_TABLES}

#: How a column travels through the staging table: jsonb as its text (cast on the way into
#: the log, as the unnest path casts its text arrays), numeric as the float8 the contract
#: holds (the same cast as the unnest path's float8[] -> numeric[]), and smallint/integer
#: as bigint: psycopg's binary COPY *wraps* a Python int that does not fit the column's
#: type (40000 -> -25536 as smallint, silently), whereas the server's cast refuses it
#: (DataError, so the row is dead-lettered as unstorable, as on the unnest path).
_STAGED_TYPE = {"jsonb": "text", "numeric": "float8", "smallint": "bigint", "integer": "bigint"}


def staged_types(topic: Topic) -> list[str]:
    """The staging table's column types, in ``columns_of(topic)`` order (COPY's types)."""
    return [_STAGED_TYPE.get(c.pg_type, c.pg_type) for c in columns_of(topic)]


def staging_table(topic: Topic) -> str:
    return f"ingest_stage_{LOG_TABLES[topic]}"


def _create_staging_sql(topic: Topic) -> str:
    columns = ", ".join(
        f"{c.name} {t}" for c, t in zip(columns_of(topic), staged_types(topic), strict=True)
    )
    # A temporary table is private to the connection and needs no privilege on the log
    # (only TEMP on the database, PUBLIC's by default); ON COMMIT DELETE ROWS empties it
    # after every batch, and a rolled-back batch takes its staged rows with it.
    return (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging_table(topic)} ({columns}) "
        "ON COMMIT DELETE ROWS"
    )


def _copy_sql(topic: Topic) -> str:
    names = ", ".join(c.name for c in columns_of(topic))
    return f"COPY {staging_table(topic)} ({names}) FROM STDIN (FORMAT BINARY)"


def _insert_staged_sql(topic: Topic) -> str:
    columns = columns_of(topic)
    names = ", ".join(c.name for c in columns)
    values = ", ".join(
        f"{c.name}::{c.pg_type}" if c.pg_type in _STAGED_TYPE else c.name for c in columns
    )
    # The same idempotent append as APPEND_EVENTS (no conflict target, no RETURNING: see
    # there), fed from the staged rows instead of unnest().
    return (
        f"INSERT INTO log.{LOG_TABLES[topic]} ({names}) "
        f"SELECT {values} FROM {staging_table(topic)} "
        "ON CONFLICT DO NOTHING"
    )


#: topic -> (create the staging table, COPY BINARY into it, move it into the log).
STAGED_APPEND: dict[Topic, tuple[str, str, str]] = {
    topic: (_create_staging_sql(topic), _copy_sql(topic), _insert_staged_sql(topic))
    for topic in LOG_TABLES
}

#: A redelivered bad message is the same dead letter: (kafka_topic, kafka_partition,
#: kafka_offset) is unique, and `id` comes from a sequence (same reasoning as above).
APPEND_DEAD_LETTERS = """
INSERT INTO log.dead_letters
    (reason, detail, event_id, event_type, raw, raw_size, kafka_key,
     kafka_topic, kafka_partition, kafka_offset)
SELECT * FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[], %s::integer[], %s::bytea[],
    %s::text[], %s::integer[], %s::bigint[])
ON CONFLICT DO NOTHING
"""


# --- Dead letters: listing and replay (operator commands, run as the login user) ----------

#: The dead letter's latest replay, if any (a lateral join on the (dead_letter_id, id) index).
_LATEST_REPLAY = """
LEFT JOIN LATERAL (
    SELECT outcome, reason AS replay_reason, replayed_at FROM log.dead_letter_replays r
    WHERE r.dead_letter_id = d.id ORDER BY r.id DESC LIMIT 1
) AS latest ON true
"""

#: Filters shared by list and replay; a NULL parameter leaves its filter off. ``status``:
#: ``pending`` (never appended: not replayed, or still rejected), or an outcome.
_DEAD_LETTER_FILTER = """
WHERE (%(reason)s::text IS NULL OR d.reason = %(reason)s OR latest.replay_reason = %(reason)s)
  AND (%(topic)s::text IS NULL OR d.kafka_topic = %(topic)s)
  AND (%(since)s::timestamptz IS NULL OR d.received_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR d.received_at < %(until)s)
  AND (%(status)s::text IS NULL
       OR (%(status)s = 'pending' AND COALESCE(latest.outcome, 'rejected') = 'rejected')
       OR latest.outcome = %(status)s)
"""

#: Dead letters, newest first, with their latest replay.
LIST_DEAD_LETTERS = (
    "SELECT d.id, d.received_at, d.reason, d.detail, d.event_type, d.kafka_topic, "
    "d.raw_size, latest.outcome, latest.replay_reason, latest.replayed_at "
    "FROM log.dead_letters d" + _LATEST_REPLAY + _DEAD_LETTER_FILTER
    + "ORDER BY d.id DESC LIMIT %(limit)s"
)

#: One dead letter, whole.
SHOW_DEAD_LETTER = (
    "SELECT d.id, d.received_at, d.reason, d.detail, d.event_id, d.event_type, d.kafka_topic, "
    "d.kafka_partition, d.kafka_offset, d.kafka_key, d.raw, latest.outcome, "
    "latest.replay_reason, latest.replayed_at FROM log.dead_letters d" + _LATEST_REPLAY
    + "WHERE d.id = %(id)s"
)

#: The dead letters a replay tries: matching, never appended, oldest first, after ``after``.
REPLAY_CANDIDATES = (
    "SELECT d.id, d.raw, d.kafka_topic, d.kafka_partition, d.kafka_offset "
    "FROM log.dead_letters d" + _LATEST_REPLAY + _DEAD_LETTER_FILTER
    + "AND d.id > %(after)s AND COALESCE(latest.outcome, 'rejected') = 'rejected' "
    "ORDER BY d.id LIMIT %(limit)s"
)

#: One replay attempt's outcome (in the transaction that appended the event, if it did).
RECORD_REPLAY = """
INSERT INTO log.dead_letter_replays (dead_letter_id, outcome, reason, detail, event_id)
VALUES (%(id)s, %(outcome)s, %(reason)s, %(detail)s, %(event_id)s)
"""
