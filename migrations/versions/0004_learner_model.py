"""Learner model: fitted model versions and parameters.

Revision ID: 0004_learner_model
Revises: 0003_projections
"""

from alembic import op

revision = "0004_learner_model"
down_revision = "0003_projections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    op.execute("SELECT 1")
