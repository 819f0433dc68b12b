"""The append-only event log: one table per stream family, and dead letters.

Every log table shares the envelope columns, a global ``position`` and the inserting
transaction's id (``tx_id``), which projections use to read the log without gaps.

Revision ID: 0001_event_log
Revises:
"""

from alembic import op

revision = "0001_event_log"
down_revision = None
branch_labels = None
depends_on = None

# Columns every log table has, in this order. ``position`` is global across the log tables
# (one sequence), so a reader can follow all families with a single checkpoint.
ENVELOPE_COLUMNS = """
    position          BIGINT      NOT NULL DEFAULT nextval('log.position_seq'),
    tx_id             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id          UUID        NOT NULL,
    event_type        TEXT        NOT NULL,
    schema_version    SMALLINT    NOT NULL,
    occurred_at       TIMESTAMPTZ NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    session_id        TEXT        NOT NULL,
    learner_id        TEXT,
    content_id        TEXT,
    payload           JSONB       NOT NULL,
    context           JSONB       NOT NULL DEFAULT '{}'::jsonb,
    kafka_topic       TEXT        NOT NULL,
    kafka_partition   INTEGER     NOT NULL,
    kafka_offset      BIGINT      NOT NULL
"""

# Family-specific columns promoted out of the payload (the seed schemas' columns), so the
# common queries need no JSON extraction.
FAMILY_COLUMNS = {
    "behavioral_events": """
    playback_position          NUMERIC(12,2) NOT NULL,
    playback_position_percent  NUMERIC(5,2),
    duration                   NUMERIC(12,2),
    content_characteristics    JSONB NOT NULL,
    device_info                JSONB,
    network_type               TEXT
""",
    "like_events": """
    reaction_type              TEXT NOT NULL CHECK (reaction_type IN ('like', 'love', 'favorite')),
    content_characteristics    JSONB NOT NULL
""",
    "activity_events": """
    content_type               TEXT
        CHECK (content_type IN ('flashcards', 'exercises', 'simulation')),
    query_text                 TEXT,
    target_language            TEXT,
    base_language              TEXT,
    rating                     SMALLINT CHECK (rating BETWEEN 1 AND 5),
    related_event_id           UUID
""",
    "learning_events": """
    course_id                  TEXT,
    lesson_id                  TEXT,
    assessment_id              TEXT,
    score                      NUMERIC(10,4),
    max_score                  NUMERIC(10,4),
    attempt_number             INTEGER,
    time_taken                 INTEGER
""",
    "catalog_events": """
    generation_id              TEXT,
    status                     TEXT,
    format                     TEXT,
    genre                      TEXT,
    topic                      TEXT,
    difficulty                 TEXT
""",
}

EXTRA_INDEXES = {
    "behavioral_events": ["content_id", "event_type"],
    "like_events": ["content_id"],
    "activity_events": ["event_type"],
    "learning_events": ["lesson_id", "assessment_id"],
    "catalog_events": ["generation_id", "event_type"],
}


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS log")
    op.execute("CREATE SEQUENCE log.position_seq AS BIGINT")
    for table, columns in FAMILY_COLUMNS.items():
        op.execute(
            f"""
            CREATE TABLE log.{table} (
                {ENVELOPE_COLUMNS},
                {columns},
                CONSTRAINT {table}_pkey PRIMARY KEY (position),
                CONSTRAINT {table}_event_id_key UNIQUE (event_id)
            )
            """
        )
        # Projections read "committed transactions in (tx_id, position) order".
        op.execute(f"CREATE INDEX {table}_tx_position_idx ON log.{table} (tx_id, position)")
        op.execute(f"CREATE INDEX {table}_session_idx ON log.{table} (session_id)")
        op.execute(
            f"CREATE INDEX {table}_learner_idx ON log.{table} (learner_id) "
            "WHERE learner_id IS NOT NULL"
        )
        op.execute(f"CREATE INDEX {table}_occurred_idx ON log.{table} (occurred_at)")
        for column in EXTRA_INDEXES[table]:
            op.execute(f"CREATE INDEX {table}_{column}_idx ON log.{table} ({column})")
    op.execute(
        """
        CREATE TABLE log.dead_letters (
            id               BIGSERIAL   PRIMARY KEY,
            tx_id            xid8        NOT NULL DEFAULT pg_current_xact_id(),
            received_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            reason           TEXT        NOT NULL,
            detail           TEXT        NOT NULL,
            event_id         TEXT,
            event_type       TEXT,
            raw              BYTEA       NOT NULL,
            raw_size         INTEGER     NOT NULL,
            kafka_key        BYTEA,
            kafka_topic      TEXT        NOT NULL,
            kafka_partition  INTEGER     NOT NULL,
            kafka_offset     BIGINT      NOT NULL,
            -- A redelivered bad message is the same dead letter, not a new one.
            CONSTRAINT dead_letters_source_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
        )
        """
    )
    op.execute("CREATE INDEX dead_letters_reason_idx ON log.dead_letters (reason)")


def downgrade() -> None:
    op.execute("DROP TABLE log.dead_letters")
    for table in FAMILY_COLUMNS:
        op.execute(f"DROP TABLE log.{table}")
    op.execute("DROP SEQUENCE log.position_seq")
    op.execute("DROP SCHEMA log")
