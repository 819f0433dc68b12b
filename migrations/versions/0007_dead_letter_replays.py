"""Dead-letter replays: what became of a dead letter when it was re-decoded later.

``log.dead_letters`` is append-only, so a replay never edits it: each attempt appends one
row here, ``appended`` (the event is now in its log table), ``duplicate`` (it already was)
or ``rejected`` with the reason today's contracts give. A dead letter's status is its latest
replay. Append-only like the rest of the log.

Revision ID: 0007_dead_letter_replays
Revises: 0006_warehouse_definitions
"""

from alembic import op

revision = "0007_dead_letter_replays"
down_revision = "0006_warehouse_definitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE log.dead_letter_replays (
            id              BIGSERIAL   PRIMARY KEY,
            dead_letter_id  BIGINT      NOT NULL REFERENCES log.dead_letters (id),
            replayed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
            outcome         TEXT        NOT NULL
                CHECK (outcome IN ('appended', 'duplicate', 'rejected')),
            reason          TEXT,
            detail          TEXT,
            event_id        TEXT
        )
        """
    )
    op.execute(
        "CREATE INDEX dead_letter_replays_letter_idx "
        "ON log.dead_letter_replays (dead_letter_id, id)"
    )
    op.execute(
        "CREATE TRIGGER dead_letter_replays_append_only BEFORE UPDATE OR DELETE "
        "ON log.dead_letter_replays FOR EACH ROW EXECUTE FUNCTION log.refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER dead_letter_replays_no_truncate BEFORE TRUNCATE "
        "ON log.dead_letter_replays FOR EACH STATEMENT EXECUTE FUNCTION log.refuse_change()"
    )
    op.execute("REVOKE ALL ON log.dead_letter_replays FROM PUBLIC")
    op.execute("GRANT INSERT ON log.dead_letter_replays TO learnstream_ingest")
    op.execute("GRANT SELECT ON log.dead_letter_replays TO learnstream_reader")


def downgrade() -> None:
    op.execute("DROP TABLE log.dead_letter_replays")
