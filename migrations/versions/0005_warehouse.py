"""Warehouse write-backs: engagement and difficulty figures for the recommender.

Revision ID: 0005_warehouse
Revises: 0004_learner_model
"""

from alembic import op

revision = "0005_warehouse"
down_revision = "0004_learner_model"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    op.execute("SELECT 1")
