"""The append-only log, as every stage reads it: its tables, the reader with THE gap rule,
the one row -> event converter, the one identity rule, the one session rule and the one
way to erase.

Ingest writes the log; everyone else reads it only through this package.
"""

from learnstream.log.converter import envelope_of
from learnstream.log.erasure import (
    ERASER_ROLE,
    ErasurePlan,
    erase_from_log,
    plan_erasure,
    record_files,
    subject_hash,
)
from learnstream.log.identity import (
    IDENTIFIED,
    earliest_identifications_sql,
    identity_order,
    is_earlier,
    subject_of,
)
from learnstream.log.reader import (
    AT_OR_BELOW_SQL,
    HORIZON_SQL,
    READABLE_SQL,
    Batch,
    Checkpoint,
    Connection,
    LogEvent,
    after_below_horizon_sql,
    count_through,
    count_through_sql,
    frontier,
    frontier_sql,
    newest_append_sql,
    pending,
    pending_sql,
    read_after_sql,
    read_batch,
    read_through,
)
from learnstream.log.sessions import SESSION_GAP, sessionized_sql
from learnstream.log.tables import DEAD_LETTER_REPLAYS, DEAD_LETTERS, LOG_TABLES

__all__ = [
    "AT_OR_BELOW_SQL",
    "DEAD_LETTERS",
    "DEAD_LETTER_REPLAYS",
    "ERASER_ROLE",
    "HORIZON_SQL",
    "IDENTIFIED",
    "LOG_TABLES",
    "READABLE_SQL",
    "SESSION_GAP",
    "Batch",
    "Checkpoint",
    "Connection",
    "ErasurePlan",
    "LogEvent",
    "after_below_horizon_sql",
    "count_through",
    "count_through_sql",
    "earliest_identifications_sql",
    "envelope_of",
    "erase_from_log",
    "frontier",
    "frontier_sql",
    "identity_order",
    "is_earlier",
    "newest_append_sql",
    "pending",
    "pending_sql",
    "plan_erasure",
    "read_after_sql",
    "read_batch",
    "read_through",
    "record_files",
    "sessionized_sql",
    "subject_hash",
    "subject_of",
]
