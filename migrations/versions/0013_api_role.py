"""The state API's own role: SELECT on the read models and what serving them needs, nothing
of the log.

Until now the API switched to ``learnstream_reader``, which may also SELECT every log table
(the warehouse export, ``learner explain`` and the notebooks need that). An API holds the
read models only: ``learnstream_api`` may read the ``read`` views, the projections'
checkpoints (the ``as_of`` of an answer), the current model version (the cold-start prior)
and the two token columns a bearer check needs. The projector grants SELECT on each view it
(re)creates to both roles (``projections/queries.py``); existing views get it here.

Revision ID: 0013_api_role
Revises: 0012_api_tokens
"""

from alembic import op

revision = "0013_api_role"
down_revision = "0012_api_tokens"
branch_labels = None
depends_on = None

API = "learnstream_api"


def upgrade() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API}') THEN
                CREATE ROLE {API} NOLOGIN;
            END IF;
        END $$
        """
    )
    op.execute(f"GRANT {API} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA read, projections, learner_model TO {API}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA read TO {API}")
    op.execute(f"GRANT SELECT ON projections.checkpoints, learner_model.model_versions TO {API}")
    op.execute(f"GRANT SELECT (token_sha256, revoked_at) ON learner_model.api_tokens TO {API}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON learner_model.api_tokens FROM {API}")
    op.execute(f"REVOKE ALL ON projections.checkpoints, learner_model.model_versions FROM {API}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA read FROM {API}")
    op.execute(f"REVOKE ALL ON SCHEMA read, projections, learner_model FROM {API}")
    # The role stays: other databases on the same server may still use it.
