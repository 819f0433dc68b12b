"""Learner model: fitted model versions and parameters.

The learner state itself is a projection (``read.learner_model_state``, created and swapped by
the projections runner); this migration holds what the batch fit produces: one row per fitted
model version with its parameters, and which version is current.

Revision ID: 0004_learner_model
Revises: 0003_projections
"""

from alembic import op

revision = "0004_learner_model"
down_revision = "0003_projections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA learner_model")
    op.execute(
        """
        CREATE TABLE learner_model.model_versions (
            version         TEXT        PRIMARY KEY,
            fitted_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
            -- The log position the training data reached (rows at or below were used).
            trained_upto    BIGINT      NOT NULL,
            training_rows   BIGINT      NOT NULL,
            params          JSONB       NOT NULL,
            metrics         JSONB       NOT NULL DEFAULT '{}'::jsonb,
            is_current      BOOLEAN     NOT NULL DEFAULT false
        )
        """
    )
    # At most one current version: the online updater and the API read exactly one.
    op.execute(
        "CREATE UNIQUE INDEX model_versions_one_current ON learner_model.model_versions "
        "(is_current) WHERE is_current"
    )
    op.execute("GRANT USAGE ON SCHEMA learner_model TO learnstream_reader")
    op.execute("GRANT SELECT ON learner_model.model_versions TO learnstream_reader")


def downgrade() -> None:
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA learner_model FROM learnstream_reader")
    op.execute("REVOKE USAGE ON SCHEMA learner_model FROM learnstream_reader")
    op.execute("DROP SCHEMA learner_model CASCADE")
