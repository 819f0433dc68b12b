"""The log keeps only the indexes a named reader needs (issue 11, throughput).

Revision ID: 0010_log_indexes
Revises: 0009_collector_keys

Every row appended to a log table maintained every B-tree of its table (8 on
behavioral_events); an index nobody reads is pure append cost. Kept, with their readers:

- ``<table>_pkey`` (position) and ``<table>_event_id_key`` (event_id): the idempotency key
  of ingest's ON CONFLICT DO NOTHING (and position the only other unique key, which the
  append statements rely on);
- ``<table>_tx_position_idx`` (tx_id, position): the gap rule's reads (projections'
  incremental read, frontier, pending, `learnstream health`'s newest append, the warehouse
  export);
- ``<table>_learner_idx`` (learner_id, partial): ``read_through(learners=...)`` (refolds,
  training, ``learner explain``);
- ``<table>_session_idx``: the anonymous rows of ``read_through(sessions=...)``
  (``learner_id IS NULL AND session_id = ANY(...)``), so on the four event families it
  becomes partial ``WHERE learner_id IS NULL``, a small index when most events carry a
  learner; ``catalog_events`` keeps it whole (the identity rule looks sessions'
  ``learner.identified`` rows up by session_id, learner_id set) and keeps
  ``catalog_events_event_type_idx`` (the identity rule's ``event_type =
  'learner.identified'`` in rebuilds; a low-volume table).

Dropped, no reader filters the log on them: ``occurred_idx`` on all five (time queries run
in the warehouse; no BRIN either, for the same reason), ``content_id`` (behavioral, likes),
``event_type`` (behavioral, activity: always filtered together with a (tx_id, position)
range), ``lesson_id``/``assessment_id`` (learning), ``generation_id`` (catalog).
"""

from __future__ import annotations

from alembic import op

revision = "0010_log_indexes"
down_revision = "0009_collector_keys"
branch_labels = None
depends_on = None

TABLES = ("behavioral_events", "like_events", "activity_events", "learning_events",
          "catalog_events")

#: (table, column) of the single-column indexes dropped (named ``<table>_<column>_idx``).
DROPPED = (
    *((table, "occurred") for table in TABLES),
    ("behavioral_events", "content_id"),
    ("behavioral_events", "event_type"),
    ("like_events", "content_id"),
    ("activity_events", "event_type"),
    ("learning_events", "lesson_id"),
    ("learning_events", "assessment_id"),
    ("catalog_events", "generation_id"),
)

#: Tables whose session index becomes partial (anonymous rows only).
ANONYMOUS_SESSIONS = TABLES[:4]


def _column(name: str) -> str:
    return "occurred_at" if name == "occurred" else name


def upgrade() -> None:
    for table, column in DROPPED:
        op.execute(f"DROP INDEX log.{table}_{column}_idx")
    for table in ANONYMOUS_SESSIONS:
        op.execute(f"DROP INDEX log.{table}_session_idx")
        op.execute(
            f"CREATE INDEX {table}_session_idx ON log.{table} (session_id) "
            "WHERE learner_id IS NULL"
        )


def downgrade() -> None:
    for table in ANONYMOUS_SESSIONS:
        op.execute(f"DROP INDEX log.{table}_session_idx")
        op.execute(f"CREATE INDEX {table}_session_idx ON log.{table} (session_id)")
    for table, column in DROPPED:
        op.execute(f"CREATE INDEX {table}_{column}_idx ON log.{table} ({_column(column)})")
