"""Read models (projections) and their checkpoints.

- Schema ``projections``: ``checkpoints``, one row per projection: its version, the live
  generation of its tables, its checkpoint ``(tx_id, position)`` in the log, and its last
  error. The runner commits a batch's read-model changes and this row in one transaction.
- Schema ``projection_store``: the physical read-model tables, one set per generation
  (``<table>__g<n>``). They are created at runtime by the projection code, because a
  projection's shape follows its code version and a rebuild builds a new generation next to
  the live one.
- Schema ``read``: what readers query. ``read.<table>`` is a view onto the live generation;
  a rebuild swaps it by replacing the view in the same transaction that moves the checkpoint.
  ``learnstream_reader`` may SELECT everything in ``read`` (default privileges cover views
  created later).
- A statement-level trigger on every log table sends ``NOTIFY learnstream_log`` so the
  projector wakes up as soon as a batch commits (it also polls, as a safety net).

Revision ID: 0003_projections
Revises: 0002_append_only_and_roles
"""

from alembic import op

revision = "0003_projections"
down_revision = "0002_append_only_and_roles"
branch_labels = None
depends_on = None

LOG_TABLES = (
    "behavioral_events",
    "like_events",
    "activity_events",
    "learning_events",
    "catalog_events",
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA projections")
    op.execute("CREATE SCHEMA projection_store")
    op.execute("CREATE SCHEMA read")
    op.execute(
        """
        CREATE TABLE projections.checkpoints (
            name            TEXT        PRIMARY KEY,
            version         INTEGER     NOT NULL,
            generation      INTEGER     NOT NULL,
            -- All log rows with (tx_id, position) <= (tx_id, position) are applied.
            tx_id           xid8        NOT NULL DEFAULT '0',
            position        BIGINT      NOT NULL DEFAULT 0,
            events_applied  BIGINT      NOT NULL DEFAULT 0,
            rebuilt_at      TIMESTAMPTZ,
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            -- Set when an event could not be applied; the projection stops there.
            last_error      TEXT,
            error_event_id  UUID,
            error_position  BIGINT,
            failed_at       TIMESTAMPTZ
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION log.notify_appended() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('learnstream_log', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in LOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT ON log.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION log.notify_appended()"
        )
    op.execute("GRANT USAGE ON SCHEMA read, projections TO learnstream_reader")
    op.execute("GRANT SELECT ON projections.checkpoints TO learnstream_reader")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA read GRANT SELECT ON TABLES TO learnstream_reader"
    )


def downgrade() -> None:
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA read REVOKE SELECT ON TABLES FROM learnstream_reader"
    )
    for table in LOG_TABLES:
        op.execute(f"DROP TRIGGER {table}_notify ON log.{table}")
    op.execute("DROP FUNCTION log.notify_appended()")
    op.execute("DROP SCHEMA read CASCADE")
    op.execute("DROP SCHEMA projection_store CASCADE")
    op.execute("DROP SCHEMA projections CASCADE")
