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
