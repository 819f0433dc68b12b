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
