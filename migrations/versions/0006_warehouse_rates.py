"""Engagement rates that are rates: completions and skips counted at most once per start.

A replay can complete a play without a new start, so ``completions / starts`` exceeded 1.
The engagement job now writes ``completed_starts`` and ``skipped_starts`` (per play, at most
its starts) and divides those; keeping the counts lets ``engagement_by_dimension`` and a
reader re-aggregate rates of sums. Existing rows get 0 until the job's next run, which
replaces the table whole.

Revision ID: 0006_warehouse_rates
Revises: 0005_warehouse
"""

from alembic import op

revision = "0006_warehouse_rates"
down_revision = "0005_warehouse"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE warehouse.content_engagement"
        " ADD COLUMN completed_starts BIGINT NOT NULL DEFAULT 0,"
        " ADD COLUMN skipped_starts BIGINT NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE warehouse.content_engagement"
        " DROP COLUMN completed_starts, DROP COLUMN skipped_starts"
    )
