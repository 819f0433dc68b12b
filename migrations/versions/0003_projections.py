"""Read models (projections) and their checkpoints.

Revision ID: 0003_projections
Revises: 0002_append_only_and_roles
"""

from alembic import op

revision = "0003_projections"
down_revision = "0002_append_only_and_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    op.execute("SELECT 1")
