"""Warehouse write-backs: engagement and difficulty figures for the recommender.

The ``content`` read model is a projection rebuilt from the log, so the warehouse never
writes into it: its jobs own the ``warehouse`` schema. Each job replaces its tables whole in
one transaction (a rerun is idempotent), and ``warehouse.content_metrics`` joins the
per-content figures of both jobs into the one row per content the recommender reads.

Revision ID: 0005_warehouse
Revises: 0004_learner_model
"""

from alembic import op

revision = "0005_warehouse"
down_revision = "0004_learner_model"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE warehouse.job_runs (
    run_id           BIGSERIAL   PRIMARY KEY,
    job              TEXT        NOT NULL,
    engine           TEXT        NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    through_tx_id    BIGINT,
    through_position BIGINT,
    rows_written     BIGINT      NOT NULL
);

CREATE TABLE warehouse.content_engagement (
    content_id             TEXT PRIMARY KEY,
    format                 TEXT,
    genre                  TEXT,
    topic                  TEXT,
    difficulty             TEXT,
    starts                 BIGINT           NOT NULL,
    completions            BIGINT           NOT NULL,
    skips                  BIGINT           NOT NULL,
    replays                BIGINT           NOT NULL,
    plays                  BIGINT           NOT NULL,
    listeners              BIGINT           NOT NULL,
    likers                 BIGINT           NOT NULL,
    completion_rate        DOUBLE PRECISION,
    avg_listen_through_pct DOUBLE PRECISION,
    skip_rate              DOUBLE PRECISION,
    replay_rate            DOUBLE PRECISION,
    like_rate              DOUBLE PRECISION,
    time_spent_seconds     DOUBLE PRECISION NOT NULL,
    engagement_score       DOUBLE PRECISION,
    computed_at            TIMESTAMPTZ      NOT NULL DEFAULT now()
);

CREATE TABLE warehouse.engagement_by_dimension (
    dimension              TEXT             NOT NULL,
    value                  TEXT             NOT NULL,
    contents               BIGINT           NOT NULL,
    starts                 BIGINT           NOT NULL,
    completion_rate        DOUBLE PRECISION,
    avg_listen_through_pct DOUBLE PRECISION,
    skip_rate              DOUBLE PRECISION,
    replay_rate            DOUBLE PRECISION,
    like_rate              DOUBLE PRECISION,
    time_spent_seconds     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (dimension, value)
);

CREATE TABLE warehouse.daily_activity (
    day  DATE   PRIMARY KEY,
    dau  BIGINT NOT NULL,
    wau  BIGINT NOT NULL,
    mau  BIGINT NOT NULL
);

CREATE TABLE warehouse.retention_cohorts (
    cohort_week  DATE             NOT NULL,
    week_offset  INTEGER          NOT NULL,
    cohort_size  BIGINT           NOT NULL,
    active       BIGINT           NOT NULL,
    retention    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cohort_week, week_offset)
);

CREATE TABLE warehouse.session_length_distribution (
    bucket_start_seconds  DOUBLE PRECISION PRIMARY KEY,
    bucket_end_seconds    DOUBLE PRECISION,
    sessions              BIGINT NOT NULL
);

CREATE TABLE warehouse.generation_funnel (
    stage       TEXT             PRIMARY KEY,
    ordinal     INTEGER          NOT NULL UNIQUE,
    count       BIGINT           NOT NULL,
    conversion  DOUBLE PRECISION
);

CREATE TABLE warehouse.content_difficulty (
    content_id                TEXT PRIMARY KEY,
    declared_difficulty       TEXT,
    declared_difficulty_score DOUBLE PRECISION,
    calibrated_difficulty     DOUBLE PRECISION NOT NULL,
    difficulty_se             DOUBLE PRECISION,
    difficulty_score          DOUBLE PRECISION NOT NULL,
    difficulty_mismatch       DOUBLE PRECISION,
    outcomes                  BIGINT           NOT NULL,
    success_rate              DOUBLE PRECISION NOT NULL,
    ability_source            TEXT             NOT NULL,
    computed_at               TIMESTAMPTZ      NOT NULL DEFAULT now()
);

CREATE TABLE warehouse.learner_difficulty (
    learner_id               TEXT PRIMARY KEY,
    ability                  DOUBLE PRECISION NOT NULL,
    ability_se               DOUBLE PRECISION,
    attempts                 BIGINT           NOT NULL,
    success_rate             DOUBLE PRECISION NOT NULL,
    expected_success_on_seen DOUBLE PRECISION,
    target_difficulty_score  DOUBLE PRECISION NOT NULL,
    ability_source           TEXT             NOT NULL,
    computed_at              TIMESTAMPTZ      NOT NULL DEFAULT now()
);

-- What the recommender reads: one row per content with both jobs' figures.
CREATE VIEW warehouse.content_metrics AS
SELECT
    COALESCE(e.content_id, d.content_id) AS content_id,
    e.format, e.genre, e.topic, e.difficulty,
    e.starts, e.completion_rate, e.avg_listen_through_pct, e.skip_rate, e.replay_rate,
    e.like_rate, e.time_spent_seconds,
    e.engagement_score AS quality_score,
    d.declared_difficulty_score, d.calibrated_difficulty, d.difficulty_score,
    d.difficulty_mismatch, d.outcomes AS difficulty_outcomes
FROM warehouse.content_engagement e
FULL OUTER JOIN warehouse.content_difficulty d USING (content_id);
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA warehouse")
    op.execute(TABLES)
    op.execute("GRANT USAGE ON SCHEMA warehouse TO learnstream_reader")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA warehouse TO learnstream_reader")


def downgrade() -> None:
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA warehouse FROM learnstream_reader")
    op.execute("REVOKE ALL ON SCHEMA warehouse FROM learnstream_reader")
    op.execute("DROP SCHEMA warehouse CASCADE")
